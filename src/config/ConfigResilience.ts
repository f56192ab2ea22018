import { type Collector, decodeAt } from "./ConfigIssue.js"
import { PinFailoverInput, type RoutingInput, show } from "./ConfigSchema.js"
import type { CooldownSettings, PinFailoverSettings, ResolvedConfig, RoutingSettings } from "./GatewayConfig.js"

/** Retries, fallbacks, cooldowns and the pin-failover policy with every default filled in. */
export interface ResilienceSettings {
  /** Retries per target (Plano's listener `max_retries`). */
  readonly maxRetries: number
  /** Whether the `default: true` provider is the last resort of every fallback chain. */
  readonly fallbackToDefault: boolean
  readonly cooldown: CooldownSettings
  readonly pinFailover: PinFailoverSettings
}

/** LiteLLM's router defaults: 3 failures in a minute cool a deployment down for 5 s. */
export const defaultCooldown: CooldownSettings = { failures: 3, windowSeconds: 60, cooldownSeconds: 5 }

export const defaultPinFailover: PinFailoverSettings = { policy: "migrate", afterFailures: 2 }

/** The resilience settings of a loaded config. */
export const resilienceOf = (config: ResolvedConfig): ResilienceSettings => ({
  maxRetries: config.listener.maxRetries ?? 1,
  fallbackToDefault: config.routing.fallbackToDefault ?? true,
  cooldown: { ...defaultCooldown, ...config.routing.cooldown },
  pinFailover: { ...defaultPinFailover, ...config.routing.pinFailover }
})

type ResilienceFields = Pick<RoutingSettings, "fallbackToDefault" | "cooldown" | "pinFailover">

/** `routing.fallback_to_default`, `routing.cooldown` and `routing.pin_failover`; only the keys that are set. */
export const resolveResilience = (decoded: RoutingInput | undefined, collector: Collector): ResilienceFields => {
  const out: { -readonly [K in keyof ResilienceFields]?: ResilienceFields[K] } = {}
  if (decoded?.fallback_to_default !== undefined) out.fallbackToDefault = decoded.fallback_to_default
  const cooldown = decoded?.cooldown
  if (cooldown !== undefined) {
    out.cooldown = {
      ...(cooldown.failures === undefined ? {} : { failures: cooldown.failures }),
      ...(cooldown.window_seconds === undefined ? {} : { windowSeconds: cooldown.window_seconds }),
      ...(cooldown.cooldown_seconds === undefined ? {} : { cooldownSeconds: cooldown.cooldown_seconds })
    }
  }
  const failover = decoded?.pin_failover
  if (failover === undefined) return out
  const at = ["routing", "pin_failover"] as const
  if (failover === "migrate" || failover === "hold" || failover === "fail") {
    out.pinFailover = { policy: failover }
  } else if (typeof failover === "object" && failover !== null && !Array.isArray(failover)) {
    const mapping = decodeAt(PinFailoverInput, failover, at, collector)
    if (mapping !== undefined) {
      out.pinFailover = {
        ...(mapping.policy === undefined ? {} : { policy: mapping.policy }),
        ...(mapping.after_failures === undefined ? {} : { afterFailures: mapping.after_failures })
      }
    }
  } else {
    collector.add(
      at,
      `expected migrate, hold, fail or a mapping {policy, after_failures}, got ${show(failover)}`
    )
  }
  return out
}
