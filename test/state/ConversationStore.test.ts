import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted, TestClock } from "effect"
import { randomBytes } from "node:crypto"
import pg from "pg"
import { ConversationStore, layerMemory, layerNone, makeMemory } from "../../src/state/ConversationStore.js"
import * as ConversationStorePostgres from "../../src/state/ConversationStorePostgres.js"

const item = (text: string) => ({ role: "user", content: text })

describe("ConversationStore memory", () => {
  it.scoped("keeps what it stores and evicts the least recently used at capacity", () =>
    Effect.gen(function*() {
      const store = yield* makeMemory({ maxEntries: 2 })
      yield* store.put({ id: "a", items: [item("a")] })
      yield* store.put({ id: "b", items: [item("b")] })
      assert.isTrue(Option.isSome(yield* store.get("a")))
      yield* store.put({ id: "c", items: [item("c")] })
      assert.isTrue(Option.isNone(yield* store.get("b")))
      assert.deepStrictEqual(yield* store.get("a"), Option.some({ id: "a", items: [item("a")] }))
      assert.isTrue(Option.isSome(yield* store.get("c")))
      assert.strictEqual(yield* store.size, 2)
    }))

  it.scoped("expires an entry after the TTL since its last use; the sweep removes it", () =>
    Effect.gen(function*() {
      const store = yield* makeMemory({ ttlSeconds: 10, sweepIntervalSeconds: 5 })
      yield* store.put({ id: "a", items: [] })
      yield* store.put({ id: "b", items: [] })
      yield* TestClock.adjust("8 seconds")
      assert.isTrue(Option.isSome(yield* store.get("a")))
      yield* TestClock.adjust("8 seconds")
      assert.isTrue(Option.isSome(yield* store.get("a")))
      assert.strictEqual(yield* store.size, 1)
      yield* TestClock.adjust("11 seconds")
      assert.isTrue(Option.isNone(yield* store.get("a")))
      assert.strictEqual(yield* store.size, 0)
    }))

  it.effect("the none layer stores and finds nothing", () =>
    Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* store.put({ id: "a", items: [] })
      assert.strictEqual(store.kind, "none")
      assert.isTrue(Option.isNone(yield* store.get("a")))
    }).pipe(Effect.provide(layerNone)))

  it.scoped("the memory layer serves the tag", () =>
    Effect.gen(function*() {
      const store = yield* ConversationStore
      yield* store.put({ id: "x", items: [item("x")] })
      assert.strictEqual(store.kind, "memory")
      assert.isTrue(Option.isSome(yield* store.get("x")))
    }).pipe(Effect.provide(layerMemory())))
})

const url = "postgres://postgres@127.0.0.1:5432/test"
const schema = `sy_store_${randomBytes(6).toString("hex")}`

describe("ConversationStore PostgreSQL (real server)", () => {
  afterAll(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.end()
  })

  it.live("creates its table on start, writes one row per response, reads it back across layers", () =>
    Effect.gen(function*() {
      const client = new pg.Client({ connectionString: url })
      yield* Effect.promise(() => client.connect().then(() => client.query(`CREATE SCHEMA ${schema}`)))
      yield* Effect.promise(() => client.end())
      const layer = ConversationStorePostgres.layer({
        connectionString: Redacted.make(url),
        table: `${schema}.responses`,
        timeoutMs: 2000
      })
      const items = [item("hi"), { type: "message", role: "assistant", content: [{ type: "output_text", text: "ünï ✓" }] }]
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* ConversationStore
        yield* store.put({ id: "resp_1", items })
        yield* store.put({ id: "resp_1", items })
        assert.isTrue(Option.isNone(yield* store.get("resp_missing")))
      }).pipe(Effect.provide(layer)))
      const found = yield* Effect.scoped(
        Effect.flatMap(ConversationStore, (store) => store.get("resp_1")).pipe(Effect.provide(layer))
      )
      assert.deepStrictEqual(found, Option.some({ id: "resp_1", items }))
    }))

  it.live("an unreachable database is a StateUnavailable within the timeout", () =>
    Effect.gen(function*() {
      const layer = ConversationStorePostgres.layer({
        connectionString: Redacted.make("postgres://postgres@127.0.0.1:1/test"),
        table: `${schema}.responses`,
        timeoutMs: 1000
      })
      const started = Date.now()
      const error = yield* Effect.scoped(
        Effect.flatMap(ConversationStore, (store) => store.get("resp_1")).pipe(Effect.provide(layer), Effect.flip)
      )
      assert.strictEqual(error._tag, "StateUnavailable")
      assert.isBelow(Date.now() - started, 3000)
    }))
})
