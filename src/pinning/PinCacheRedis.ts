import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import { GatewayConfig } from "../config/GatewayConfig.js"
import * as PinCache from "./PinCache.js"
import type { ListOptions, Pin, PinCacheService, PinCounter, PinListItem, PinPage, PinTarget } from "./PinCache.js"
import { recordPinStoreError } from "../observability/GatewayMetrics.js"
import { getScript, listScript, putScript, type Script, sizeScript } from "./PinCacheRedisScripts.js"

/** Where and how the Redis pin store keeps its pins. */
export interface PinCacheRedisOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  readonly url: string
  /** Idle time after which a pin expires (refreshed by every `get`). */
  readonly ttlSeconds: number
  /** Capacity shared by every replica; a new pin beyond it evicts the least recently used ones. */
  readonly maxEntries: number
  /** Prefix of every key (Plano's is the default, so both read each other's pins). */
  readonly keyPrefix?: string | undefined
  /** How long one command may take before it counts as failed and the request goes on without its pin (250 ms). */
  readonly commandTimeoutMs?: number | undefined
  /** After a failure, Redis is skipped (lookups miss, writes drop) for this long, then tried again (5 s). */
  readonly retryAfterMs?: number | undefined
  /** Whether its counters feed the `switchyard_pins_*` metrics (false for stores that are not session pins). */
  readonly reportMetrics?: boolean | undefined
}

/** Plano's Redis key prefix (`plano:affinity:{tenant:}{session_id}`). */
export const defaultKeyPrefix = "plano:affinity:"

const connectTimeout = Duration.seconds(5)
// A request waits at most this long on a stuck Redis before the lookup counts as a miss; then the breaker opens.
const defaultCommandTimeoutMs = 250
const defaultRetryAfterMs = 5000
const warnEveryMillis = 10_000

/** Hides the password of a Redis URL, for logs and errors. */
export const maskUrl = (url: string): string => url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/i, "$1***@")

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const finite = (u: unknown): number | undefined => typeof u === "number" && Number.isFinite(u) ? u : undefined

/** Reads a stored value: ours, or Plano's (`model_name`/`route_name`, or HEAD's `anchor_model`); else undefined. */
export const decodeValue = (raw: string, now: number): Pin | undefined => {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return undefined
  }
  if (!isRecord(value)) return undefined
  const model = typeof value["model_name"] === "string"
    ? value["model_name"]
    : typeof value["anchor_model"] === "string"
    ? value["anchor_model"]
    : undefined
  if (model === undefined) return undefined
  const lastUsedAt = finite(value["last_used_at"]) ?? now
  const pin: Pin = {
    model,
    route: typeof value["route_name"] === "string" ? value["route_name"] : null,
    createdAt: finite(value["created_at"]) ?? lastUsedAt,
    lastUsedAt,
    hits: finite(value["hits"]) ?? 0
  }
  const [generation, provider, modelId] = [finite(value["generation"]), value["provider"], value["model_id"]]
  return generation !== undefined && typeof provider === "string" && typeof modelId === "string"
    ? { ...pin, origin: { generation, provider, modelId } }
    : pin
}

/** The stored JSON of a pin (Plano's fields plus ours; times in epoch milliseconds). */
export const encodeValue = (pin: Pin): string =>
  JSON.stringify({
    model_name: pin.model,
    route_name: pin.route,
    created_at: pin.createdAt,
    last_used_at: pin.lastUsedAt,
    hits: pin.hits,
    ...(pin.origin === undefined
      ? {}
      : { generation: pin.origin.generation, provider: pin.origin.provider, model_id: pin.origin.modelId })
  })

const encodeCursor = (score: string, member: string): string =>
  Buffer.from(JSON.stringify([score, member])).toString("base64url")

const decodeCursor = (cursor: string): readonly [string, string] | undefined => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (
      Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === "string" &&
      /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(parsed[0]) && typeof parsed[1] === "string"
    ) return [parsed[0], parsed[1]]
  } catch {
    return undefined
  }
  return undefined
}

