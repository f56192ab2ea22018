import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { StateUnavailable } from "../GatewayError.js"

/** One stored response: its id and the whole conversation up to and including its output, as Responses items. */
export interface StoredResponse {
  readonly id: string
  readonly items: ReadonlyArray<unknown>
}

/** Where `/v1/responses` conversation state lives (`state_storage`), for providers that do not keep it themselves. */
export class ConversationStore extends Context.Tag("switchyard/ConversationStore")<ConversationStore, {
  /** Which store this is; `none` when `state_storage` is not configured (nothing is stored or found). */
  readonly kind: "none" | "memory" | "postgres"
  /** The stored conversation of a response id, if held. */
  readonly get: (id: string) => Effect.Effect<Option.Option<StoredResponse>, StateUnavailable>
  /** Stores a response; completes only once it is durable in this store. */
  readonly put: (response: StoredResponse) => Effect.Effect<void, StateUnavailable>
}>() {}

/** No `state_storage`: nothing is stored, nothing is found. */
export const layerNone = Layer.succeed(ConversationStore, {
  kind: "none",
  get: () => Effect.succeed(Option.none()),
  put: () => Effect.void
})

/** Sizing of the memory store. */
export interface MemoryOptions {
  /** Capacity; storing at capacity evicts the least recently used response. */
  readonly maxEntries: number
  /** Time after its last use at which a stored response expires. */
  readonly ttlSeconds: number
  /** How often the background sweep removes expired responses. */
  readonly sweepIntervalSeconds: number
}

/** Defaults of the memory store. */
export const defaultMemoryOptions: MemoryOptions = { maxEntries: 10_000, ttlSeconds: 24 * 3600, sweepIntervalSeconds: 60 }

interface Entry {
  readonly response: StoredResponse
  readonly usedAt: number
}

/**
 * The memory store: a Map owned by a Ref (insertion order is recency order: a read re-inserts), so get, put and
 * eviction are O(1); expired entries are dropped on read and by a sweep fiber in the layer's scope.
 */
export const makeMemory = (options: Partial<MemoryOptions> = {}) =>
  Effect.gen(function*() {
    const { maxEntries, sweepIntervalSeconds, ttlSeconds } = { ...defaultMemoryOptions, ...options }
    const ttlMs = ttlSeconds * 1000
    const ref = yield* Ref.make(new Map<string, Entry>())

    const get = Effect.fn("ConversationStore.get")(function*(id: string) {
      const now = yield* Clock.currentTimeMillis
      return yield* Ref.modify(ref, (map) => {
        const entry = map.get(id)
        if (entry === undefined) return [Option.none<StoredResponse>(), map]
        map.delete(id)
        if (now - entry.usedAt > ttlMs) return [Option.none<StoredResponse>(), map]
        map.set(id, { response: entry.response, usedAt: now })
        return [Option.some(entry.response), map]
      })
    })

    const put = Effect.fn("ConversationStore.put")(function*(response: StoredResponse) {
      const now = yield* Clock.currentTimeMillis
      yield* Ref.update(ref, (map) => {
        map.delete(response.id)
        map.set(response.id, { response, usedAt: now })
        while (map.size > maxEntries) {
          const oldest = map.keys().next()
          if (oldest.done === true) break
          map.delete(oldest.value)
        }
        return map
      })
    })

    const sweep = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* Ref.update(ref, (map) => {
        // Recency order: the first live entry ends the scan.
        for (const [id, entry] of map) {
          if (now - entry.usedAt <= ttlMs) break
          map.delete(id)
        }
        return map
      })
    })
    yield* sweep.pipe(
      Effect.catchAllCause(Effect.logWarning),
      Effect.repeat(Schedule.spaced(Duration.seconds(sweepIntervalSeconds))),
      Effect.annotateLogs({ service: "ConversationStore" }),
      Effect.forkScoped
    )

    const size = Effect.map(Ref.get(ref), (map) => map.size)
    return { kind: "memory" as const, get, put, size }
  })

/** The memory store (bounded LRU + TTL). */
export const layerMemory = (options: Partial<MemoryOptions> = {}) =>
  Layer.scoped(ConversationStore, Effect.map(makeMemory(options), ({ get, kind, put }) => ({ kind, get, put })))
