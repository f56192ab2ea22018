import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { resilienceOf } from "../config/ConfigResilience.js"
import { GatewayConfig } from "../config/GatewayConfig.js"
import type { PinFailoverSettings } from "../config/GatewayConfig.js"
import { PinCache } from "../pinning/PinCache.js"

/** Why a pin moved: K consecutive failed pinned requests, or its model cooling down. */
export type MigrationReason = "consecutive_failures" | "cooling_down"

/** One move of a session pin to the model that served in its place. */
export interface Migration {
  readonly from: string
  readonly to: string
  readonly reason: MigrationReason
  /** Epoch ms. */
  readonly at: number
}

interface State {
  /** Consecutive pinned requests whose pinned model failed, per session key (absent = 0). */
  readonly streaks: Map<string, number>
  readonly history: Map<string, Array<Migration>>
}

// Both maps only hold sessions whose model failed; the bound keeps a failure storm over many sessions finite.
const maxSessions = 100_000
const maxHistory = 16

const bounded = <V>(map: Map<string, V>) => {
  if (map.size <= maxSessions) return
  const oldest = map.keys().next()
  if (oldest.done !== true) map.delete(oldest.value)
}

/**
 * The `migrate` policy's memory: consecutive failures of each pinned session and the history of its pin moves. A pin
 * moves once its model failed `afterFailures` pinned requests in a row, or at once while that model cools down, to the
 * model that served; a pinned request served by its own model resets the count, so a session changes model once
 * rather than flapping.
 */
export class PinFailover extends Effect.Service<PinFailover>()("switchyard/PinFailover", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const pins = yield* PinCache
    const settings: PinFailoverSettings = resilienceOf(config).pinFailover
    const clock = yield* Effect.clock
    const ref = yield* Ref.make<State>({ streaks: new Map(), history: new Map() })

    /** A pinned request was served by its pinned model. */
    const held = (key: string): Effect.Effect<void> =>
      Effect.flatMap(Ref.get(ref), (state) =>
        state.streaks.has(key)
          ? Ref.update(ref, (s) => {
            s.streaks.delete(key)
            return s
          })
          : Effect.void)

    /**
     * A pinned request's model failed. With `served`, another model answered in its place: the pin moves there once
     * the streak reaches `afterFailures` or right away when `pinnedCooling`. True when the pin moved.
     */
    const failed = (
      key: string,
      pinned: string,
      route: string | null,
      served: string | undefined,
      pinnedCooling: boolean
    ): Effect.Effect<boolean> =>
      Effect.flatMap(
        Ref.modify(ref, (state): [MigrationReason | undefined, State] => {
          const streak = (state.streaks.get(key) ?? 0) + 1
          const reason: MigrationReason | undefined = served === undefined
            ? undefined
            : pinnedCooling
            ? "cooling_down"
            : streak >= settings.afterFailures
            ? "consecutive_failures"
            : undefined
          if (reason === undefined) {
            state.streaks.set(key, streak)
            bounded(state.streaks)
            return [undefined, state]
          }
          state.streaks.delete(key)
          const history = state.history.get(key) ?? []
          history.push({ from: pinned, to: served!, reason, at: clock.unsafeCurrentTimeMillis() })
          if (history.length > maxHistory) history.shift()
          state.history.delete(key)
          state.history.set(key, history)
          bounded(state.history)
          return [reason, state]
        }),
        (reason) =>
          reason === undefined ? Effect.succeed(false) : Effect.as(
            Effect.zipRight(
              pins.put(key, { model: served!, route }),
              Effect.logInfo("session pin migrated").pipe(Effect.annotateLogs({ from: pinned, to: served!, reason }))
            ),
            true
          )
      )

    /** The pin moves of a session, oldest first (empty when it never moved). */
    const history = (key: string): Effect.Effect<ReadonlyArray<Migration>> =>
      Effect.map(Ref.get(ref), (state) => state.history.get(key) ?? [])

    return { held, failed, history, settings } as const
  })
}) {}
