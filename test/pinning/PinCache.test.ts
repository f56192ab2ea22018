import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Metric, Option, Scope, TestClock } from "effect"
import type { ResolvedConfig } from "../../src/config/GatewayConfig.js"
import * as GatewayConfig from "../../src/config/GatewayConfig.js"
import * as PinCache from "../../src/pinning/PinCache.js"
import type { PinCacheOptions } from "../../src/pinning/PinCache.js"

const gpt = { model: "openai/gpt-4o", route: "complex_reasoning" }
const claude = { model: "anthropic/claude-sonnet-4", route: "code_generation" }

const withCache = <A, E>(
  options: Partial<PinCacheOptions>,
  f: (cache: PinCache.PinCacheService) => Effect.Effect<A, E>
) => Effect.flatMap(PinCache.PinCache, f).pipe(Effect.provide(PinCache.layer(options)))

const seconds = (n: number) => TestClock.adjust(`${n} seconds`)

const modelOf = (pin: Option.Option<PinCache.Pin>) => Option.map(pin, (p) => p.model)

const listAll = (cache: PinCache.PinCacheService, limit: number) =>
  Effect.gen(function*() {
    const keys: Array<string> = []
    let cursor: string | undefined = undefined
    let pages = 0
    do {
      const page: PinCache.PinPage = yield* cache.list({ limit, cursor })
      assert.isAtMost(page.items.length, limit)
      keys.push(...page.items.map((item) => item.key))
      cursor = page.nextCursor
      pages++
    } while (cursor !== undefined)
    return { keys, pages }
  })

