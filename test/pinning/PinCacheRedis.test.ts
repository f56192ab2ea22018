import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Exit, Option, TestClock } from "effect"
import { Redis } from "ioredis"
import { randomUUID } from "node:crypto"
import { createServer, connect } from "node:net"
import type { AddressInfo, Server, Socket } from "node:net"
import * as ConfigFile from "../../src/config/ConfigFile.js"
import type { PinCacheService } from "../../src/pinning/PinCache.js"
import * as PinCacheRedis from "../../src/pinning/PinCacheRedis.js"
import { startMockRouter } from "../support/MockRouter.js"
import type { MockRouter } from "../support/MockRouter.js"
import { openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

const redisUrl = "redis://127.0.0.1:6379"
let redis: Redis

beforeAll(async () => {
  redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
})

afterAll(async () => {
  await redis.quit()
})

const deleteMatching = async (pattern: string) => {
  const keys = await redis.keys(pattern)
  if (keys.length > 0) await redis.del(...keys)
}

/** A fresh key prefix whose keys are deleted when the test's scope closes. */
const freshPrefix = Effect.acquireRelease(
  Effect.sync(() => `switchyard-test:${randomUUID()}:`),
  (prefix) => Effect.promise(() => deleteMatching(`${prefix}*`))
)

/** A Redis pin store on a fresh prefix (60 s idle TTL, 100 pins unless overridden). */
const makeCache = (options: { readonly ttlSeconds?: number; readonly maxEntries?: number } = {}) =>
  Effect.gen(function*() {
    const prefix = yield* freshPrefix
    const cache = yield* PinCacheRedis.make({
      url: redisUrl,
      ttlSeconds: options.ttlSeconds ?? 60,
      maxEntries: options.maxEntries ?? 100,
      keyPrefix: prefix
    })
    return { cache, prefix }
  })

const stored = (key: string) =>
  Effect.promise(async () => {
    const raw = await redis.get(key)
    return raw === null ? undefined : JSON.parse(raw) as Record<string, unknown>
  })

const redisCall = <A>(f: (r: Redis) => Promise<A>) => Effect.promise(() => f(redis))

const modelOf = (cache: PinCacheService, key: string) =>
  Effect.map(cache.peek(key), Option.map((pin) => pin.model))

/** A loopback TCP proxy to Redis that can be cut, so Redis "goes away" under a running store. */
const startProxy = (): Promise<{ readonly port: number; readonly cut: () => Promise<void> }> =>
  new Promise((resolve) => {
    const sockets = new Set<Socket>()
    const server: Server = createServer((client) => {
      const upstream = connect(6379, "127.0.0.1")
      sockets.add(client)
      sockets.add(upstream)
      client.pipe(upstream)
      upstream.pipe(client)
      client.on("error", () => client.destroy())
      upstream.on("error", () => upstream.destroy())
      client.on("close", () => upstream.destroy())
      upstream.on("close", () => client.destroy())
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        cut: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            for (const socket of sockets) socket.destroy()
          })
      }))
  })

/** A loopback port nothing listens on. */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port
      server.close(() => resolve(port))
    })
  })

