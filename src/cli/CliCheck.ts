import * as Effect from "effect/Effect"
import type { Parsed } from "./CliArgs.js"
import { configPathOf, loadConfig, tooMany } from "./CliArgs.js"
import { checkPins } from "./CliCheckPins.js"
import { out, pad, table } from "./CliOutput.js"
import { stateStorageSummary } from "../config/ConfigDescribe.js"
import type { ProviderConfig, ResolvedConfig, RoutePreference } from "../config/GatewayConfig.js"
import { catalog, keyOptional } from "../config/ProviderCatalog.js"
import * as TextFeatures from "../routing/TextFeatures.js"
import { bindRefusal, isLoopback } from "../auth/Exposure.js"

/** The `auth` and `ratelimits` lines of the summary. */
const accessLines = (config: ResolvedConfig): Array<string> => {
  const auth = config.auth
  const limits = config.rateLimits ?? []
  return [
    auth === undefined
      ? "auth      none configured: open to clients on this machine; listening off loopback needs `auth`"
      : auth.type === "none"
      ? "auth      none (explicit): open to every client that reaches the listener"
      : `auth      ${auth.keys.length} client key(s): ${auth.keys.map((k) => k.name).join(", ")}` +
        `${auth.failOpen ? "" : "; Redis down = 503 (fail_open: false)"}`,
    ...(limits.length === 0 ? ["limits    none"] : limits.map((l) => {
      const value = l.selectorValue === "*" ? "" : ` = ${l.selectorValue}`
      const selector = l.selectorKey === undefined ? "" : ` per ${l.selectorKey}${value}`
      return `limits    ${l.model}: ${l.limit} ${l.kind} per ${l.unit}${selector}`
    }))
  ]
}

/** Warnings about who can reach the gateway. */
const exposureWarnings = (config: ResolvedConfig): Array<string> => {
  const refusal = bindRefusal(config, config.listener.address)
  const warnings = refusal === undefined ? [] : [`switchyard up will fail: ${refusal}`]
  if (!isLoopback(config.listener.address) && config.routing.adminKey === undefined) {
    warnings.push("routing.admin_key is not set: the pins API will answer 401 on this non-loopback listener")
  }
  return warnings
}

const keyStatus = (p: ProviderConfig): string =>
  p.passthroughAuth
    ? "passthrough"
    : p.accessKey !== undefined
    ? "set"
    : p.missingKeyVar !== undefined
    ? `unset $${p.missingKeyVar}`
    : "none"

const needsKey = (p: ProviderConfig): boolean => !p.passthroughAuth && !keyOptional(p)

const baseUrlOf = (p: ProviderConfig): string => {
  const url = p.baseUrl ?? (Object.hasOwn(catalog, p.provider) ? catalog[p.provider]?.baseUrl : undefined)
  if (url === undefined) return "(no base_url)"
  // A base_url may carry credentials (https://user:secret@host); `check` output ends up in tickets and CI logs.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1***@")
}

const genericWords: ReadonlySet<string> = new Set(
  `general generic misc miscellaneous anything everything something stuff thing task question request query prompt
  help default various etc handle work use kind type way`.trim().split(/\s+/).map(TextFeatures.stem)
)

/** Content words of a description by stem (so "writing" and "write" meet), each with its first spelling. */
const contentWords = (text: string): ReadonlyMap<string, string> => {
  const words = text.toLowerCase().replace(/_/g, " ").match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? []
  const byStem = new Map<string, string>()
  for (const word of words) {
    const stem = TextFeatures.stem(word)
    if (word.length > 1 && !TextFeatures.stopWords.has(word) && !byStem.has(stem)) byStem.set(stem, word)
  }
  return byStem
}

/** Descriptions that share most of their content words, and descriptions too short or too generic to route on. */
const routeWarnings = (routes: ReadonlyArray<RoutePreference>): Array<string> => {
  const warnings: Array<string> = []
  const words = routes.map((r) => contentWords(r.description))
  routes.forEach((route, i) => {
    const specific = [...words[i]!.keys()].filter((w) => !genericWords.has(w))
    if (route.description.trim() === "") {
      warnings.push(`route ${route.name}: has no description; the router cannot match it`)
    } else if (specific.length < 2) {
      warnings.push(
        `route ${route.name}: description "${route.description}" is too short or generic to route on; ` +
          "say which requests it covers (e.g. \"writing new code, functions or boilerplate\")"
      )
    }
  })
  for (let i = 0; i < routes.length; i++) {
    for (let j = i + 1; j < routes.length; j++) {
      const a = words[i]!
      const b = words[j]!
      const shared = [...a.keys()].filter((w) => b.has(w) && !genericWords.has(w)).map((w) => a.get(w)!)
      const smaller = Math.min(a.size, b.size)
      if (shared.length >= 2 && smaller > 0 && shared.length / smaller >= 0.5) {
        warnings.push(
          `routes ${routes[i]!.name} and ${routes[j]!.name} overlap (shared words: ${shared.join(", ")}); ` +
            "the router may confuse them: describe what only each one covers"
        )
      }
    }
  }
  return warnings
}