describe("PinCache", () => {
  it.effect("a pin lives while used and expires ttl after its last use", () =>
    withCache({ ttlSeconds: 10 }, (cache) =>
      Effect.gen(function*() {
        const created = yield* cache.put("s1", gpt)
        assert.deepStrictEqual(created, { ...gpt, createdAt: 0, lastUsedAt: 0, hits: 0 })
        yield* seconds(9)
        const first = yield* cache.get("s1")
        assert.deepStrictEqual(first, Option.some({ ...gpt, createdAt: 0, lastUsedAt: 9_000, hits: 1 }))
        yield* seconds(9)
        // 18 s after creation: still alive because TTL counts from the last use.
        const second = yield* cache.get("s1")
        assert.deepStrictEqual(second, Option.some({ ...gpt, createdAt: 0, lastUsedAt: 18_000, hits: 2 }))
        assert.strictEqual(cache.expiresAt(Option.getOrThrow(second)), 28_000)
        yield* seconds(10)
        assert.isTrue(Option.isNone(yield* cache.get("s1")))
      })))

  it.effect("expires at exactly ttl after the last use, not a millisecond later", () =>
    withCache({ ttlSeconds: 10, sweepIntervalSeconds: 3600 }, (cache) =>
      Effect.gen(function*() {
        yield* cache.put("a", gpt)
        yield* cache.put("b", claude)
        yield* TestClock.adjust("9999 millis")
        assert.isTrue(Option.isSome(yield* cache.peek("a")))
        assert.isTrue(Option.isSome(yield* cache.get("b")))
        yield* TestClock.adjust("1 millis")
        assert.isTrue(Option.isNone(yield* cache.get("a")))
        assert.isTrue(Option.isSome(yield* cache.peek("b")))
      })))

  it.effect("get and peek after expiry are empty before any sweep, and drop the pin on the spot", () =>
    withCache({ ttlSeconds: 5, sweepIntervalSeconds: 3600 }, (cache) =>
      Effect.gen(function*() {
        yield* cache.put("a", gpt)
        yield* cache.put("b", claude)
        yield* cache.put("c", claude)
        yield* seconds(5)
        assert.strictEqual(yield* cache.size, 3)
        assert.isTrue(Option.isNone(yield* cache.get("a")))
        assert.isTrue(Option.isNone(yield* cache.peek("b")))
        assert.isFalse(yield* cache.remove("c"))
        assert.strictEqual(yield* cache.size, 0)
        const stats = yield* cache.stats
        assert.strictEqual(stats.expirations, 3)
        assert.strictEqual(stats.misses, 1)
      })))

  it.effect("the sweep removes expired pins on schedule and keeps live ones", () =>
    withCache({ ttlSeconds: 30, sweepIntervalSeconds: 60 }, (cache) =>
      Effect.gen(function*() {
        for (const key of ["a", "b", "c", "d", "e"]) yield* cache.put(key, gpt)
        yield* seconds(40)
        yield* cache.put("late", claude)
        // Expired but not swept yet: the next sweep is at 60 s.
        assert.strictEqual(yield* cache.size, 6)
        yield* seconds(19)
        assert.strictEqual(yield* cache.size, 6)
        yield* seconds(1)
        assert.strictEqual(yield* cache.size, 1)
        assert.strictEqual((yield* cache.stats).expirations, 5)
        assert.deepStrictEqual(modelOf(yield* cache.peek("late")), Option.some(claude.model))
        yield* seconds(60)
        assert.strictEqual(yield* cache.size, 0)
      })))

  it.effect("the sweep removes more pins than one batch holds", () =>
    withCache({ ttlSeconds: 1, sweepIntervalSeconds: 10, maxEntries: 20_000 }, (cache) =>
      Effect.gen(function*() {
        for (let i = 0; i < 10_050; i++) yield* cache.put(`s${i}`, gpt)
        assert.strictEqual(yield* cache.size, 10_050)
        yield* seconds(10)
        assert.strictEqual(yield* cache.size, 0)
        assert.strictEqual((yield* cache.stats).expirations, 10_050)
      })))

  it.effect("evicts the least recently used pin, not the oldest written, when a new key arrives at capacity", () =>
    withCache({ maxEntries: 3 }, (cache) =>
      Effect.gen(function*() {
        yield* cache.put("a", gpt)
        yield* seconds(1)
        yield* cache.put("b", gpt)
        yield* seconds(1)
        yield* cache.put("c", gpt)
        yield* seconds(1)
        yield* cache.get("a")
        yield* cache.put("d", claude)
        assert.isTrue(Option.isNone(yield* cache.peek("b")))
        for (const key of ["a", "c", "d"]) assert.isTrue(Option.isSome(yield* cache.peek(key)), key)
        yield* cache.get("c")
        yield* cache.put("e", claude)
        assert.isTrue(Option.isNone(yield* cache.peek("a")))
        const stats = yield* cache.stats
        assert.strictEqual(stats.evictions, 2)
        assert.strictEqual(stats.size, 3)
      })))

  it.effect("re-putting an existing key replaces the pin and never evicts", () =>
    withCache({ maxEntries: 2 }, (cache) =>
      Effect.gen(function*() {
        yield* cache.put("a", gpt)
        yield* cache.put("b", gpt)
        yield* seconds(3)
        yield* cache.get("a")
        const replaced = yield* cache.put("a", claude)
        assert.deepStrictEqual(replaced, { ...claude, createdAt: 3_000, lastUsedAt: 3_000, hits: 0 })
        yield* cache.put("b", { model: "openai/gpt-4o-mini", route: null })
        assert.strictEqual(yield* cache.size, 2)
        assert.strictEqual((yield* cache.stats).evictions, 0)
        assert.deepStrictEqual(modelOf(yield* cache.peek("a")), Option.some(claude.model))
        assert.deepStrictEqual(
          Option.map(yield* cache.peek("b"), (p) => [p.model, p.route]),
          Option.some(["openai/gpt-4o-mini", null])
        )
      })))

  it.effect("works with capacity 1", () =>
    withCache({ maxEntries: 1 }, (cache) =>
      Effect.gen(function*() {
        yield* cache.put("a", gpt)
        assert.isTrue(Option.isSome(yield* cache.get("a")))
        yield* cache.put("a", claude)
        assert.strictEqual((yield* cache.stats).evictions, 0)
        yield* cache.put("b", gpt)
        assert.isTrue(Option.isNone(yield* cache.get("a")))
        assert.deepStrictEqual(modelOf(yield* cache.get("b")), Option.some(gpt.model))
        assert.isTrue(yield* cache.remove("b"))
        assert.isFalse(yield* cache.remove("b"))
        yield* cache.put("c", gpt)
        const stats = yield* cache.stats
        assert.strictEqual(stats.size, 1)
        assert.strictEqual(stats.evictions, 1)
      })))

  it.effect("an expired pin at the LRU end counts as an expiration, not an eviction", () =>
    withCache({ maxEntries: 2, ttlSeconds: 10, sweepIntervalSeconds: 3600 }, (cache) =>
      Effect.gen(function*() {
        yield* cache.put("a", gpt)
        yield* seconds(6)
        yield* cache.put("b", gpt)
        yield* seconds(6)
        yield* cache.put("c", gpt)
        const stats = yield* cache.stats
        assert.strictEqual(stats.evictions, 0)
        assert.strictEqual(stats.expirations, 1)
        assert.strictEqual(stats.size, 2)
      })))

  it.effect("list pages cover every live pin exactly once, in creation order, skipping expired ones", () =>
    withCache({ ttlSeconds: 10, sweepIntervalSeconds: 3600 }, (cache) =>
      Effect.gen(function*() {
        for (let i = 0; i < 5; i++) yield* cache.put(`old${i}`, gpt)
        yield* seconds(6)
        const live = Array.from({ length: 20 }, (_, i) => `k${i}`)
        for (const key of live) yield* cache.put(key, claude)
        yield* seconds(5)
        const { keys, pages } = yield* listAll(cache, 7)
        assert.deepStrictEqual(keys, live)
        assert.strictEqual(pages, 3)
        const first = yield* cache.list({ limit: 1 })
        assert.deepStrictEqual(first.items, [{
          key: "k0",
          pin: { ...claude, createdAt: 6_000, lastUsedAt: 6_000, hits: 0 },
          expiresAt: 16_000
        }])
        // A page that ends exactly on the last pin has no next page.
        const exact = yield* cache.list({ limit: 20 })
        assert.strictEqual(exact.items.length, 20)
        assert.isUndefined(exact.nextCursor)
      })))

  it.effect("list stays consistent under writes between pages", () =>
    withCache({}, (cache) =>
      Effect.gen(function*() {
        for (let i = 0; i < 10; i++) yield* cache.put(`k${i}`, gpt)
        const page1 = yield* cache.list({ limit: 4 })
        assert.deepStrictEqual(page1.items.map((i) => i.key), ["k0", "k1", "k2", "k3"])
        yield* cache.get("k1")
        yield* cache.put("k2", claude)
        yield* cache.put("k5", claude)
        yield* cache.remove("k6")
        yield* cache.put("new", claude)
        const rest: Array<string> = []
        let cursor = page1.nextCursor
        while (cursor !== undefined) {
          const page: PinCache.PinPage = yield* cache.list({ limit: 4, cursor })
          rest.push(...page.items.map((i) => i.key))
          cursor = page.nextCursor
        }
        assert.deepStrictEqual(rest, ["k4", "k5", "k7", "k8", "k9", "new"])
      })))

  it.effect("list clamps the limit to 1..1000 and answers an unreadable cursor with an empty last page", () =>
    withCache({}, (cache) =>
      Effect.gen(function*() {
        for (let i = 0; i < 1_001; i++) yield* cache.put(`k${i}`, gpt)
        assert.strictEqual((yield* cache.list({ limit: 0 })).items.length, 1)
        assert.strictEqual((yield* cache.list({ limit: -5 })).items.length, 1)
        assert.strictEqual((yield* cache.list({ limit: 2.9 })).items.length, 2)
        assert.strictEqual((yield* cache.list({ limit: 5_000 })).items.length, 1_000)
        assert.strictEqual((yield* cache.list({ limit: Number.NaN })).items.length, 100)
        assert.strictEqual((yield* cache.list({})).items.length, 100)
        for (const cursor of ["", "not a cursor", "-1", "../../etc"]) {
          assert.deepStrictEqual(yield* cache.list({ cursor }), { items: [], nextCursor: undefined }, cursor)
        }
      })))

  it.effect("counts hits, misses, creations, evictions and expirations, and mirrors them as metrics", () =>
    Effect.gen(function*() {
      const metricValues = Effect.all({
        hits: Metric.value(PinCache.metrics.hits),
        misses: Metric.value(PinCache.metrics.misses),
        creations: Metric.value(PinCache.metrics.creations),
        evictions: Metric.value(PinCache.metrics.evictions),
        expirations: Metric.value(PinCache.metrics.expirations)
      })
      const before = yield* metricValues
      const stats = yield* withCache({ maxEntries: 2, ttlSeconds: 10, sweepIntervalSeconds: 3600 }, (cache) =>
        Effect.gen(function*() {
          yield* cache.get("a")
          yield* cache.put("a", gpt)
          yield* cache.get("a")
          yield* cache.get("a")
          yield* cache.put("b", gpt)
          yield* cache.put("c", gpt)
          yield* cache.peek("c")
          yield* seconds(10)
          yield* cache.get("c")
          return yield* cache.stats
        }))
      assert.deepStrictEqual(stats, {
        hits: 2,
        misses: 2,
        creations: 3,
        evictions: 1,
        expirations: 1,
        routerCallsSaved: 2,
        size: 1,
        capacity: 2,
        ttlSeconds: 10
      })
      const after = yield* metricValues
      assert.strictEqual(after.hits.count - before.hits.count, 2)
      assert.strictEqual(after.misses.count - before.misses.count, 2)
      assert.strictEqual(after.creations.count - before.creations.count, 3)
      assert.strictEqual(after.evictions.count - before.evictions.count, 1)
      assert.strictEqual(after.expirations.count - before.expirations.count, 1)
    }))

  it.effect("rejects invalid options with a PinCacheError", () =>
    Effect.gen(function*() {
      const invalid: ReadonlyArray<Partial<PinCacheOptions>> = [
        { maxEntries: 0 },
        { maxEntries: 10_000_001 },
        { maxEntries: 1.5 },
        { ttlSeconds: 0.5 },
        { ttlSeconds: Number.NaN },
        { sweepIntervalSeconds: 0 },
        { sweepIntervalSeconds: Number.POSITIVE_INFINITY }
      ]
      for (const options of invalid) {
        const error = yield* Effect.flip(Effect.scoped(PinCache.make(options)))
        assert.strictEqual(error._tag, "PinCacheError")
        assert.isTrue(error.message.length > 0)
      }
      const largest = PinCache.make({ maxEntries: 10_000_000, ttlSeconds: 1 })
      const ok = yield* Effect.scoped(Effect.flatMap(largest, (c) => c.stats))
      assert.strictEqual(ok.capacity, 10_000_000)
    }))

  it.effect("a capacity above one key-index shard still behaves as one LRU", () =>
    withCache({ maxEntries: 9_000_000 }, (cache) =>
      Effect.gen(function*() {
        for (let i = 0; i < 100; i++) yield* cache.put(`k${i}`, i % 2 === 0 ? gpt : claude)
        for (let i = 0; i < 100; i++) {
          const expected = i % 2 === 0 ? gpt.model : claude.model
          assert.deepStrictEqual(modelOf(yield* cache.get(`k${i}`)), Option.some(expected))
        }
        for (let i = 0; i < 50; i++) assert.isTrue(yield* cache.remove(`k${i}`))
        assert.strictEqual(yield* cache.size, 50)
        assert.deepStrictEqual((yield* listAll(cache, 30)).keys, Array.from({ length: 50 }, (_, i) => `k${i + 50}`))
      })))

  it.effect("the sweep fiber ends with the scope", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const cache = yield* Scope.extend(PinCache.make({ ttlSeconds: 5, sweepIntervalSeconds: 10 }), scope)
      yield* cache.put("a", gpt)
      yield* cache.put("b", gpt)
      yield* seconds(10)
      assert.strictEqual(yield* cache.size, 0)
      yield* cache.put("c", gpt)
      yield* Scope.close(scope, Exit.void)
      yield* seconds(60)
      // Nothing swept the expired pin after the scope closed.
      assert.strictEqual(yield* cache.size, 1)
    }))

  it.effect("layerConfig sizes the cache from routing.session_* of the config", () =>
    Effect.gen(function*() {
      const config: ResolvedConfig = {
        version: "v0.4.0",
        listener: { address: "127.0.0.1", port: 0, timeoutMs: 300_000, maxBodyBytes: 10_485_760 },
        providers: [],
        aliases: new Map(),
        routingPreferences: [],
        routing: {
          sessionTtlSeconds: 42,
          sessionMaxEntries: 3,
          sessionSweepIntervalSeconds: 7,
          sessionScopeHeader: undefined,
          adminKey: undefined,
          router: { type: "embedded", threshold: undefined }
        },
        ignoredKeys: [],
        warnings: []
      }
      const stats = yield* Effect.flatMap(PinCache.PinCache, (c) => c.stats).pipe(
        Effect.provide(PinCache.layerConfig.pipe(Layer.provide(GatewayConfig.layer(config))))
      )
      assert.strictEqual(stats.capacity, 3)
      assert.strictEqual(stats.ttlSeconds, 42)
    }))

  it.effect("layerTest is a small in-memory cache", () =>
    Effect.gen(function*() {
      const cache = yield* PinCache.PinCache
      yield* cache.put("a", gpt)
      assert.strictEqual((yield* cache.stats).capacity, 100)
    }).pipe(Effect.provide(PinCache.layerTest())))
})

