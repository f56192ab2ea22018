import * as Redacted from "effect/Redacted"
import { resilienceOf } from "./ConfigResilience.js"
import { scrub } from "./ConfigEnv.js"
import { catalogEntry } from "./ConfigProviders.js"
import type { ResolvedConfig } from "./GatewayConfig.js"

const formatMs = (ms: number): string => ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`

const formatBytes = (bytes: number): string =>
  bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : bytes % 1024 === 0
    ? `${bytes / 1024} KiB`
    : `${bytes} B`

/** `state_storage` in one phrase; a connection string shows only where the database is, never its credentials. */
export const stateStorageSummary = (config: ResolvedConfig): string => {
  const state = config.stateStorage
  if (state === undefined) return "none (previous_response_id only on Responses-native providers)"
  if (state.type === "memory") return "memory (/v1/responses conversation state, bounded LRU + TTL)"
  let where = "?"
  try {
    const url = new URL(Redacted.value(state.connectionString))
    where = `${url.hostname}${url.port === "" ? "" : `:${url.port}`}${url.pathname}`
  } catch {
    where = "(unparsable URL)"
  }
  return `postgres ${where} (/v1/responses conversation state, one row per response)`
}

/** Human-readable lines describing the effective listener, providers, routes and routing settings (no secrets). */
export const describe = (config: ResolvedConfig): ReadonlyArray<string> => {
  const lines: Array<string> = []
  const { listener, routing } = config
  lines.push(
    `listener ${listener.address}:${listener.port} (timeout ${formatMs(listener.timeoutMs)}, body limit ${
      formatBytes(listener.maxBodyBytes)
    })`
  )
  for (const p of config.providers) {
    const url = p.baseUrl ?? catalogEntry(p.provider)?.baseUrl ?? "?"
    const key = p.passthroughAuth
      ? "client's Authorization (passthrough)"
      : p.accessKey !== undefined
      ? "set"
      : p.missingKeyVar !== undefined
      ? `$${p.missingKeyVar} is not set`
      : "none"
    const flags = [p.isDefault ? "default" : "", p.internal ? "internal" : ""].filter((f) => f !== "")
    lines.push(
      `provider ${p.name}${p.name === p.model ? "" : ` (${p.model})`} → ${p.interface} ${url}${
        flags.length > 0 ? ` [${flags.join(", ")}]` : ""
      }; key: ${key}`
    )
  }
  if (config.routingPreferences.length === 0) {
    lines.push("routes: none (requests go to the requested model, else the default provider)")
  }
  for (const route of config.routingPreferences) {
    lines.push(
      `route ${route.name} → ${route.models.join(", ")}${route.prefer === "none" ? "" : ` (prefer ${route.prefer})`}${
        route.examples.length > 0 ? ` [${route.examples.length} examples]` : ""
      }`
    )
  }
  for (const [alias, target] of config.aliases) lines.push(`alias ${alias} → ${target}`)
  const router = routing.router
  lines.push(
    router.type === "embedded"
      ? `router: embedded${router.threshold === undefined ? "" : ` (threshold ${router.threshold})`}`
      : `router: llm via ${router.model} (timeout ${formatMs(router.timeoutMs)}, max ${router.maxTokens} tokens)`
  )
  const scope = routing.sessionScopeHeader === undefined ? "" : `, scoped by header ${routing.sessionScopeHeader}`
  lines.push(
    `sessions: idle ttl ${routing.sessionTtlSeconds} s, max ${routing.sessionMaxEntries} entries, ` +
      `sweep every ${routing.sessionSweepIntervalSeconds} s${scope}; ` +
      `pins API ${routing.adminKey === undefined ? "open" : "requires the admin key"}`
  )
  lines.push(`state_storage: ${stateStorageSummary(config)}`)
  const observed = config.observability
  if (observed !== undefined) {
    const metrics = observed.metrics.enabled
      ? `metrics on /metrics${observed.metrics.port === undefined ? "" : ` and port ${observed.metrics.port}`}`
      : "metrics off"
    const log = observed.accessLog === undefined ? "default" : observed.accessLog ? "on" : "off"
    const tracing = observed.tracing.endpoint === undefined
      ? "tracing via OTEL_EXPORTER_OTLP_ENDPOINT if set"
      : `tracing to ${observed.tracing.endpoint}`
    const sampling = observed.tracing.randomSampling ?? 100
    lines.push(`observability: ${metrics}, access log ${log}, ${tracing} (sampling ${sampling}%)`)
  }
  const resilience = resilienceOf(config)
  const { cooldown, pinFailover } = resilience
  lines.push(
    `failures: ${resilience.maxRetries} retr${resilience.maxRetries === 1 ? "y" : "ies"} per model, ` +
      `fallback to default ${resilience.fallbackToDefault ? "on" : "off"}, cooldown after ${cooldown.failures} ` +
      `failures in ${cooldown.windowSeconds} s for ${cooldown.cooldownSeconds} s, pin_failover ${pinFailover.policy}` +
      (pinFailover.policy === "migrate" ? ` after ${pinFailover.afterFailures} failures` : "")
  )
  if (config.ignoredKeys.length > 0) {
    lines.push(`ignored (Switchyard does not support these keys): ${config.ignoredKeys.join(", ")}`)
  }
  for (const warning of config.warnings) lines.push(`warning: ${warning}`)
  const secrets = [...config.providers.map((p) => p.accessKey), routing.adminKey]
    .filter((key) => key !== undefined)
    .map((key) => Redacted.value(key))
  return lines.map((line) => scrub(line, secrets))
}
