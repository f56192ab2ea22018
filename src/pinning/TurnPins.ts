import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { GatewayConfig } from "../config/GatewayConfig.js"
import * as PinCache from "./PinCache.js"
import * as PinCacheRedis from "./PinCacheRedis.js"

/**
 * Turn pins: which model a conversation turn started on, for requests that continue the turn without a session id.
 * A pin store of its own (its own TTL and capacity share; in Redis its own key namespace and LRU set), so short-lived
 * turn entries never evict session pins.
 */
export class TurnPins extends Context.Tag("switchyard/TurnPins")<TurnPins, PinCache.PinCacheService>() {}

/** `routing.turn_ttl_seconds` default. */
export const defaultTtlSeconds = 300

/** Turn pins get a quarter of the session capacity (at least 100). */
export const capacityOf = (sessionMaxEntries: number): number => Math.max(100, Math.ceil(sessionMaxEntries / 4))

/** The Redis key prefix of turn pins for a session key prefix. */
export const keyPrefixOf = (sessionPrefix: string | undefined): string =>
  `${sessionPrefix ?? "switchyard:"}__turn:`

/** Turn pins in memory with the given TTL and capacity. */
export const layerMemory = (options: Partial<PinCache.PinCacheOptions> = {}): Layer.Layer<TurnPins> =>
  Layer.scoped(TurnPins, PinCache.make({ ttlSeconds: defaultTtlSeconds, maxEntries: 1000, reportMetrics: false, ...options })).pipe(
    Layer.orDie
  )

/** Turn pins beside the configured session store: in Redis when sessions are, else in memory. */
export const layerConfig: Layer.Layer<TurnPins, PinCache.PinCacheError, GatewayConfig> = Layer.scoped(
  TurnPins,
  Effect.gen(function*() {
    const { routing } = yield* GatewayConfig
    const ttlSeconds = routing.turnTtlSeconds ?? defaultTtlSeconds
    const maxEntries = capacityOf(routing.sessionMaxEntries)
    const store = routing.sessionStore
    if (routing.turnAffinity === false) return yield* PinCache.make({ ttlSeconds, maxEntries: 1, reportMetrics: false })
    if (store?.type === "redis") {
      const keyPrefix = keyPrefixOf(store.keyPrefix)
      return yield* PinCacheRedis.make({
        url: store.url,
        ttlSeconds,
        maxEntries,
        keyPrefix,
        reportMetrics: false,
        commandTimeoutMs: store.commandTimeoutMs
      })
    }
    return yield* PinCache.make({
      ttlSeconds,
      maxEntries,
      sweepIntervalSeconds: Math.min(60, ttlSeconds),
      reportMetrics: false
    })
  })
)