describe("PinCacheRedis", () => {
  it.scopedLive("get touches atomically: hits, last use, LRU score and a fresh idle TTL; peek does not", () =>
    Effect.gen(function*() {
      const { cache, prefix } = yield* makeCache({ ttlSeconds: 30 })
      const created = yield* cache.put("s1", { model: "openai/gpt-4o", route: "code" })
      assert.strictEqual(created.hits, 0)
      const value = yield* stored(`${prefix}s1`)
      assert.deepStrictEqual(Object.keys(value ?? {}).sort(), [
        "created_at",
        "hits",
        "last_used_at",
        "model_name",
        "route_name"
      ])
      assert.strictEqual(value?.["model_name"], "openai/gpt-4o")
      assert.strictEqual(value?.["route_name"], "code")

      // Let most of the TTL "pass", then check that peek leaves it and get resets it.
      yield* redisCall((r) => r.pexpire(`${prefix}s1`, 3000))
      yield* Effect.sleep(Duration.millis(5))
      const peeked = yield* cache.peek("s1")
      assert.strictEqual(Option.getOrThrow(peeked).hits, 0)
      assert.isAtMost(yield* redisCall((r) => r.pttl(`${prefix}s1`)), 3000)

      const hit = Option.getOrThrow(yield* cache.get("s1"))
      assert.strictEqual(hit.model, "openai/gpt-4o")
      assert.strictEqual(hit.route, "code")
      assert.strictEqual(hit.hits, 1)
      assert.strictEqual(hit.createdAt, created.createdAt)
      assert.isAbove(hit.lastUsedAt, created.lastUsedAt)
      assert.strictEqual(cache.expiresAt(hit), hit.lastUsedAt + 30_000)
      assert.isAbove(yield* redisCall((r) => r.pttl(`${prefix}s1`)), 25_000)
      assert.strictEqual(Number(yield* redisCall((r) => r.zscore(`${prefix}__lru`, "s1"))), hit.lastUsedAt)
      assert.strictEqual(Option.getOrThrow(yield* cache.get("s1")).hits, 2)
      assert.strictEqual((yield* stored(`${prefix}s1`))?.["hits"], 2)

      assert.isTrue(Option.isNone(yield* cache.get("nobody")))
      const stats = yield* cache.stats
      assert.deepStrictEqual(
        { hits: stats.hits, misses: stats.misses, creations: stats.creations, size: stats.size },
        { hits: 2, misses: 1, creations: 1, size: 1 }
      )
    }))

  it.scopedLive("a pin expires after its idle TTL and its LRU entry is cleaned up", () =>
    Effect.gen(function*() {
      const { cache, prefix } = yield* makeCache({ ttlSeconds: 1 })
      yield* cache.put("short", { model: "m", route: null })
      assert.isTrue(Option.isSome(yield* cache.peek("short")))
      yield* Effect.sleep(Duration.millis(1100))
      assert.isTrue(Option.isNone(yield* cache.get("short")))
      assert.isNull(yield* redisCall((r) => r.zscore(`${prefix}__lru`, "short")))
      assert.strictEqual(yield* cache.size, 0)
    }))

  it.scoped("capacity 3: a fourth session evicts the least recently used one", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      const { cache, prefix } = yield* makeCache({ maxEntries: 3 })
      for (const key of ["a", "b", "c"]) {
        yield* cache.put(key, { model: `model-${key}`, route: null })
        yield* TestClock.adjust(Duration.seconds(1))
      }
      yield* cache.get("a")
      yield* TestClock.adjust(Duration.seconds(1))
      yield* cache.put("d", { model: "model-d", route: null })

      assert.isTrue(Option.isNone(yield* cache.peek("b")))
      assert.isNull(yield* redisCall((r) => r.get(`${prefix}b`)))
      assert.deepStrictEqual(yield* modelOf(cache, "a"), Option.some("model-a"))
      assert.deepStrictEqual(yield* modelOf(cache, "d"), Option.some("model-d"))
      assert.deepStrictEqual(yield* redisCall((r) => r.zrange(`${prefix}__lru`, 0, -1)), ["c", "a", "d"])
      // Re-pinning an existing session evicts nothing.
      yield* cache.put("c", { model: "model-c2", route: null })
      const stats = yield* cache.stats
      assert.strictEqual(stats.evictions, 1)
      assert.strictEqual(stats.size, 3)
      assert.strictEqual(stats.capacity, 3)
    }))

  it.scoped("remove deletes the pin and its LRU entry; false when there was none", () =>
    Effect.gen(function*() {
      const { cache, prefix } = yield* makeCache()
      yield* cache.put("gone", { model: "m", route: "r" })
      assert.isTrue(yield* cache.remove("gone"))
      assert.isFalse(yield* cache.remove("gone"))
      assert.isTrue(Option.isNone(yield* cache.get("gone")))
      assert.strictEqual(yield* redisCall((r) => r.zcard(`${prefix}__lru`)), 0)
    }))

  it.scoped("list pages through live pins least recently used first; stale entries are dropped", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(2_000_000)
      const { cache, prefix } = yield* makeCache()
      for (const key of ["k1", "k2", "k3", "k4", "k5"]) {
        yield* cache.put(key, { model: "m", route: null })
        yield* TestClock.adjust(Duration.millis(10))
      }
      // Same score as k5 (ties are ordered by key): the cursor must not skip or repeat it.
      yield* cache.put("k6", { model: "m", route: null })
      yield* redisCall((r) => r.zadd(`${prefix}__lru`, 2_000_040, "k6"))
      yield* redisCall((r) => r.del(`${prefix}k3`))

      const keys: Array<string> = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = yield* cache.list({ limit: 2, cursor })
        keys.push(...page.items.map((item) => item.key))
        for (const item of page.items) assert.isAbove(item.expiresAt, 2_000_000 + 50_000)
        cursor = page.nextCursor
        pages++
      } while (cursor !== undefined && pages < 10)
      assert.deepStrictEqual(keys, ["k1", "k2", "k4", "k5", "k6"])
      assert.strictEqual(pages, 3)
      assert.isNull(yield* redisCall((r) => r.zscore(`${prefix}__lru`, "k3")))
      assert.deepStrictEqual(yield* cache.list({ cursor: "not a cursor" }), { items: [], nextCursor: undefined })
      assert.strictEqual(yield* cache.size, 5)
    }))

  it.scoped("reads Plano-written values and stores scoped keys the way Plano does", () =>
    Effect.gen(function*() {
      const { cache, prefix } = yield* makeCache()
      yield* redisCall((r) =>
        r.set(`${prefix}plano-sess`, JSON.stringify({ model_name: "openai/gpt-4o", route_name: null }), "EX", 60)
      )
      const headValue = JSON.stringify({ anchor_model: "openai/gpt-4o-mini", route_name: "chat" })
      yield* redisCall((r) => r.set(`${prefix}head-sess`, headValue, "EX", 60))
      yield* redisCall((r) => r.set(`${prefix}junk`, "not json", "EX", 60))

      const plano = Option.getOrThrow(yield* cache.get("plano-sess"))
      assert.deepStrictEqual([plano.model, plano.route, plano.hits], ["openai/gpt-4o", null, 1])
      const kept = yield* stored(`${prefix}plano-sess`)
      assert.strictEqual(kept?.["model_name"], "openai/gpt-4o")
      assert.strictEqual(kept?.["route_name"], null)
      const head = Option.getOrThrow(yield* cache.peek("head-sess"))
      assert.deepStrictEqual([head.model, head.route], ["openai/gpt-4o-mini", "chat"])
      assert.isTrue(Option.isNone(yield* cache.get("junk")))

      yield* cache.put("acme\u0001s-1", { model: "m", route: null })
      assert.strictEqual((yield* stored(`${prefix}acme:s-1`))?.["model_name"], "m")
      assert.deepStrictEqual(
        (yield* cache.list({})).items.map((item) => item.key).filter((key) => key.startsWith("acme")),
        ["acme\u0001s-1"]
      )
    }))

  it.scopedLive("fails open when Redis goes away after start: get is a miss, put does not fail", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      const proxy = yield* Effect.promise(() => startProxy())
      const cache = yield* PinCacheRedis.make({
        url: `redis://127.0.0.1:${proxy.port}`,
        ttlSeconds: 60,
        maxEntries: 10,
        keyPrefix: prefix
      })
      yield* cache.put("s", { model: "m", route: null })
      assert.isTrue(Option.isSome(yield* cache.get("s")))

      yield* Effect.promise(() => proxy.cut())
      yield* Effect.sleep(Duration.millis(50))
      const start = Date.now()
      assert.isTrue(Option.isNone(yield* cache.get("s")))
      const pin = yield* cache.put("t", { model: "m2", route: "r" })
      assert.strictEqual(pin.model, "m2")
      assert.isTrue(Option.isNone(yield* cache.peek("s")))
      assert.isFalse(yield* cache.remove("s"))
      assert.deepStrictEqual(yield* cache.list({}), { items: [], nextCursor: undefined })
      assert.strictEqual(yield* cache.size, 0)
      assert.isBelow(Date.now() - start, 1000)
      assert.strictEqual((yield* cache.stats).misses, 1)
    }))

  it.live("an unreachable Redis at start is a PinCacheError that does not show the password", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => closedPort())
      const exit = yield* Effect.scoped(
        PinCacheRedis.make({ url: `redis://app:hunter2@127.0.0.1:${port}`, ttlSeconds: 60, maxEntries: 10 })
      ).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(Effect.scoped(
        PinCacheRedis.make({ url: `redis://app:hunter2@127.0.0.1:${port}`, ttlSeconds: 60, maxEntries: 10 })
      ))
      assert.strictEqual(error._tag, "PinCacheError")
      assert.include(error.message, "cannot connect to Redis at redis://app:***@127.0.0.1")
      assert.notInclude(error.message, "hunter2")
      assert.strictEqual(PinCacheRedis.maskUrl("rediss://:pw@h:1/0"), "rediss://:***@h:1/0")
      assert.strictEqual(PinCacheRedis.maskUrl("redis://h:6379"), "redis://h:6379")
    }))
})

