import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Ref from "effect/Ref"
import { resilienceOf } from "../config/ConfigResilience.js"
import { GatewayConfig } from "../config/GatewayConfig.js"
import type { CooldownSettings } from "../config/GatewayConfig.js"
import type { ModelTarget } from "./Providers.js"

/** Where a target stands: serving, skipped until its cooldown ends, or letting one probe request through. */
export type CooldownState = "available" | "cooling" | "half_open"

/** One target's cooldown state, as `GET /admin/v1/targets` shows it. */
export interface TargetStatus {
  readonly name: string
  readonly provider: string
  readonly model: string
  readonly state: CooldownState
  /** Failures counted in the current window. */
  readonly recentFailures: number
  /** When the cooldown ends (epoch ms); undefined unless cooling. */
  readonly coolingUntil: number | undefined
}

interface Tracked {
  readonly provider: string
  readonly model: string
  failures: Array<number>
  /** 0 = not cooled down. */
  coolingUntil: number
  /** When the half-open probe was let through; 0 = none yet. */
  probeAt: number
}

/** 1 while a target is cooling down or half-open, 0 while it serves; labelled by provider and model. */
export const cooldownGauge = Metric.gauge("switchyard_target_cooldown", {
  description: "1 while a target is skipped after repeated failures (cooling down or half-open), else 0"
})

const labels = (provider: string, model: string) => [
  MetricLabel.make("provider", provider),
  MetricLabel.make("model", model)
]

const stateOf = (entry: Tracked, now: number): CooldownState =>
  entry.coolingUntil === 0 ? "available" : now < entry.coolingUntil ? "cooling" : "half_open"

/**
 * Per-target failure counts and cooldowns, one state per target per process: `failures` failures within
 * `windowSeconds` take a target out of rotation for `cooldownSeconds`, after which one probe request decides whether
 * it serves again. Targets that never failed have no entry, so the success path only looks up a missing key.
 */
export class Cooldowns extends Effect.Service<Cooldowns>()("switchyard/Cooldowns", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const settings: CooldownSettings = resilienceOf(config).cooldown
    const windowMs = settings.windowSeconds * 1000
    const cooldownMs = settings.cooldownSeconds * 1000
    // A probe that never reports back (its client went away) must not hold the target half-open forever.
    const probeTimeoutMs = config.listener.timeoutMs
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const tracked = new Map<string, Tracked>()
    const ref = yield* Ref.make(tracked)

    for (const p of config.providers) {
      if (!p.wildcard) cooldownGauge.unsafeUpdate(0, labels(p.provider, p.modelId))
    }
    const gauge = (entry: Tracked, value: number) =>
      Effect.sync(() => cooldownGauge.unsafeUpdate(value, labels(entry.provider, entry.model)))

    /** True when a request may go to the target now; past a cooldown, only the first caller (the probe) may. */
    const admit = (target: ModelTarget): Effect.Effect<boolean> =>
      Effect.flatMap(Ref.get(ref), (tracked) => {
        const entry = tracked.get(target.name)
        if (entry === undefined || entry.coolingUntil === 0) return Effect.succeed(true)
        return Ref.modify(ref, (map) => {
          const at = now()
          if (at < entry.coolingUntil) return [false, map]
          if (entry.probeAt !== 0 && at - entry.probeAt < probeTimeoutMs) return [false, map]
          entry.probeAt = at
          return [true, map]
        })
      })

    /** True while the target is cooling down (not yet half-open). */
    const cooling = (target: ModelTarget): Effect.Effect<boolean> =>
      Effect.map(Ref.get(ref), (tracked) => {
        const entry = tracked.get(target.name)
        return entry !== undefined && entry.coolingUntil !== 0 && now() < entry.coolingUntil
      })

    /** Counts a failure before the first byte (transport error, timeout, 429, 5xx); may start a cooldown. */
    const failed = (target: ModelTarget): Effect.Effect<void> =>
      Effect.flatMap(
        Ref.modify(ref, (map): [Tracked | undefined, Map<string, Tracked>] => {
          const at = now()
          let entry = map.get(target.name)
          if (entry === undefined) {
            const { modelId: model, provider } = target
            entry = { provider: provider.provider, model, failures: [], coolingUntil: 0, probeAt: 0 }
            map.set(target.name, entry)
          }
          if (entry.coolingUntil !== 0) {
            // A failed probe (or a request that was already under way when the cooldown began) cools it again.
            if (at >= entry.coolingUntil) {
              entry.coolingUntil = at + cooldownMs
              entry.probeAt = 0
            }
            return [undefined, map]
          }
          entry.failures = entry.failures.filter((t) => at - t < windowMs)
          entry.failures.push(at)
          if (entry.failures.length < settings.failures) return [undefined, map]
          entry.failures = []
          entry.coolingUntil = at + cooldownMs
          entry.probeAt = 0
          return [entry, map]
        }),
        (cooled) =>
          cooled === undefined
            ? Effect.void
            : Effect.zipRight(
              gauge(cooled, 1),
              Effect.logWarning("target cooling down after repeated failures").pipe(
                Effect.annotateLogs({ target: target.name, cooldownSeconds: settings.cooldownSeconds })
              )
            )
      )

    /** A target answered (any status that is not a failure): it leaves any cooldown and its failure count resets. */
    const succeeded = (target: ModelTarget): Effect.Effect<void> =>
      Effect.flatMap(Ref.get(ref), (tracked) => {
        if (!tracked.has(target.name)) return Effect.void
        return Effect.flatMap(
          Ref.modify(ref, (map): [Tracked | undefined, Map<string, Tracked>] => {
            const entry = map.get(target.name)
            map.delete(target.name)
            return [entry !== undefined && entry.coolingUntil !== 0 ? entry : undefined, map]
          }),
          (recovered) => recovered === undefined ? Effect.void : gauge(recovered, 0)
        )
      })

    /** The state of every target that failed recently (targets without failures are available). */
    const snapshot = Effect.fn("Cooldowns.snapshot")(function*() {
      const tracked = yield* Ref.get(ref)
      const at = now()
      const out = new Map<string, TargetStatus>()
      for (const [name, entry] of tracked) {
        const state = stateOf(entry, at)
        out.set(name, {
          name,
          provider: entry.provider,
          model: entry.model,
          state,
          recentFailures: entry.failures.filter((t) => at - t < windowMs).length,
          coolingUntil: state === "available" ? undefined : entry.coolingUntil
        })
      }
      return out as ReadonlyMap<string, TargetStatus>
    })

    /**
     * True when the target failed recently (it has state). A synchronous read for the hot path: the map is only written
     * inside `Ref.modify`, and a read on the one JS thread cannot see it half-written.
     */
    const isTracked = (name: string): boolean => tracked.has(name)

    return { admit, cooling, failed, succeeded, snapshot, isTracked, settings } as const
  })
}) {}