describe("PinStore", () => {
  const store = (maxEntries: number, ttlSeconds = 60) => new PinCache.PinStore({ maxEntries, ttlSeconds })

  it("keeps time monotonic when the clock steps back", () => {
    const s = store(10)
    s.put("a", gpt, 10_000)
    s.put("b", gpt, 20_000)
    const touched = s.get("a", 15_000)
    assert.strictEqual(touched?.lastUsedAt, 20_000)
    // "a" is now the most recently used, so the sweep (which stops at the first live pin) finds "b" first.
    assert.strictEqual(s.sweep(79_999, 10), 0)
    assert.strictEqual(s.sweep(80_000, 10), 2)
  })

  it("sweeps at most the given number of pins per call", () => {
    const s = store(100)
    for (let i = 0; i < 25; i++) s.put(`k${i}`, gpt, i)
    assert.strictEqual(s.sweep(70_000, 10), 10)
    assert.strictEqual(s.sweep(70_000, 10), 10)
    assert.strictEqual(s.sweep(70_000, 10), 5)
    assert.strictEqual(s.size, 0)
  })

  it("keeps listing correctly through heavy churn (log compaction and slot reuse)", () => {
    const s = store(10)
    for (let i = 0; i < 5_000; i++) s.put(`k${i}`, i % 3 === 0 ? gpt : claude, i)
    for (let i = 4_990; i < 5_000; i += 2) s.remove(`k${i}`, 5_000)
    const page = s.list(100, undefined, 5_000)
    assert.deepStrictEqual(page.items.map((i) => i.key), ["k4991", "k4993", "k4995", "k4997", "k4999"])
    assert.strictEqual(s.evictions, 4_990)
    assert.strictEqual(s.size, 5)
  })

  it("counts a get of an absent key as a miss and a put as a creation", () => {
    const s = store(2)
    assert.isUndefined(s.get("a", 0))
    s.put("a", gpt, 0)
    assert.deepStrictEqual([s.hits, s.misses, s.creations], [0, 1, 1])
  })
})
