import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { GatewayConfig } from "../config/GatewayConfig.js"
import type { Pin, PinCounter, PinOrigin, PinPage, PinTarget } from "./PinStore.js"
import { PinStore } from "./PinStore.js"

export { PinStore } from "./PinStore.js"
export type { Pin, PinCounter, PinListItem, PinOrigin, PinPage, PinTarget } from "./PinStore.js"

/** Sizing of the in-memory pin cache. */
export interface PinCacheOptions {
  /** Idle time after which a pin expires (refreshed by every `get`). */
  readonly ttlSeconds: number
  /** Capacity; inserting a new session at capacity evicts the least recently used pin. */
  readonly maxEntries: number
  /** How often the background sweep removes expired pins. */
  readonly sweepIntervalSeconds: number
  /** Whether its counters feed the `switchyard_pins_*` metrics (false for stores that are not session pins). */
  readonly reportMetrics?: boolean | undefined
}

/** Plano's defaults (`session_ttl_seconds`, `session_max_entries`) and our sweep interval. */
export const defaultOptions: PinCacheOptions = { ttlSeconds: 600, maxEntries: 10_000, sweepIntervalSeconds: 60 }

/** The largest accepted `maxEntries`. */
export const maxEntriesLimit = 10_000_000

/** A page request of `list`; `limit` is clamped to 1..1000 (default 100). */
export interface ListOptions {
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

/** Counters since start, plus the current size and sizing. */
export interface PinCacheStats {
  readonly hits: number
  readonly misses: number
  readonly creations: number
  readonly evictions: number
  readonly expirations: number
  /** Requests answered from a pin instead of the router (= hits). */
  readonly routerCallsSaved: number
  /** Pins held, including expired ones the next sweep will remove. */
  readonly size: number
  readonly capacity: number
  readonly ttlSeconds: number
}

/** Invalid cache options, or a failure of a non-memory backend (such backends fail open: a failed read is a miss). */
export class PinCacheError extends Data.TaggedError("PinCacheError")<{
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message() {
    return this.reason
  }
}

/** The session pin store. Swap it (e.g. for a shared store) with another layer of this tag. */
export class PinCache extends Context.Tag("switchyard/PinCache")<PinCache, {
  /** Returns the live pin and refreshes it (`lastUsedAt = now`, `hits + 1`, most recently used). */
  readonly get: (key: string) => Effect.Effect<Option.Option<Pin>>
  /** Returns the live pin without refreshing it (for the admin API). */
  readonly peek: (key: string) => Effect.Effect<Option.Option<Pin>>
  /** Pins a session (a new pin: `createdAt = now`, `hits = 0`), replacing any previous pin of that key. */
  readonly put: (key: string, target: PinTarget) => Effect.Effect<Pin>
  /** Revokes a pin; false when there was no live pin. */
  readonly remove: (key: string) => Effect.Effect<boolean>
  /**
   * Live pins in the order their keys were first pinned (oldest first; re-pinning keeps the place), so paging under
   * concurrent writes never repeats or skips a pin that stays live. The cursor is opaque; an unreadable one gives an
   * empty last page.
   */
  readonly list: (options: ListOptions) => Effect.Effect<PinPage>
  readonly size: Effect.Effect<number>
  readonly stats: Effect.Effect<PinCacheStats>
  /** When the pin expires unless it is used again. */
  readonly expiresAt: (pin: Pin) => number
}>() {}

/** The service shape of `PinCache`. */
export type PinCacheService = Context.Tag.Service<PinCache>

/** Effect metrics mirroring the store counters, for export. */
export const metrics: Readonly<Record<PinCounter, Metric.Metric.Counter<number>>> = {
  hits: Metric.counter("switchyard_pins_hits", { description: "Requests served by a session pin", incremental: true }),
  misses: Metric.counter("switchyard_pins_misses", {
    description: "Session lookups without a live pin",
    incremental: true
  }),
  creations: Metric.counter("switchyard_pins_creations", { description: "Session pins created", incremental: true }),
  evictions: Metric.counter("switchyard_pins_evictions", {
    description: "Live pins evicted at capacity (least recently used)",
    incremental: true
  }),
  expirations: Metric.counter("switchyard_pins_expirations", {
    description: "Pins removed after their idle TTL",
    incremental: true
  })
}

/**
 * The pin a decided `put` must leave in place: one of the same or a newer config generation (a replica on an older
 * config never overwrites a newer one's pin, and of two equal ones the first written wins).
 */
export const keepNewer = (existing: Pin | undefined, origin: PinOrigin): Pin | undefined =>
  existing?.origin !== undefined && existing.origin.generation >= origin.generation ? existing : undefined

const clampLimit = (limit: number | undefined): number =>
  limit === undefined || Number.isNaN(limit) ? 100 : Math.min(1000, Math.max(1, Math.floor(limit)))

// Bounds the time one sweep step holds the event loop when many pins expire together.
const sweepBatch = 10_000

/** Checks options (filling defaults): `maxEntries` 1..10,000,000, `ttlSeconds` ≥ 1, `sweepIntervalSeconds` > 0. */
export const validateOptions = (
  options: Partial<PinCacheOptions> = {}
): Effect.Effect<PinCacheOptions, PinCacheError> => {
  const resolved = { ...defaultOptions, ...options }
  const { maxEntries, sweepIntervalSeconds, ttlSeconds } = resolved
  if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > maxEntriesLimit) {
    return Effect.fail(
      new PinCacheError({ reason: `maxEntries must be an integer from 1 to ${maxEntriesLimit}, got ${maxEntries}` })
    )
  }
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 1) {
    return Effect.fail(new PinCacheError({ reason: `ttlSeconds must be at least 1, got ${ttlSeconds}` }))
  }
  if (!Number.isFinite(sweepIntervalSeconds) || sweepIntervalSeconds <= 0) {
    return Effect.fail(
      new PinCacheError({ reason: `sweepIntervalSeconds must be a positive number, got ${sweepIntervalSeconds}` })
    )
  }
  return Effect.succeed(resolved)
}

