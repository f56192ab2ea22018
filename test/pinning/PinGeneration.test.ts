import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import type { RoutePreference } from "../../src/config/GatewayConfig.js"
import * as PinCache from "../../src/pinning/PinCache.js"
import type { Pin, PinCacheService, PinOrigin } from "../../src/pinning/PinCache.js"
import * as PinCacheRedis from "../../src/pinning/PinCacheRedis.js"
import { verdict } from "../../src/pinning/PinGeneration.js"
import type { ModelTarget } from "../../src/providers/Providers.js"

const redisUrl = "redis://127.0.0.1:6379"
let redis: Redis
beforeAll(async () => {
  redis = new Redis(redisUrl)
})
afterAll(() => redis.quit())

const origin = (generation: number, modelId = "gpt-4o"): PinOrigin => ({ generation, provider: "openai", modelId })

const redisStore = Effect.gen(function*() {
  const prefix = yield* Effect.acquireRelease(
    Effect.sync(() => `switchyard-test:${randomUUID()}:`),
    (prefix) =>
      Effect.promise(async () => {
        const keys = await redis.keys(`${prefix}*`)
        if (keys.length > 0) await redis.del(...keys)
      })
  )
  return yield* PinCacheRedis.make({ url: redisUrl, ttlSeconds: 60, maxEntries: 100, keyPrefix: prefix })
})

type Store = Effect.Effect<PinCacheService, PinCache.PinCacheError, Scope.Scope>

const stores: ReadonlyArray<readonly [string, Store]> = [
  ["memory", PinCache.make({ maxEntries: 100 })],
  ["redis", redisStore]
]

describe("pins and config generations", () => {
  for (const [name, make] of stores) {
    it.scoped(`${name}: a pin of an older generation never replaces a newer one; of equals the first stays`, () =>
      Effect.gen(function*() {
        const pins = yield* make
        const newer = yield* pins.put("s", { model: "openai/gpt-4.1", route: "code", origin: origin(5, "gpt-4.1") })
        assert.deepStrictEqual(newer.origin, origin(5, "gpt-4.1"))
        const older = yield* pins.put("s", { model: "openai/gpt-4o", route: "code", origin: origin(4) })
        assert.strictEqual(older.model, "openai/gpt-4.1")
        const same = yield* pins.put("s", { model: "openai/gpt-4o", route: "code", origin: origin(5) })
        assert.strictEqual(same.model, "openai/gpt-4.1")
        const next = yield* pins.put("s", { model: "openai/gpt-4o", route: "code", origin: origin(6) })
        assert.strictEqual(next.model, "openai/gpt-4o")
        const read = yield* pins.get("s")
        assert.deepStrictEqual(Option.map(read, (p) => [p.model, p.origin]), Option.some(["openai/gpt-4o", origin(6)]))
        // A put without an origin (an embedder's, or the admin API's) still replaces whatever is there.
        const plain = yield* pins.put("s", { model: "openai/o3", route: null })
        assert.strictEqual(plain.model, "openai/o3")
        assert.strictEqual(Option.getOrThrow(yield* pins.peek("s")).model, "openai/o3")
      }))
  }

  it("redis: the stored value keeps Plano's fields and adds the origin", async () => {
    const value = JSON.parse(PinCacheRedis.encodeValue({
      model: "openai/gpt-4o",
      route: "code",
      createdAt: 1,
      lastUsedAt: 2,
      hits: 3,
      origin: origin(7)
    })) as Record<string, unknown>
    assert.deepStrictEqual(value, {
      model_name: "openai/gpt-4o",
      route_name: "code",
      created_at: 1,
      last_used_at: 2,
      hits: 3,
      generation: 7,
      provider: "openai",
      model_id: "gpt-4o"
    })
    assert.deepStrictEqual(PinCacheRedis.decodeValue(JSON.stringify(value), 0)?.origin, origin(7))
    assert.isUndefined(PinCacheRedis.decodeValue(JSON.stringify({ model_name: "m" }), 0)?.origin)
  })

  describe("verdict", () => {
    const target = (name: string, provider: string, modelId: string) =>
      ({ name, modelId, provider: { provider } }) as unknown as ModelTarget
    const routes = [{ name: "code" }] as unknown as ReadonlyArray<RoutePreference>
    const pin = (over: Partial<Pin>): Pin => ({
      model: "fast",
      route: "code",
      createdAt: 0,
      lastUsedAt: 0,
      hits: 0,
      origin: origin(3),
      ...over
    })
    const resolve = (model: string) => model === "fast" ? target("fast", "openai", "gpt-4o") : undefined

    it("keeps a pin whose provider model and route still exist; drops one whose model, id or route is gone", () => {
      assert.strictEqual(verdict(pin({}), 3, resolve, routes), "current")
      assert.strictEqual(verdict(pin({}), 4, resolve, routes), "kept")
      assert.strictEqual(verdict(pin({}), 2, resolve, routes), "newer")
      assert.strictEqual(verdict(pin({ model: "gone" }), 4, resolve, routes), "dropped")
      assert.strictEqual(verdict(pin({ origin: origin(3, "gpt-4o-mini") }), 4, resolve, routes), "dropped")
      assert.strictEqual(verdict(pin({ route: "writing" }), 4, resolve, routes), "dropped")
      assert.strictEqual(verdict(pin({ route: null }), 4, resolve, []), "kept")
    })

    it("a pin without an origin (Plano's, or an older Switchyard's) is kept while its model resolves", () => {
      const { origin: _, ...plain } = pin({})
      assert.strictEqual(verdict(plain, 4, resolve, []), "kept")
      assert.strictEqual(verdict({ ...plain, model: "gone" }, 4, resolve, routes), "dropped")
    })
  })
})