const withEnv = (vars: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

const configWith = (sessionCache: string) => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: openai/gpt-4o-mini
    access_key: k
    default: true
routing:
  session_cache:
${sessionCache}
`

describe("routing.session_cache", () => {
  it.effect("type: redis takes its url from the environment and requires one", () =>
    Effect.gen(function*() {
      const config = yield* ConfigFile.parseText(configWith("    type: redis\n    url: $REDIS_URL")).pipe(
        withEnv({ REDIS_URL: "redis://cache:6380/1" })
      )
      assert.deepStrictEqual(config.routing.sessionStore, { type: "redis", url: "redis://cache:6380/1" })
      const memory = yield* ConfigFile.parseText(configWith("    type: memory\n    url: redis://x:1")).pipe(withEnv({}))
      assert.isUndefined(memory.routing.sessionStore)

      const missing = yield* Effect.flip(ConfigFile.parseText(configWith("    type: redis")).pipe(withEnv({})))
      const urlIssue = (issues: ReadonlyArray<{ readonly path: string; readonly message: string }>, text: string) =>
        issues.some((i) => i.path === "routing.session_cache.url" && i.message.includes(text))
      assert.isTrue(urlIssue(missing.issues, "required"))
      const wrong = yield* Effect.flip(
        ConfigFile.parseText(configWith("    type: redis\n    url: http://x")).pipe(withEnv({}))
      )
      assert.isTrue(urlIssue(wrong.issues, "redis://"))
    }))
})

describe("two gateways on one Redis", () => {
  let upstream: MockUpstream
  let router: MockRouter
  const gateways: Array<TestGateway> = []
  const session = `switchyard-test-${randomUUID()}`

  beforeAll(async () => {
    upstream = await startMock(openAiJson())
    router = await startMockRouter()
  })

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()))
    await Promise.all([upstream.close(), router.close()])
    await redis.del(`plano:affinity:${session}`)
    await redis.zrem("plano:affinity:__lru", session)
  })

  const yaml = () => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: openai/gpt-4o-mini
    access_key: k
    base_url: ${upstream.url}
    default: true
  - model: openai/gpt-4o
    access_key: k
    base_url: ${upstream.url}
  - name: arch-router
    model: plano/Arch-Router
    base_url: ${router.url}
routing_preferences:
  - name: code_generation
    description: generating new code, writing functions
    models: [openai/gpt-4o]
  - name: complex_reasoning
    description: complex reasoning tasks
    models: [openai/gpt-4o-mini]
routing:
  router:
    type: llm
    model: arch-router
    timeout_ms: 1000
  session_cache:
    type: redis
    url: ${redisUrl}
`

  const chat = async (gateway: TestGateway, content: string) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-routing-session-id": session },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content }] })
    })
    await response.text()
    assert.strictEqual(response.status, 200)
    return { model: response.headers.get("x-routing-model"), pin: response.headers.get("x-routing-pin") }
  }

  it.live("a session routed on gateway A is a pin hit on gateway B", () =>
    Effect.promise(async () => {
      gateways.push(await startGateway(yaml()), await startGateway(yaml()))
      const [a, b] = gateways as [TestGateway, TestGateway]
      assert.deepStrictEqual(await chat(a, "Write a Python function that parses a CSV file."), {
        model: "openai/gpt-4o",
        pin: "created"
      })
      const routed = router.count()
      assert.deepStrictEqual(await chat(b, "Compare PostgreSQL and MongoDB and explain the trade-offs."), {
        model: "openai/gpt-4o",
        pin: "hit"
      })
      assert.strictEqual(router.count(), routed)
      const value = JSON.parse((await redis.get(`plano:affinity:${session}`)) ?? "{}") as Record<string, unknown>
      assert.deepStrictEqual([value["model_name"], value["route_name"], value["hits"]], [
        "openai/gpt-4o",
        "code_generation",
        1
      ])
    }))
})