/** The in-memory pin cache; its expiry sweep runs until the scope closes. */
export const make = (
  options: Partial<PinCacheOptions> = {}
): Effect.Effect<PinCacheService, PinCacheError, Scope.Scope> =>
  Effect.gen(function*() {
    const { maxEntries, reportMetrics, sweepIntervalSeconds, ttlSeconds } = yield* validateOptions(options)
    const clock = yield* Effect.clock
    const ref = yield* Ref.make(
      new PinStore(
        { maxEntries, ttlSeconds },
        reportMetrics === false ? () => {} : (counter, n) => metrics[counter].unsafeUpdate(n, [])
      )
    )
    const now = () => clock.unsafeCurrentTimeMillis()
    const ttlMillis = ttlSeconds * 1000

    // get and put run on every proxied request: no span, which would cost several times the lookup itself.
    const get = (key: string) => Ref.modify(ref, (store) => [Option.fromNullable(store.get(key, now())), store])
    const put = (key: string, target: PinTarget) =>
      Ref.modify(ref, (store) => {
        const kept = target.origin === undefined ? undefined : keepNewer(store.peek(key, now()), target.origin)
        return [kept ?? store.put(key, target, now()), store]
      })
    const peek = Effect.fn("PinCache.peek")((key: string) =>
      Ref.modify(ref, (store) => [Option.fromNullable(store.peek(key, now())), store])
    )
    const remove = Effect.fn("PinCache.remove")((key: string) =>
      Ref.modify(ref, (store) => [store.remove(key, now()), store])
    )
    const list = Effect.fn("PinCache.list")((options: ListOptions) =>
      Ref.modify(ref, (store) => [store.list(clampLimit(options.limit), options.cursor, now()), store])
    )
    const size = Ref.modify(ref, (store) => [store.size, store])
    const stats = Ref.modify(ref, (store): [PinCacheStats, PinStore] => [{
      hits: store.hits,
      misses: store.misses,
      creations: store.creations,
      evictions: store.evictions,
      expirations: store.expirations,
      routerCallsSaved: store.hits,
      size: store.size,
      capacity: maxEntries,
      ttlSeconds
    }, store])

    const sweepStep = Ref.modify(ref, (store) => [store.sweep(now(), sweepBatch), store])
    const sweep = Effect.gen(function*() {
      let removed = 0
      let step = sweepBatch
      while (step === sweepBatch) {
        step = yield* sweepStep
        removed += step
        if (step === sweepBatch) yield* Effect.yieldNow()
      }
      if (removed > 0) {
        const remaining = yield* size
        yield* Effect.logInfo("removed expired session pins").pipe(Effect.annotateLogs({ removed, remaining }))
      }
    })
    yield* sweep.pipe(
      Effect.catchAllCause(Effect.logWarning),
      Effect.repeat(Schedule.spaced(Duration.seconds(sweepIntervalSeconds))),
      Effect.annotateLogs({ service: "PinCache" }),
      Effect.forkScoped
    )

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

/** The in-memory pin cache with the given options (defaults: 600 s idle TTL, 10,000 pins, sweep every 60 s). */
export const layer = (options: Partial<PinCacheOptions> = {}): Layer.Layer<PinCache, PinCacheError> =>
  Layer.scoped(PinCache, make(options))

/** The in-memory pin cache sized by `routing.session_*` of the loaded config. */
export const layerConfig: Layer.Layer<PinCache, never, GatewayConfig> = Layer.scoped(
  PinCache,
  Effect.gen(function*() {
    const { routing } = yield* GatewayConfig
    return yield* make({
      ttlSeconds: routing.sessionTtlSeconds,
      maxEntries: routing.sessionMaxEntries,
      sweepIntervalSeconds: routing.sessionSweepIntervalSeconds
    })
  }).pipe(Effect.orDie)
)

/** A small in-memory pin cache for tests of other services (100 pins unless overridden). */
export const layerTest = (options: Partial<PinCacheOptions> = {}): Layer.Layer<PinCache> =>
  layer({ maxEntries: 100, ...options }).pipe(Layer.orDie)
