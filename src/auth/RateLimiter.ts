import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { Redis } from "ioredis"
import { createHash } from "node:crypto"
import { GatewayConfig } from "../config/GatewayConfig.js"

/** One token bucket: `capacity` units, refilled evenly over `windowMs`. */
export interface Bucket {
  readonly key: string
  readonly capacity: number
  readonly windowMs: number
}

/** The answer for one take: allowed, or how long until `cost` units are available. */
export interface Outcome {
  readonly allowed: boolean
  readonly retryAfterMs: number
}

/** The shared store could not be asked (Redis down or slow). */
export class RateLimiterError extends Data.TaggedError("RateLimiterError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/** Token buckets for `ratelimits`: in memory (one process) or in Redis (shared by every replica). */
export class RateLimiter extends Context.Tag("switchyard/RateLimiter")<RateLimiter, {
  /** Takes `cost` units from the bucket if it holds them (atomically); otherwise takes nothing. */
  readonly take: (bucket: Bucket, cost: number) => Effect.Effect<Outcome, RateLimiterError>
  /** Whether the store answers (always true in memory). */
  readonly ping: Effect.Effect<boolean>
  readonly store: "memory" | "redis"
}>() {}

/** Requests rejected by a limit, by model: `switchyard_ratelimit_rejections_total`. */
export const rejections = Metric.counter("switchyard_ratelimit_rejections_total", {
  description: "Requests rejected with 429 by a ratelimits entry",
  incremental: true
})

/** Requests checked against at least one limit: `switchyard_ratelimit_checks_total`. */
export const checks = Metric.counter("switchyard_ratelimit_checks_total", {
  description: "Requests checked against ratelimits entries",
  incremental: true
})

/** Limit checks that could not reach the Redis store: `switchyard_ratelimit_store_errors_total`. */
export const storeErrors = Metric.counter("switchyard_ratelimit_store_errors_total", {
  description: "Rate-limit checks that failed to reach the Redis store",
  incremental: true
})

interface State {
  tokens: number
  updatedAt: number
}

/** The token-bucket step both stores run: refill for the time passed, then take `cost` if it is there. */
export const step = (state: State | undefined, bucket: Bucket, cost: number, now: number): [Outcome, State] => {
  const rate = bucket.capacity / bucket.windowMs
  const before = state === undefined
    ? bucket.capacity
    : Math.min(bucket.capacity, state.tokens + Math.max(0, now - state.updatedAt) * rate)
  if (before >= cost) return [{ allowed: true, retryAfterMs: 0 }, { tokens: before - cost, updatedAt: now }]
  return [{ allowed: false, retryAfterMs: Math.ceil((cost - before) / rate) }, { tokens: before, updatedAt: now }]
}

/** Buckets in a Map owned by a `Ref`; full buckets are swept every `sweepEvery` so idle selectors cost nothing. */
export const makeMemory = (sweepEvery: Duration.DurationInput = "1 minute") =>
  Effect.gen(function*() {
    const buckets = yield* Ref.make(new Map<string, State & { readonly bucket: Bucket }>())
    const clock = yield* Effect.clock
    yield* Effect.gen(function*() {
      const now = yield* clock.currentTimeMillis
      yield* Ref.update(buckets, (map) => {
        for (const [key, entry] of map) {
          if (step(entry, entry.bucket, 0, now)[1].tokens >= entry.bucket.capacity) map.delete(key)
        }
        return map
      })
    }).pipe(
      Effect.catchAllCause(Effect.logWarning),
      Effect.repeat(Schedule.spaced(sweepEvery)),
      Effect.annotateLogs({ service: "RateLimiter" }),
      Effect.forkScoped
    )
    const take = (bucket: Bucket, cost: number) =>
      Effect.flatMap(clock.currentTimeMillis, (now) =>
        Ref.modify(buckets, (map) => {
          const [outcome, next] = step(map.get(bucket.key), bucket, cost, now)
          map.set(bucket.key, { ...next, bucket })
          return [outcome, map]
        }))
    return RateLimiter.of({ take, ping: Effect.succeed(true), store: "memory" })
  })

/** One process's buckets, in memory. */
export const layerMemory: Layer.Layer<RateLimiter> = Layer.scoped(RateLimiter, makeMemory())

// Redis's own clock, so replicas with skewed clocks share one timeline.
const takeScript = `
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = capacity / window
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
elseif now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
end
local wait = 0
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], window)
return {allowed, wait}
`
const takeSha = createHash("sha1").update(takeScript).digest("hex")

/** Options of the Redis store. */
export interface RedisOptions {
  readonly url: string
  /** Key prefix (default `switchyard:ratelimit:`). */
  readonly keyPrefix?: string | undefined
  readonly commandTimeoutMs?: number | undefined
}

/**
 * Buckets in Redis, one hash per bucket updated by a Lua script (refill and take in one atomic step), so every replica
 * on the same Redis enforces one limit. Unlike the pin store it starts even when Redis is down: whether that fails
 * requests or lets them through is the caller's `fail_open` choice.
 */
export const makeRedis = (options: RedisOptions) =>
  Effect.gen(function*() {
    const prefix = options.keyPrefix ?? "switchyard:ratelimit:"
    const { Redis: RedisClient } = yield* Effect.promise(() => import("ioredis"))
    const client = yield* Effect.acquireRelease(
      Effect.sync((): Redis => {
        const redis = new RedisClient(options.url, {
          lazyConnect: true,
          connectTimeout: 2000,
          commandTimeout: options.commandTimeoutMs ?? 500,
          // Fail at once while disconnected: a limit check must never hold a request in a queue.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0
        })
        redis.on("error", () => {})
        return redis
      }),
      (redis) =>
        Effect.tryPromise(() => redis.quit()).pipe(
          Effect.timeout("1 second"),
          Effect.ignore,
          Effect.ensuring(Effect.sync(() => redis.disconnect()))
        )
    )
    yield* Effect.tryPromise(() => client.connect()).pipe(
      Effect.timeout("3 seconds"),
      Effect.catchAllCause(() => Effect.logWarning("Redis for rate limits is unreachable at start; will keep trying")),
      Effect.annotateLogs({ service: "RateLimiter" })
    )
    const run = (keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) =>
      client.evalsha(takeSha, keys.length, ...keys, ...args).catch((error: unknown) =>
        error instanceof Error && error.message.startsWith("NOSCRIPT")
          ? client.eval(takeScript, keys.length, ...keys, ...args)
          : Promise.reject(error)
      )
    const take = (bucket: Bucket, cost: number) =>
      Effect.tryPromise({
        try: () => run([prefix + bucket.key], [bucket.capacity, bucket.windowMs, cost]),
        catch: (cause) => new RateLimiterError({ reason: cause instanceof Error ? cause.message : String(cause) })
      }).pipe(
        Effect.map((reply): Outcome => {
          const [allowed, wait] = Array.isArray(reply) ? reply : [1, 0]
          return { allowed: Number(allowed) === 1, retryAfterMs: Number(wait) }
        }),
        Effect.tapError(() => Effect.sync(() => storeErrors.unsafeUpdate(1, [])))
      )
    const ping = Effect.tryPromise(() => client.ping()).pipe(
      Effect.timeout("1 second"),
      Effect.as(true),
      Effect.orElseSucceed(() => false)
    )
    return RateLimiter.of({ take, ping, store: "redis" })
  })

/** Buckets in Redis (`url`), shared by every gateway on it. */
export const layerRedis = (options: RedisOptions): Layer.Layer<RateLimiter> =>
  Layer.scoped(RateLimiter, makeRedis(options))

/** Redis when `routing.session_cache` is a Redis store (its health then also decides `/readyz`); otherwise memory. */
export const layerConfig: Layer.Layer<RateLimiter, never, GatewayConfig> = Layer.unwrapEffect(
  Effect.map(GatewayConfig, (config) => {
    const store = config.routing.sessionStore
    return store?.type === "redis"
      ? layerRedis({ url: store.url })
      : layerMemory
  })
)