const configWarnings = (config: ResolvedConfig): Array<string> => {
  const warnings: Array<string> = []
  const unset = new Map<string, Array<string>>()
  for (const p of config.providers) {
    if (p.passthroughAuth || p.accessKey !== undefined) continue
    if (p.missingKeyVar !== undefined) unset.set(p.missingKeyVar, [...(unset.get(p.missingKeyVar) ?? []), p.name])
    else if (needsKey(p)) warnings.push(`provider ${p.name} has no access_key; requests sent to it will get a 401`)
  }
  for (const [variable, names] of unset) {
    warnings.push(`$${variable} is not set: requests sent to ${names.join(", ")} will get a 401 until it is`)
  }
  if (config.ignoredKeys.length > 0) {
    warnings.push(`ignored (Plano keys Switchyard does not implement): ${config.ignoredKeys.join(", ")}`)
  }
  warnings.push(...config.warnings, ...routeWarnings(config.routingPreferences), ...exposureWarnings(config))
  return warnings
}

const formatMs = (ms: number): string => ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`

const describeConfig = (path: string, config: ResolvedConfig): Array<string> => {
  const { listener, routing } = config
  const lines = [
    `${path}: valid (version ${config.version})`,
    "",
    `listener  ${listener.address}:${listener.port} (upstream timeout ${formatMs(listener.timeoutMs)})`,
    "",
    "providers:",
    ...table(config.providers.map((p) => {
      const flags = [p.isDefault ? "default" : "", p.internal ? "internal" : ""].filter((f) => f !== "").join(", ")
      return [p.name, p.interface, baseUrlOf(p), `key: ${keyStatus(p)}`, flags]
    })),
    "",
    "routes:"
  ]
  if (config.routingPreferences.length === 0) {
    lines.push("  none: requests go to the model they name, else to the default provider")
  }
  const nameWidth = Math.max(0, ...config.routingPreferences.map((r) => r.name.length))
  for (const route of config.routingPreferences) {
    const prefer = route.prefer === "none" ? "" : ` (prefer ${route.prefer})`
    const examples = route.examples.length > 0 ? ` [${route.examples.length} examples]` : ""
    lines.push(`  ${pad(route.name, nameWidth)}  → ${route.models.join(", ")}${prefer}${examples}`)
    lines.push(`  ${" ".repeat(nameWidth)}    "${route.description}"`)
  }
  if (config.aliases.size > 0) {
    lines.push("", "aliases:", ...table([...config.aliases].map(([alias, target]) => [alias, `→ ${target}`])))
  }
  const router = routing.router
  const scope = routing.sessionScopeHeader === undefined ? "" : `, scoped by ${routing.sessionScopeHeader}`
  lines.push(
    "",
    router.type === "embedded"
      ? `router    embedded${router.threshold === undefined ? "" : ` (threshold ${router.threshold})`}`
      : `router    llm via ${router.model} (timeout ${formatMs(router.timeoutMs)})`,
    `sessions  idle ttl ${routing.sessionTtlSeconds} s, at most ${routing.sessionMaxEntries} pins${scope}; ` +
      `pins API ${routing.adminKey === undefined ? "open" : "needs the admin key"}`,
    `state     ${stateStorageSummary(config)}`,
    ...accessLines(config),
    routing.turnAffinity === false
      ? "turns     no turn affinity (requests without a session id are routed one by one)"
      : `turns     a turn's tool calls keep its model without a session id (turn pins idle ttl ` +
        `${routing.turnTtlSeconds ?? 300} s)`
  )
  const observed = config.observability
  if (observed !== undefined) {
    const tracing = observed.tracing
    lines.push(
      `metrics   ${observed.metrics.enabled ? "GET /metrics" : "off"}` +
        (observed.metrics.port === undefined ? "" : ` (also on port ${observed.metrics.port})`) +
        `; access log ${observed.accessLog === false ? "off" : "on with switchyard up"}`,
      `tracing   ${
        tracing.endpoint === undefined ? "off unless OTEL_EXPORTER_OTLP_ENDPOINT is set" : `to ${tracing.endpoint}`
      } (sampling ${tracing.randomSampling ?? 100}%)`
    )
  }
  return lines
}

const pinLines = (parsed: Parsed, config: ResolvedConfig) =>
  Effect.map(checkPins(parsed, config), ({ dropped, source, total }) => [
    `pins of ${source}: ${total - dropped.length} kept, ${dropped.length} dropped on reload`,
    ...table(dropped.map(([session, why]) => [session, why]))
  ])

/** `switchyard check`: validates a config, prints its summary and its warnings (and, asked, the pins it drops). */
export const check = (parsed: Parsed) =>
  Effect.gen(function*() {
    if (parsed.flags.has("config")) yield* tooMany(parsed, 0, "check")
    else yield* tooMany(parsed, 1, "check")
    const path = yield* configPathOf(parsed)
    const config = yield* loadConfig(path)
    const warnings = configWarnings(config)
    const lines = describeConfig(path, config)
    lines.push("")
    if (warnings.length === 0) lines.push("no warnings")
    else lines.push(`warnings (${warnings.length}):`, ...warnings.map((w) => `  ! ${w}`))
    if (parsed.flags.has("against") || parsed.flags.has("pins")) lines.push("", ...(yield* pinLines(parsed, config)))
    yield* out(lines.join("\n"))
  })