const clampLimit = (limit: number | undefined): number =>
  limit === undefined || Number.isNaN(limit) ? 100 : Math.min(1000, Math.max(1, Math.floor(limit)))

const toNumber = (u: unknown): number => typeof u === "number" ? u : Number(u)

type Counters = Record<PinCounter, number>

/**
 * A pin store in Redis, shared by every gateway replica that uses the same Redis and prefix. Keys and values follow
 * Plano's session cache; LRU order lives in the sorted set `{prefix}__lru`. Redis errors after start fail open: a
 * failed lookup is a miss, a failed write is logged and dropped. Fails with `PinCacheError` when Redis is unreachable
 * at start (5 s).
 */
export const make = (
  options: PinCacheRedisOptions
): Effect.Effect<PinCacheService, PinCache.PinCacheError, Scope.Scope> =>
  Effect.gen(function*() {
    const { maxEntries, ttlSeconds } = yield* PinCache.validateOptions({
      ttlSeconds: options.ttlSeconds,
      maxEntries: options.maxEntries
    })
    const prefix = options.keyPrefix ?? defaultKeyPrefix
    const lru = `${prefix}__lru`
    const ttlMillis = ttlSeconds * 1000
    const where = maskUrl(options.url)
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const commandTimeoutMs = options.commandTimeoutMs ?? defaultCommandTimeoutMs
    const retryAfterMs = options.retryAfterMs ?? defaultRetryAfterMs

    // Loaded only when a Redis store is configured: the in-memory default should not pay for the client's modules.
    const { Redis: RedisClient } = yield* Effect.promise(() => import("ioredis"))
    const client = yield* Effect.acquireRelease(
      Effect.sync((): Redis => {
        const redis = new RedisClient(options.url, {
          lazyConnect: true,
          connectTimeout: Duration.toMillis(connectTimeout),
          commandTimeout: commandTimeoutMs,
          // Fail at once while disconnected instead of queueing: a pin lookup must never hold up a request.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0
        })
        // Errors surface (and are logged) through the commands that hit them; this only keeps the
        // reconnect loop's events from reaching ioredis's console fallback.
        redis.on("error", () => {})
        return redis
      }),
      (redis) =>
        Effect.tryPromise(() => redis.quit()).pipe(
          Effect.timeout(Duration.seconds(1)),
          Effect.ignore,
          Effect.ensuring(Effect.sync(() => redis.disconnect()))
        )
    )
    yield* Effect.tryPromise({
      try: () => client.connect(),
      catch: (cause) =>
        new PinCache.PinCacheError({
          reason: `cannot connect to Redis at ${where}: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause
        })
    }).pipe(
      Effect.timeoutFail({
        duration: connectTimeout,
        onTimeout: () => new PinCache.PinCacheError({ reason: `cannot connect to Redis at ${where}: timed out` })
      })
    )

    const counters = yield* Ref.make<Counters>({ hits: 0, misses: 0, creations: 0, evictions: 0, expirations: 0 })
    const count = (counter: PinCounter, n: number) =>
      n === 0 ? Effect.void : Effect.zipRight(
        Ref.update(counters, (c) => ({ ...c, [counter]: c[counter] + n })),
        options.reportMetrics === false ? Effect.void : Effect.sync(() => PinCache.metrics[counter].unsafeUpdate(n, []))
      )

    // One warning per interval: while Redis is down every request fails over, and each would log otherwise.
    const lastWarning = yield* Ref.make({ at: Number.NEGATIVE_INFINITY, suppressed: 0 })
    const warn = (operation: string) => (error: unknown) =>
      Effect.gen(function*() {
        recordPinStoreError("redis", operation)
        const at = now()
        const suppressed = yield* Ref.modify(lastWarning, (last) =>
          at - last.at >= warnEveryMillis
            ? [last.suppressed, { at, suppressed: 0 }]
            : [-1, { at: last.at, suppressed: last.suppressed + 1 }])
        if (suppressed < 0) return
        yield* Effect.logWarning("Redis session cache unavailable; failing open").pipe(
          Effect.annotateLogs({
            service: "PinCacheRedis",
            operation,
            redis: where,
            error: error instanceof Error ? error.message : String(error),
            suppressed
          })
        )
      })

    // The breaker: while Redis is known to be down (a command failed less than `retryAfterMs` ago) commands fail at
    // once, so a stalled Redis costs one command timeout per interval, not one (or two) per request.
    const skipUntil = yield* Ref.make(0)
    const skipped = new Error(`skipped: Redis failed in the last ${retryAfterMs} ms`)

    // Keeps ioredis's own error (not an UnknownException around it), so the warning names what went wrong.
    const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, unknown> =>
      Effect.flatMap(Ref.get(skipUntil), (until) =>
        until > now()
          ? Effect.fail(skipped)
          : Effect.tryPromise({ try: f, catch: (cause) => cause }).pipe(
            Effect.tapBoth({
              onFailure: () => Ref.set(skipUntil, now() + retryAfterMs),
              onSuccess: () => until === 0 ? Effect.void : Ref.set(skipUntil, 0)
            })
          ))

    const run = (s: Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) =>
      attempt(() =>
        client.evalsha(s.sha, keys.length, ...keys, ...args).catch((error: unknown) =>
          error instanceof Error && error.message.startsWith("NOSCRIPT")
            ? client.eval(s.lua, keys.length, ...keys, ...args)
            : Promise.reject(error)
        )
      )

    const dataKey = (key: string) => prefix + key.replaceAll("\u0001", ":")

    // get and put run on every pinned request: no span, as in the memory store.
    const get = (key: string): Effect.Effect<Option.Option<Pin>> => {
      const at = now()
      return run(getScript, [dataKey(key), lru], [at, ttlSeconds, key]).pipe(
        Effect.map((raw) => typeof raw === "string" ? decodeValue(raw, at) : undefined),
        Effect.tapError(warn("get")),
        Effect.orElseSucceed(() => undefined),
        Effect.tap((pin) => count(pin === undefined ? "misses" : "hits", 1)),
        Effect.map(Option.fromNullable)
      )
    }

    const put = (key: string, target: PinTarget): Effect.Effect<Pin> => {
      const at = now()
      const base: Pin = { model: target.model, route: target.route, createdAt: at, lastUsedAt: at, hits: 0 }
      const pin: Pin = target.origin === undefined ? base : { ...base, origin: target.origin }
      return run(putScript, [dataKey(key), lru], [
        at,
        ttlSeconds,
        key,
        encodeValue(pin),
        at - ttlMillis,
        maxEntries,
        prefix,
        target.origin?.generation ?? ""
      ]).pipe(
        Effect.flatMap((result) => {
          if (!Array.isArray(result)) return Effect.as(count("creations", 1), pin)
          const kept = typeof result[2] === "string" ? decodeValue(result[2], at) : undefined
          return Effect.as(
            Effect.all([
              count("creations", kept === undefined ? 1 : 0),
              count("evictions", toNumber(result[0])),
              count("expirations", toNumber(result[1]))
            ]),
            kept ?? pin
          )
        }),
        Effect.catchAll((error) => Effect.as(warn("put")(error), pin))
      )
    }

    const peek = Effect.fn("PinCacheRedis.peek")((key: string) =>
      attempt(() => client.get(dataKey(key))).pipe(
        Effect.map((raw) => Option.fromNullable(raw === null ? undefined : decodeValue(raw, now()))),
        Effect.tapError(warn("peek")),
        Effect.orElseSucceed(() => Option.none<Pin>())
      )
    )

    const remove = Effect.fn("PinCacheRedis.remove")((key: string) =>
      attempt(() => client.multi().del(dataKey(key)).zrem(lru, key).exec()).pipe(
        Effect.map((results) => results?.[0]?.[1] === 1),
        Effect.tapError(warn("remove")),
        Effect.orElseSucceed(() => false)
      )
    )

    const list = Effect.fn("PinCacheRedis.list")((options: ListOptions) => {
      const limit = clampLimit(options.limit)
      const after = options.cursor === undefined ? (["-inf", ""] as const) : decodeCursor(options.cursor)
      if (after === undefined) return Effect.succeed<PinPage>({ items: [], nextCursor: undefined })
      const at = now()
      return run(listScript, [lru], [prefix, after[0], after[1], limit + 1, at - ttlMillis]).pipe(
        Effect.flatMap((raw) => {
          const rows = Array.isArray(raw) ? raw : []
          const items: Array<PinListItem & { readonly score: string }> = []
          for (let i = 1; i + 3 < rows.length; i += 4) {
            const [key, score, value, pttl] = [rows[i], rows[i + 1], rows[i + 2], rows[i + 3]]
            if (typeof key !== "string" || typeof score !== "string" || typeof value !== "string") continue
            const pin = decodeValue(value, at)
            if (pin === undefined) continue
            const left = toNumber(pttl)
            items.push({ key, pin, expiresAt: left >= 0 ? at + left : pin.lastUsedAt + ttlMillis, score })
          }
          const page = items.slice(0, limit).map(({ expiresAt, key, pin }) => ({ key, pin, expiresAt }))
          const last = items[limit - 1]
          const nextCursor = items.length > limit && last !== undefined ? encodeCursor(last.score, last.key) : undefined
          return Effect.as(count("expirations", toNumber(rows[0] ?? 0)), { items: page, nextCursor })
        }),
        Effect.tapError(warn("list")),
        Effect.orElseSucceed((): PinPage => ({ items: [], nextCursor: undefined }))
      )
    })

    const size: Effect.Effect<number> = Effect.suspend(() => run(sizeScript, [lru], [now() - ttlMillis])).pipe(
      Effect.flatMap((raw) =>
        Array.isArray(raw) ? Effect.as(count("expirations", toNumber(raw[0])), toNumber(raw[1])) : Effect.succeed(0)
      ),
      Effect.tapError(warn("size")),
      Effect.orElseSucceed(() => 0)
    )

    const stats = Effect.gen(function*() {
      const current = yield* size
      const c = yield* Ref.get(counters)
      return { ...c, routerCallsSaved: c.hits, size: current, capacity: maxEntries, ttlSeconds }
    })

    return {
      get,
      peek,
      put,
      remove,
      list,
      size,
      stats,
      expiresAt: (pin: Pin) => pin.lastUsedAt + ttlMillis
    } as const
  })

/** The Redis pin store (a client for the layer's lifetime; `PinCacheError` when Redis is unreachable at start). */
export const layer = (options: PinCacheRedisOptions): Layer.Layer<PinCache.PinCache, PinCache.PinCacheError> =>
  Layer.scoped(PinCache.PinCache, make(options))

/** The pin store the loaded config asks for: Redis for `routing.session_cache.type: redis`, else in memory. */
export const layerConfig: Layer.Layer<PinCache.PinCache, PinCache.PinCacheError, GatewayConfig> = Layer.scoped(
  PinCache.PinCache,
  Effect.gen(function*() {
    const { routing } = yield* GatewayConfig
    const store = routing.sessionStore
    if (store?.type === "redis") {
      const { sessionMaxEntries: maxEntries, sessionTtlSeconds: ttlSeconds } = routing
      return yield* make({
        url: store.url,
        ttlSeconds,
        maxEntries,
        commandTimeoutMs: store.commandTimeoutMs,
        keyPrefix: store.keyPrefix
      })
    }
    return yield* PinCache.make({
      ttlSeconds: routing.sessionTtlSeconds,
      maxEntries: routing.sessionMaxEntries,
      sweepIntervalSeconds: routing.sessionSweepIntervalSeconds
    })
  })
)
