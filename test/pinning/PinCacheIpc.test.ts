import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as PinCache from "../../src/pinning/PinCache.js"
import * as PinCacheIpc from "../../src/pinning/PinCacheIpc.js"
import type { Channel } from "../../src/pinning/PinCacheIpc.js"

const gpt = { model: "openai/gpt-4o", route: "complex_reasoning" }
const claude = { model: "anthropic/claude-sonnet-4", route: "code_generation" }
const origin = (generation: number) => ({ generation, provider: "openai", modelId: "gpt-4o" })

// A channel to an owner in this process that answers on a later turn, with a JSON round trip as Node's IPC does.
const ownerChannel = (stores: Record<string, PinCache.PinCacheService>) => {
  const listeners = new Set<(message: unknown) => void>()
  const closers = new Set<() => void>()
  const sent: Array<unknown> = []
  let open = true
  const channel: Channel = {
    send: (message) => {
      if (!open) return false
      sent.push(message)
      const request: unknown = JSON.parse(JSON.stringify(message))
      setImmediate(() => {
        if (!PinCacheIpc.isRequests(request)) return
        const replies = Effect.runSync(PinCacheIpc.answerAll(stores, request))
        const back: unknown = JSON.parse(JSON.stringify(replies))
        if (open) for (const listener of listeners) listener(back)
      })
      return true
    },
    listen: (f) => {
      listeners.add(f)
      return () => listeners.delete(f)
    },
    onClose: (f) => {
      closers.add(f)
      return () => closers.delete(f)
    }
  }
  const close = () => {
    open = false
    for (const f of closers) f()
  }
  return { channel, sent, close }
}

const setup = Effect.gen(function*() {
  const owner = yield* PinCache.make({ maxEntries: 100, ttlSeconds: 60 })
  const link = ownerChannel({ sessions: owner })
  const client = yield* PinCacheIpc.make(link.channel, { store: "sessions", ttlSeconds: 60 })
  return { owner, client, ...link }
})

describe("PinCacheIpc", () => {
  it.scopedLive("answers every operation from the owner's store", () =>
    Effect.gen(function*() {
      const { client, owner } = yield* setup
      const created = yield* client.put("s1", gpt)
      assert.strictEqual(created.model, gpt.model)
      yield* client.put("s2", claude)
      assert.deepStrictEqual(Option.map(yield* client.get("s1"), (p) => [p.model, p.hits]), Option.some([gpt.model, 1]))
      assert.deepStrictEqual(yield* client.peek("s1"), yield* owner.peek("s1"))
      assert.isTrue(Option.isNone(yield* client.get("nobody")))
      const page = yield* client.list({ limit: 1 })
      assert.deepStrictEqual(page.items.map((i) => i.key), ["s1"])
      const rest = yield* client.list({ limit: 10, cursor: page.nextCursor })
      assert.deepStrictEqual(rest.items.map((i) => i.key), ["s2"])
      assert.isUndefined(rest.nextCursor)
      assert.strictEqual(yield* client.size, 2)
      assert.isTrue(yield* client.remove("s2"))
      assert.isFalse(yield* client.remove("s2"))
      const stats = yield* client.stats
      assert.deepStrictEqual([stats.creations, stats.hits, stats.misses, stats.size], [2, 1, 1, 1])
      assert.deepStrictEqual(yield* client.stats, yield* owner.stats)
    }))

  it.scopedLive("the requests of one turn cross the channel as one message; the first pin of a key wins", () =>
    Effect.gen(function*() {
      const { client, sent } = yield* setup
      const [first, second, hit1, hit2] = yield* Effect.all([
        client.put("s", { ...gpt, origin: origin(1) }),
        client.put("s", { ...claude, origin: origin(1) }),
        client.get("s"),
        client.get("s")
      ], { concurrency: "unbounded" })
      assert.strictEqual(sent.length, 1)
      assert.deepStrictEqual([first.model, second.model], [gpt.model, gpt.model])
      assert.deepStrictEqual([hit1, hit2].map((p) => Option.map(p, (x) => x.model)), [
        Option.some(gpt.model),
        Option.some(gpt.model)
      ])
    }))

  it.scopedLive("fails open once the channel closes, including calls waiting for an answer", () =>
    Effect.gen(function*() {
      const { client, close } = yield* setup
      yield* client.put("s1", gpt)
      const waiting = yield* Effect.fork(client.get("s1"))
      close()
      assert.isTrue(Option.isNone(yield* waiting.await.pipe(Effect.flatten)))
      assert.isTrue(Option.isNone(yield* client.get("s1")))
      const pin = yield* client.put("s2", claude)
      assert.deepStrictEqual([pin.model, pin.hits], [claude.model, 0])
      assert.isFalse(yield* client.remove("s1"))
      assert.deepStrictEqual((yield* client.list({})).items, [])
    }))
})
