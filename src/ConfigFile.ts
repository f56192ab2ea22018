import { FileSystem } from "@effect/platform"
import { Config, Effect, Either, Layer, Option, ParseResult, Redacted, Schema } from "effect"
import * as YAML from "yaml"
import {
  GatewayConfig,
  type ListenerConfig,
  type ProviderConfig,
  type ProviderInterface,
  type ResolvedConfig,
  type RoutePreference,
  type RouterSettings,
  type RoutingSettings,
  type SelectionPreference
} from "./GatewayConfig.js"
import { type CatalogEntry, catalog, customInterfaces, unsupportedProviders } from "./ProviderCatalog.js"

/** One problem in the config file: where it is (a YAML path) and what to do about it. */
export const ConfigIssue = Schema.Struct({ path: Schema.String, message: Schema.String })
export type ConfigIssue = typeof ConfigIssue.Type

/** The config file cannot be used; carries every problem found in one pass. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  issues: Schema.Array(ConfigIssue)
}) {
  override get message(): string {
    return this.issues.map((issue) => `${issue.path}: ${issue.message}`).join("\n")
  }
}

/** Values used when the file leaves a setting out. */
export const defaults = {
  address: "0.0.0.0",
  port: 12000,
  timeoutMs: 300_000,
  maxBodyBytes: 10 * 1024 * 1024,
  sessionTtlSeconds: 600,
  sessionMaxEntries: 10_000,
  sessionSweepIntervalSeconds: 60,
  routerTimeoutMs: 3000,
  routerMaxTokens: 2048
} as const

const planoVersions: ReadonlyArray<string> = ["v0.1", "v0.1.0", "0.1-beta", "0.2.0", "v0.3.0", "v0.4.0"]

const usedTopLevelKeys: ReadonlyArray<string> = [
  "version",
  "listeners",
  "model_providers",
  "llm_providers",
  "model_aliases",
  "routing_preferences",
  "routing",
  "overrides"
]

/** Plano top-level keys that Switchyard accepts but does not implement. */
const ignoredTopLevelKeys: ReadonlyArray<string> = [
  "tracing",
  "prompt_targets",
  "endpoints",
  "agents",
  "filters",
  "state_storage",
  "model_metrics_sources",
  "prompt_caching",
  "prompt_guards",
  "system_prompt",
  "ratelimits",
  "mode",
  "skills"
]

const ignoredListenerKeys: ReadonlyArray<string> = [
  "router",
  "max_retries",
  "agents",
  "input_filters",
  "output_filters"
]
const ignoredRoutingKeys: ReadonlyArray<string> = ["llm_provider", "model", "route_on_user_only", "routing_budget"]

type Segment = string | number
type Path = ReadonlyArray<Segment>

const formatPath = (path: Path): string => {
  if (path.length === 0) return "(root)"
  let out = ""
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`
    else out += `[${JSON.stringify(segment)}]`
  }
  return out
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const show = (u: unknown): string => {
  const text = u === undefined ? "nothing" : (JSON.stringify(u) ?? String(u))
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

const hasOwn = (record: object, key: string): boolean => Object.prototype.hasOwnProperty.call(record, key)

const catalogEntry = (prefix: string): CatalogEntry | undefined => hasOwn(catalog, prefix) ? catalog[prefix] : undefined

type Version = readonly [number, number, number]

/** Lenient semver as brightstaff and the CLI read it: leading `v` trimmed, missing or non-numeric parts are 0. */
const parseVersion = (version: string): Version => {
  const parts = version.trim().replace(/^[vV]/, "").split("-", 1)[0]!.split(".")
  const num = (i: number) => {
    const n = Number.parseInt(parts[i] ?? "0", 10)
    return Number.isNaN(n) ? 0 : n
  }
  return [num(0), num(1), num(2)]
}

const atLeast = (version: Version, min: Version): boolean => {
  for (let i = 0; i < 3; i++) {
    if (version[i]! !== min[i]!) return version[i]! > min[i]!
  }
  return true
}

const v040: Version = [0, 4, 0]

const durationMs = (u: unknown): number | undefined => {
  if (typeof u === "number") return Number.isFinite(u) && u > 0 ? Math.round(u * 1000) : undefined
  if (typeof u !== "string") return undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(u)
  if (match === null) return undefined
  const unit = match[2] ?? "s"
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000
  const ms = Math.round(Number(match[1]) * factor)
  return ms > 0 ? ms : undefined
}

const headerNamePattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

const LenientNumber = Schema.transformOrFail(Schema.Unknown, Schema.Number, {
  strict: true,
  decode: (u, _, ast) => {
    const n = typeof u === "number" ? u : typeof u === "string" && u.trim() !== "" ? Number(u) : Number.NaN
    return Number.isFinite(n)
      ? ParseResult.succeed(n)
      : ParseResult.fail(new ParseResult.Type(ast, u, `expected a number, got ${show(u)}`))
  },
  encode: ParseResult.succeed
})

const intIn = (min: number, max?: number) =>
  LenientNumber.pipe(
    Schema.filter((n) => Number.isInteger(n) && n >= min && (max === undefined || n <= max), {
      message: (issue) => {
        const range = max === undefined ? `>= ${min}` : `from ${min} to ${max}`
        return `expected a whole number ${range}, got ${show(issue.actual)}`
      }
    })
  )

const numberIn = (min: number, max: number) =>
  LenientNumber.pipe(
    Schema.filter((n) => n >= min && n <= max, {
      message: (issue) => `expected a number from ${min} to ${max}, got ${show(issue.actual)}`
    })
  )

const DurationMs = Schema.transformOrFail(Schema.Unknown, Schema.Number, {
  strict: true,
  decode: (u, _, ast) => {
    const ms = durationMs(u)
    return ms === undefined
      ? ParseResult.fail(
        new ParseResult.Type(
          ast,
          u,
          `expected a duration like "30s", "5m", "300ms" or a number of seconds, got ${show(u)}`
        )
      )
      : ParseResult.succeed(ms)
  },
  encode: ParseResult.succeed
})

const oneOf = <const A extends string>(values: ReadonlyArray<A>) =>
  Schema.String.pipe(
    Schema.filter((s): s is A => (values as ReadonlyArray<string>).includes(s), {
      message: (issue) => `expected one of ${values.join(", ")}, got ${show(issue.actual)}`
    })
  )

const NonEmptyString = Schema.String.pipe(
  Schema.filter((s) => s.trim() !== "", { message: () => "must not be empty" })
)

const HeaderName = Schema.String.pipe(
  Schema.filter((s) => headerNamePattern.test(s), {
    message: (issue) => `expected an HTTP header name (letters, digits, "-"), got ${show(issue.actual)}`
  })
)

const StringList = Schema.Array(Schema.String).annotations({ message: () => "expected a list of strings" })

const StringMap = Schema.Record({ key: Schema.String, value: Schema.String }).annotations({
  message: () => "expected a mapping of string to string"
})

const mapping = <F extends Schema.Struct.Fields>(fields: F) =>
  Schema.Struct(fields).annotations({
    message: (issue) => `expected a mapping (key: value), got ${show(issue.actual)}`
  })

const ListenerInput = mapping({
  type: oneOf(["model", "prompt", "agent"]),
  name: opt(Schema.String),
  address: opt(NonEmptyString),
  port: opt(intIn(0, 65535)),
  timeout: opt(DurationMs),
  max_body_bytes: opt(intIn(1)),
  router: opt(Schema.Unknown),
  max_retries: opt(Schema.Unknown),
  agents: opt(Schema.Unknown),
  input_filters: opt(Schema.Unknown),
  output_filters: opt(Schema.Unknown)
})

const LegacyListenersInput = mapping({
  ingress_traffic: opt(Schema.Unknown),
  egress_traffic: opt(mapping({
    address: opt(NonEmptyString),
    port: opt(intIn(0, 65535)),
    timeout: opt(DurationMs),
    max_body_bytes: opt(intIn(1)),
    message_format: opt(Schema.Unknown)
  }))
})

const InlinePreferenceInput = mapping({
  name: NonEmptyString,
  description: Schema.String,
  examples: opt(StringList)
})

const ProviderInput = mapping({
  model: Schema.String,
  name: opt(NonEmptyString),
  access_key: opt(Schema.String),
  default: opt(Schema.Boolean),
  base_url: opt(Schema.String),
  passthrough_auth: opt(Schema.Boolean),
  http_host: opt(Schema.Unknown),
  provider_interface: opt(Schema.String),
  provider: opt(Schema.String),
  routing_preferences: opt(Schema.Array(InlinePreferenceInput)),
  headers: opt(StringMap)
})
type ProviderInput = typeof ProviderInput.Type

const AliasesInput = Schema.Record({ key: Schema.String, value: mapping({ target: NonEmptyString }) }).annotations({
  message: () => "expected a mapping of alias: {target: <model>}"
})

const RoutePreferenceInput = mapping({
  name: NonEmptyString,
  description: Schema.String,
  models: Schema.Array(NonEmptyString).pipe(
    Schema.minItems(1, { message: () => "expected a non-empty list of model names" })
  ),
  selection_policy: opt(mapping({ prefer: opt(oneOf(["cheapest", "fastest", "none", ""])) })),
  examples: opt(StringList)
})

const RoutingInput = mapping({
  session_ttl_seconds: opt(intIn(1)),
  session_max_entries: opt(intIn(1, 10_000_000)),
  session_sweep_interval_seconds: opt(intIn(1)),
  session_scope_header: opt(HeaderName),
  session_cache: opt(mapping({
    type: opt(oneOf(["memory", "redis"])),
    url: opt(Schema.Unknown),
    tenant_header: opt(HeaderName)
  })),
  admin_key: opt(Schema.String),
  router: opt(Schema.Unknown),
  llm_provider: opt(Schema.Unknown),
  model: opt(Schema.Unknown),
  route_on_user_only: opt(Schema.Unknown),
  routing_budget: opt(Schema.Unknown)
})

const EmbeddedRouterInput = mapping({ type: Schema.Literal("embedded"), threshold: opt(numberIn(0, 1)) })

const LlmRouterInput = mapping({
  type: Schema.Literal("llm"),
  model: NonEmptyString,
  timeout_ms: opt(intIn(1)),
  max_tokens: opt(intIn(1))
})

interface Collector {
  readonly issues: Array<ConfigIssue>
  readonly add: (path: Path, message: string) => void
}

const makeCollector = (): Collector => {
  const issues: Array<ConfigIssue> = []
  const seen = new Set<string>()
  return {
    issues,
    add: (path, message) => {
      const issue = { path: formatPath(path), message }
      const key = `${issue.path}\u0000${issue.message}`
      if (seen.has(key)) return
      seen.add(key)
      issues.push(issue)
    }
  }
}

const isSecretPath = (path: Path): boolean => {
  const last = path[path.length - 1]
  return last === "access_key" || last === "admin_key" || path.includes("headers")
}

const unknownKey = (key: string, expected: string): string =>
  `unknown key "${key}"; remove it or check the spelling (expected one of: ${expected})`

const rewriteIssue = (issue: ParseResult.ArrayFormatterIssue, path: Path): string => {
  switch (issue._tag) {
    case "Missing":
      return "is required"
    case "Unexpected": {
      const expected = issue.message.replace(/^is unexpected, expected: /, "").replace(/"/g, "").split(" | ").join(", ")
      return unknownKey(String(path[path.length - 1]), expected)
    }
    default:
      // A wrong-typed secret must not echo its value.
      return isSecretPath(path) ? "expected a string" : issue.message
  }
}

const decodeAt = <A, I>(schema: Schema.Schema<A, I>, value: unknown, at: Path, collector: Collector): A | undefined => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(value)
  if (Either.isRight(result)) return result.right
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(result.left)) {
    const path = [...at, ...issue.path.map((segment) => typeof segment === "symbol" ? String(segment) : segment)]
    collector.add(path, rewriteIssue(issue, path))
  }
  return undefined
}

/** Paths of Plano keys present in the file that Switchyard does not implement. */
const scanIgnored = (raw: Record<string, unknown>): Array<Path> => {
  const out: Array<Path> = []
  for (const key of Object.keys(raw)) {
    if (ignoredTopLevelKeys.includes(key)) out.push([key])
  }
  const listeners = raw["listeners"]
  if (Array.isArray(listeners)) {
    listeners.forEach((listener, i) => {
      if (!isRecord(listener)) return
      if (listener["type"] === "prompt" || listener["type"] === "agent") {
        out.push(["listeners", i])
        return
      }
      for (const key of ignoredListenerKeys) {
        if (hasOwn(listener, key)) out.push(["listeners", i, key])
      }
    })
  } else if (isRecord(listeners)) {
    if (hasOwn(listeners, "ingress_traffic")) out.push(["listeners", "ingress_traffic"])
    const egress = listeners["egress_traffic"]
    if (isRecord(egress) && hasOwn(egress, "message_format")) {
      out.push(["listeners", "egress_traffic", "message_format"])
    }
  }
  for (const providersKey of ["model_providers", "llm_providers"]) {
    const providers = raw[providersKey]
    if (!Array.isArray(providers)) continue
    providers.forEach((provider, i) => {
      if (isRecord(provider) && hasOwn(provider, "http_host")) out.push([providersKey, i, "http_host"])
    })
  }
  const routing = raw["routing"]
  if (isRecord(routing)) {
    for (const key of ignoredRoutingKeys) {
      if (hasOwn(routing, key)) out.push(["routing", key])
    }
    const cache = routing["session_cache"]
    if (isRecord(cache) && hasOwn(cache, "url")) out.push(["routing", "session_cache", "url"])
  }
  const overrides = raw["overrides"]
  if (isRecord(overrides)) {
    for (const key of Object.keys(overrides)) {
      if (key !== "llm_routing_model") out.push(["overrides", key])
    }
  }
  return out
}

const unknownTopLevelKeys = (raw: Record<string, unknown>): Array<string> =>
  Object.keys(raw).filter((key) => !usedTopLevelKeys.includes(key) && !ignoredTopLevelKeys.includes(key))

/** Subtrees whose strings are not substituted: nothing there is used, so an unset variable must not fail the load. */
const skipSet = (raw: Record<string, unknown>, ignored: ReadonlyArray<Path>): ReadonlySet<string> =>
  new Set([...ignored.map(formatPath), ...unknownTopLevelKeys(raw)])

const variablePattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g

const variablesIn = (text: string): Array<string> =>
  Array.from(text.matchAll(variablePattern), (match) => match[1] ?? match[2]!)

/**
 * Rebuilds the tree, dropping `key: null` entries (an empty YAML value means "not set") and passing every string
 * outside the skipped subtrees to `onString`; returning `undefined` from it removes a mapping entry.
 */
const walk = (
  value: unknown,
  path: Path,
  skip: ReadonlySet<string>,
  onString: (text: string, path: Path) => unknown
): unknown => {
  if (path.length > 0 && skip.has(formatPath(path))) return value
  if (typeof value === "string") return onString(value, path)
  if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i], skip, onString))
  if (isRecord(value)) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      if (item === null || item === undefined) continue
      const next = walk(item, [...path, key], skip, onString)
      if (next !== undefined) out[key] = next
    }
    return out
  }
  return value
}

const isAccessKeyPath = (path: Path): boolean =>
  path.length === 3 && (path[0] === "model_providers" || path[0] === "llm_providers") &&
  typeof path[1] === "number" && path[2] === "access_key"

interface Substituted {
  readonly tree: Record<string, unknown>
  /** Provider index → name of the unset variable its `access_key` refers to. */
  readonly missingKeyVars: ReadonlyMap<number, string>
  /** Substituted values of secrets, scrubbed from every message. */
  readonly secrets: ReadonlyArray<string>
}

const substitute = (
  raw: Record<string, unknown>,
  skip: ReadonlySet<string>,
  env: ReadonlyMap<string, string | undefined>,
  collector: Collector
): Substituted => {
  const missingKeyVars = new Map<number, string>()
  const secrets: Array<string> = []
  const tree = walk(raw, [], skip, (text, path) => {
    const names = variablesIn(text)
    const unset = names.filter((name) => env.get(name) === undefined)
    const value = text.replace(variablePattern, (whole, braced: string | undefined, bare: string | undefined) => {
      const resolved = env.get(braced ?? bare ?? "")
      return resolved ?? whole
    })
    if (isAccessKeyPath(path)) {
      const emptyVar = names.find((name) => env.get(name) === "")
      if (unset.length > 0 || emptyVar !== undefined) {
        missingKeyVars.set(path[1] as number, unset[0] ?? emptyVar!)
        return undefined
      }
    } else if (unset.length > 0) {
      for (const name of unset) {
        collector.add(path, `environment variable ${name} is not set; export it or replace $${name} with a value`)
      }
      return value
    }
    if (isSecretPath(path) && value !== "") secrets.push(value)
    return value
  })
  return { tree: isRecord(tree) ? tree : {}, missingKeyVars, secrets }
}

const collectVariables = (raw: Record<string, unknown>, skip: ReadonlySet<string>): Array<string> => {
  const names = new Set<string>()
  walk(raw, [], skip, (text) => {
    for (const name of variablesIn(text)) names.add(name)
    return text
  })
  return Array.from(names)
}

interface Built {
  readonly config: ResolvedConfig | undefined
  readonly issues: ReadonlyArray<ConfigIssue>
  readonly secrets: ReadonlyArray<string>
}

const customInterface = (declared: string): ProviderInterface | undefined => {
  const exact = customInterfaces.find((iface) => iface === declared)
  if (exact !== undefined) return exact
  // Plano's own interface names for custom prefixes.
  if (declared === "claude") return "anthropic"
  if (declared === "arch") return "plano"
  return catalogEntry(declared)?.interface
}

interface ProviderDraft {
  readonly config: Omit<ProviderConfig, "internal">
  readonly path: Path
  readonly inline: ReadonlyArray<typeof InlinePreferenceInput.Type>
}

const build = (raw: unknown, env: ReadonlyMap<string, string | undefined>): Built => {
  const collector = makeCollector()
  const issue = collector.add
  const warnings: Array<string> = []

  if (!isRecord(raw)) {
    issue(
      [],
      raw === null || raw === undefined
        ? "the config is empty; expected a mapping with version, listeners and model_providers"
        : `expected a mapping with version, listeners and model_providers, got ${show(raw)}`
    )
    return { config: undefined, issues: collector.issues, secrets: [] }
  }

  for (const key of unknownTopLevelKeys(raw)) {
    issue([key], `unknown top-level key "${key}"; remove it or check the spelling`)
  }

  const ignored = scanIgnored(raw)
  const skip = skipSet(raw, ignored)
  const { missingKeyVars, secrets, tree } = substitute(raw, skip, env, collector)

  let version = ""
  if (!hasOwn(tree, "version")) {
    issue(["version"], "is required; add `version: v0.4.0` (or the Plano version the file was written for)")
  } else {
    const decoded = decodeAt(Schema.String, tree["version"], ["version"], collector)
    if (decoded !== undefined) {
      version = decoded
      const later = /^v\d+\.\d+\.\d+$/.test(decoded) && atLeast(parseVersion(decoded), v040)
      if (!planoVersions.includes(decoded) && !later) {
        issue(
          ["version"],
          `unsupported version "${decoded}"; use one of ${planoVersions.join(", ")} (or a later vX.Y.Z)`
        )
      }
    }
  }
  const modern = atLeast(parseVersion(version), v040)

  const listener = resolveListener(tree["listeners"], collector, warnings)

  let providersKey = "model_providers"
  if (hasOwn(tree, "llm_providers")) {
    if (hasOwn(tree, "model_providers")) {
      issue(
        ["llm_providers"],
        "Please provide either llm_providers or model_providers, not both. llm_providers is deprecated, please use " +
        "model_providers instead"
      )
    } else {
      providersKey = "llm_providers"
      warnings.push("llm_providers is deprecated; rename it to model_providers")
    }
  }
  const { complete, drafts } = resolveProviders(tree[providersKey], providersKey, missingKeyVars, collector, warnings)
  const providers = drafts.map((draft) => draft.config)

  const modelKeys = new Set<string>()
  for (const p of providers) {
    modelKeys.add(p.name)
    if (!p.wildcard) {
      modelKeys.add(p.model)
      modelKeys.add(p.modelId)
    }
  }
  const wildcardPrefixes = new Set(providers.filter((p) => p.wildcard).map((p) => p.provider))
  // Cross-references are only checked against a complete provider list, so one bad provider does not cascade.
  const isDeclaredModel = (model: string): boolean => {
    if (modelKeys.has(model)) return true
    const slash = model.indexOf("/")
    return slash > 0 && wildcardPrefixes.has(model.slice(0, slash))
  }

  const aliases = new Map<string, string>()
  if (hasOwn(tree, "model_aliases")) {
    const decoded = decodeAt(AliasesInput, tree["model_aliases"], ["model_aliases"], collector)
    if (decoded !== undefined) {
      for (const [alias, { target }] of Object.entries(decoded)) {
        if (complete && !isDeclaredModel(target)) {
          issue(
            ["model_aliases", alias, "target"],
            `Model alias '${alias}' targets '${target}' which is not defined as a model. Available models: ${
              Array.from(modelKeys).sort().join(", ")
            }`
          )
        } else {
          aliases.set(alias, target)
        }
      }
    }
  }

  const metricSources = new Set<string>()
  const sources = raw["model_metrics_sources"]
  if (Array.isArray(sources)) {
    for (const source of sources) {
      if (isRecord(source) && typeof source["type"] === "string") metricSources.add(source["type"])
    }
  }
  const routingPreferences = resolveRoutes(
    tree["routing_preferences"],
    hasOwn(tree, "routing_preferences"),
    drafts,
    modern,
    version,
    complete,
    isDeclaredModel,
    metricSources,
    collector,
    warnings
  )

  const routing = resolveRouting(tree, providers, complete, collector, warnings)

  const routed = (p: Omit<ProviderConfig, "internal">): boolean =>
    routingPreferences.some((route) =>
      route.models.some((m) => m === p.name || m === p.model || (!p.wildcard && m === p.modelId))
    ) || Array.from(aliases.values()).some((t) => t === p.name || t === p.model || t === p.modelId)
  const router = routing?.router
  const finalProviders: Array<ProviderConfig> = providers.map((p) => ({
    ...p,
    internal: router !== undefined && router.type === "llm" && router.model === p.name && !p.isDefault && !routed(p)
  }))

  if (collector.issues.length > 0 || routing === undefined) {
    return { config: undefined, issues: collector.issues, secrets }
  }
  return {
    config: {
      version,
      listener,
      providers: finalProviders,
      aliases,
      routingPreferences,
      routing,
      ignoredKeys: ignored.map(formatPath),
      warnings
    },
    issues: [],
    secrets
  }
}

const resolveListener = (value: unknown, collector: Collector, warnings: Array<string>): ListenerConfig => {
  const base: ListenerConfig = {
    address: defaults.address,
    port: defaults.port,
    timeoutMs: defaults.timeoutMs,
    maxBodyBytes: defaults.maxBodyBytes
  }
  type ModelListener = {
    readonly address?: string
    readonly port?: number
    readonly timeout?: number
    readonly max_body_bytes?: number
  }
  const fill = (input: ModelListener): ListenerConfig => ({
    address: input.address ?? base.address,
    port: input.port ?? base.port,
    timeoutMs: input.timeout ?? base.timeoutMs,
    maxBodyBytes: input.max_body_bytes ?? base.maxBodyBytes
  })
  if (value === undefined) return base
  if (isRecord(value)) {
    warnings.push("listeners: the mapping form (ingress_traffic/egress_traffic) is deprecated; use a list of listeners")
    const decoded = decodeAt(LegacyListenersInput, value, ["listeners"], collector)
    return decoded?.egress_traffic === undefined ? base : fill(decoded.egress_traffic)
  }
  if (!Array.isArray(value)) {
    collector.add(["listeners"], `expected a list of listeners (e.g. \`- type: model\`), got ${show(value)}`)
    return base
  }
  const found: Array<{ readonly config: ListenerConfig; readonly index: number }> = []
  value.forEach((item, i) => {
    if (isRecord(item) && (item["type"] === "prompt" || item["type"] === "agent")) return
    const decoded = decodeAt(ListenerInput, item, ["listeners", i], collector)
    if (decoded === undefined || decoded.type !== "model") return
    const first = found[0]
    if (first !== undefined) {
      collector.add(
        ["listeners", i],
        `only one model listener is allowed, found a second one (the first is listeners[${first.index}]); ` +
          "keep a single `type: model` listener"
      )
      return
    }
    found.push({ config: fill(decoded), index: i })
  })
  return found[0]?.config ?? base
}

const resolveProviders = (
  value: unknown,
  key: string,
  missingKeyVars: ReadonlyMap<number, string>,
  collector: Collector,
  warnings: Array<string>
): { readonly drafts: Array<ProviderDraft>; readonly complete: boolean } => {
  const issue = collector.add
  if (!Array.isArray(value)) {
    issue(
      [key],
      value === undefined
        ? "There must be at least one LLM Provider; add a model_providers list with at least one " +
          "`- model: <provider>/<model_id>` entry"
        : `expected a list of providers (e.g. \`- model: openai/gpt-4o\`), got ${show(value)}`
    )
    return { drafts: [], complete: false }
  }
  if (value.length === 0) {
    issue([key], "There must be at least one LLM Provider; add at least one `- model: <provider>/<model_id>` entry")
    return { drafts: [], complete: false }
  }
  const drafts: Array<ProviderDraft> = []
  const names = new Map<string, number>()
  const modelKeys = new Map<string, number>()
  let defaultIndex: number | undefined
  value.forEach((item, i) => {
    const at: Path = [key, i]
    const p: ProviderInput | undefined = decodeAt(ProviderInput, item, at, collector)
    if (p === undefined) return
    const model = p.model.trim()
    const slash = model.indexOf("/")
    if (slash <= 0 || slash === model.length - 1) {
      issue(
        [...at, "model"],
        `Invalid model name ${model}. Please provide model name in the format <provider>/<model_id> or ` +
        `<provider>/* for wildcards.`
      )
      return
    }
    const prefix = model.slice(0, slash).trim()
    const modelId = model.slice(slash + 1).trim()
    const wildcard = modelId === "*"
    const name = p.name ?? model
    if (unsupportedProviders.includes(prefix)) {
      issue(
        [...at, "model"],
        `provider '${prefix}' is not supported by Switchyard (its API is neither Chat Completions nor Messages); ` +
        `remove this entry or put an OpenAI-compatible proxy in front of it (custom prefix, base_url, ` +
        `provider_interface: openai)`
      )
      return
    }
    const before = collector.issues.length
    const fail = issue

    const previousName = names.get(name)
    if (previousName !== undefined) {
      fail(
        [...at, p.name !== undefined ? "name" : "model"],
        `Duplicate model_provider name ${name}, please provide unique name for each model_provider (also used by ` +
        `${key}[${previousName}])`
      )
    } else {
      names.set(name, i)
    }
    if (!wildcard) {
      const previousModel = modelKeys.get(model)
      const previousId = modelKeys.get(modelId)
      if (previousModel !== undefined) {
        fail(
          [...at, "model"],
          `Duplicate model name ${model}, please provide unique model name for each model_provider (also used by ` +
          `${key}[${previousModel}])`
        )
      } else if (previousId !== undefined) {
        fail(
          [...at, "model"],
          `Duplicate model_id ${modelId}, please provide unique model_id for each model_provider (also used by ` +
          `${key}[${previousId}]); clients address models by bare id too, so drop one of them`
        )
      }
      if (!modelKeys.has(model)) modelKeys.set(model, i)
      if (!modelKeys.has(modelId)) modelKeys.set(modelId, i)
    }

    if (p.provider !== undefined && p.provider_interface !== undefined) {
      fail([...at, "provider"], "Please provide either provider or provider_interface, not both")
    }
    const declared = p.provider_interface ?? p.provider
    const declaredKey = p.provider_interface !== undefined ? "provider_interface" : "provider"
    const entry = catalogEntry(prefix)
    let iface: ProviderInterface | undefined
    if (entry !== undefined) {
      iface = entry.interface
      if (declared !== undefined) {
        fail(
          [...at, declaredKey],
          `Please provide provider interface as part of model name ${model} using the format ` +
          `<provider>/<model_id>. For example, use 'openai/gpt-3.5-turbo' instead of 'gpt-3.5-turbo' ('${prefix}' ` +
          `is a known provider: remove ${declaredKey})`
        )
      }
      if (entry.baseUrl === undefined && p.base_url === undefined) {
        fail([...at, "base_url"], `Provider '${prefix}' requires 'base_url' to be set for model ${model}`)
      }
    } else {
      if (p.base_url === undefined || declared === undefined) {
        fail(
          at,
          `Must provide base_url and provider_interface for unsupported provider ${prefix} for ${
            wildcard ? "wildcard " : ""
          }model ${model}. Supported providers are: ${Object.keys(catalog).join(", ")}`
        )
      }
      if (declared !== undefined) {
        iface = customInterface(declared)
        if (iface === undefined) {
          fail(
            [...at, declaredKey],
            `unknown provider_interface '${declared}'; use one of ${customInterfaces.join(", ")}`
          )
        }
      }
    }

    let baseUrl: string | undefined
    if (p.base_url !== undefined) {
      let url: URL | undefined
      try {
        url = new URL(p.base_url)
      } catch {
        url = undefined
      }
      if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
        fail(
          [...at, "base_url"],
          "Please provide a valid URL with scheme (http/https) in base_url, e.g. http://localhost:11434"
        )
      } else {
        baseUrl = p.base_url.trim().replace(/\/+$/, "")
      }
    }

    const isDefault = p.default === true
    if (isDefault) {
      if (wildcard) {
        fail(
          [...at, "default"],
          `Model ${model} is configured as default but uses wildcard (*). Default models cannot be wildcards.`
        )
      } else if (defaultIndex !== undefined) {
        fail(
          [...at, "default"],
          `There must be at most one default LLM Provider; ${key}[${defaultIndex}] is already the default, ` +
            "keep `default: true` on one provider only"
        )
      } else {
        defaultIndex = i
      }
    }
    const inline = p.routing_preferences ?? []
    if (wildcard && inline.length > 0) {
      fail(
        [...at, "routing_preferences"],
        `Model ${model} has routing_preferences but uses wildcard (*). Models with routing preferences cannot be ` +
        `wildcards.`
      )
    }

    const headers = p.headers ?? {}
    for (const header of Object.keys(headers)) {
      if (!headerNamePattern.test(header)) {
        fail([...at, "headers", header], "invalid HTTP header name; use letters, digits and \"-\"")
      }
    }

    const passthroughAuth = p.passthrough_auth === true
    let accessKey = p.access_key !== undefined && p.access_key !== "" ? Redacted.make(p.access_key) : undefined
    let missingKeyVar = missingKeyVars.get(i)
    if (passthroughAuth && (accessKey !== undefined || missingKeyVar !== undefined)) {
      warnings.push(
        `Model provider '${name}' has both 'passthrough_auth: true' and 'access_key' configured. The access_key ` +
        `will be ignored and the client's Authorization header will be forwarded instead.`
      )
      accessKey = undefined
      missingKeyVar = undefined
    }

    if (collector.issues.length > before || iface === undefined) return
    drafts.push({
      path: at,
      inline,
      config: {
        name,
        model,
        provider: prefix,
        modelId,
        wildcard,
        interface: iface,
        baseUrl,
        accessKey,
        missingKeyVar,
        isDefault,
        passthroughAuth,
        headers
      }
    })
  })
  return { drafts, complete: drafts.length === value.length }
}

const resolveRoutes = (
  value: unknown,
  present: boolean,
  drafts: ReadonlyArray<ProviderDraft>,
  modern: boolean,
  version: string,
  complete: boolean,
  isDeclaredModel: (model: string) => boolean,
  metricSources: ReadonlySet<string>,
  collector: Collector,
  warnings: Array<string>
): Array<RoutePreference> => {
  const issue = collector.add
  const topLevel: Array<RoutePreference> = []
  if (present) {
    if (!Array.isArray(value)) {
      issue(["routing_preferences"], `expected a list of routing preferences, got ${show(value)}`)
    } else {
      const seen = new Map<string, number>()
      value.forEach((item, i) => {
        const at: Path = ["routing_preferences", i]
        const decoded = decodeAt(RoutePreferenceInput, item, at, collector)
        if (decoded === undefined) return
        const previous = seen.get(decoded.name)
        if (previous !== undefined) {
          issue(
            [...at, "name"],
            `Duplicate routing preference name "${decoded.name}", please provide unique name for each routing ` +
            `preference (also used by routing_preferences[${previous}])`
          )
          return
        }
        seen.set(decoded.name, i)
        decoded.models.forEach((model, j) => {
          if (complete && !isDeclaredModel(model)) {
            const example = model.includes("/") ? model : `<provider>/${model}`
            issue(
              [...at, "models", j],
              `routing_preferences route '${decoded.name}' references model '${model}' which is not declared in ` +
                `model_providers; add a provider with \`model: ${example}\` or use a declared provider name or model`
            )
          }
        })
        const raw = decoded.selection_policy?.prefer
        const prefer: SelectionPreference = raw === "cheapest" || raw === "fastest" ? raw : "none"
        if (prefer !== "none") {
          const source = prefer === "cheapest" ? "cost" : "latency"
          if (!metricSources.has(source)) {
            issue(
              [...at, "selection_policy", "prefer"],
              `routing_preferences route '${decoded.name}' uses prefer: ${prefer} but no ${source} metrics source ` +
              `is configured — add a ${source} metrics source to model_metrics_sources`
            )
          } else {
            warnings.push(
              `routing_preferences route '${decoded.name}' uses prefer: ${prefer}; Switchyard ranks its models in ` +
              `declared order (metrics-based ranking is not implemented)`
            )
          }
        }
        topLevel.push({
          name: decoded.name,
          description: decoded.description,
          models: decoded.models,
          examples: decoded.examples ?? [],
          prefer
        })
      })
    }
  }

  const withInline = drafts.filter((draft) => draft.inline.length > 0)
  if (modern) {
    for (const draft of withInline) {
      warnings.push(
        `${formatPath([...draft.path, "routing_preferences"])} is ignored: version ${version} reads top-level ` +
          `routing_preferences; move it there with \`models: [${draft.config.model}]\``
      )
    }
    return topLevel
  }

  if (withInline.length === 0) {
    if (present && Array.isArray(value) && value.length > 0) {
      issue(
        ["routing_preferences"],
        "top-level routing_preferences requires version v0.4.0 or above. Update the version field or remove " +
        "routing_preferences."
      )
    }
    return topLevel
  }

  // HEAD's migration: merge same-named inline preferences in declaration order; top-level entries win.
  type Migrated = { description: string; models: Array<string>; examples: Array<string> }
  const migrated = new Map<string, Migrated>()
  for (const draft of withInline) {
    for (const pref of draft.inline) {
      const entry = migrated.get(pref.name)
      if (entry === undefined) {
        migrated.set(pref.name, {
          description: pref.description,
          models: [draft.config.model],
          examples: [...(pref.examples ?? [])]
        })
        continue
      }
      if (pref.description !== "" && pref.description !== entry.description) {
        warnings.push(
          `routing preference '${pref.name}' has conflicting descriptions across providers; keeping the first one.`
        )
      }
      if (!entry.models.includes(draft.config.model)) entry.models.push(draft.config.model)
      for (const example of pref.examples ?? []) {
        if (!entry.examples.includes(example)) entry.examples.push(example)
      }
    }
  }
  const result = [...topLevel]
  for (const [name, entry] of migrated) {
    if (topLevel.some((route) => route.name === name)) {
      warnings.push(
        `routing preference '${name}' is declared both at the top level and inline under model_providers; the ` +
        `top-level entry wins`
      )
      continue
    }
    const { description, examples, models } = entry
    result.push({ name, description, models, examples, prefer: "none" })
  }
  warnings.push(
    `inline routing_preferences under model_providers is deprecated (version ${version}) and has been migrated to ` +
    `top-level routing_preferences; update your config to the v0.4.0 top-level form`
  )
  return result
}

type RoutingInput = typeof RoutingInput.Type

/** Decodes the routing block key by key, so one bad field does not hide problems in the others. */
const decodeRoutingAt = (value: unknown, collector: Collector): RoutingInput | undefined => {
  if (!isRecord(value)) return decodeAt(RoutingInput, value, ["routing"], collector)
  const known = Object.keys(RoutingInput.fields)
  const out: { -readonly [K in keyof RoutingInput]?: RoutingInput[K] } = {}
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      collector.add(["routing", key], unknownKey(key, known.join(", ")))
      continue
    }
    const field = key as keyof RoutingInput
    const decoded = decodeAt(RoutingInput.pipe(Schema.pick(field)), { [key]: value[key] }, ["routing"], collector)
    if (decoded !== undefined) Object.assign(out, decoded)
  }
  return out
}

const resolveRouting = (
  tree: Record<string, unknown>,
  providers: ReadonlyArray<Omit<ProviderConfig, "internal">>,
  complete: boolean,
  collector: Collector,
  warnings: Array<string>
): RoutingSettings | undefined => {
  const issue = collector.add
  const before = collector.issues.length
  const decoded = hasOwn(tree, "routing") ? decodeRoutingAt(tree["routing"], collector) : {}

  let sessionScopeHeader = decoded?.session_scope_header
  const cache = decoded?.session_cache
  if (cache?.tenant_header !== undefined) {
    if (sessionScopeHeader !== undefined && sessionScopeHeader.toLowerCase() !== cache.tenant_header.toLowerCase()) {
      issue(
        ["routing", "session_cache", "tenant_header"],
        `conflicts with routing.session_scope_header (${sessionScopeHeader}); set only one of them`
      )
    }
    sessionScopeHeader = cache.tenant_header
  }
  if (cache?.type === "redis") {
    warnings.push("routing.session_cache.type: redis is not implemented; Switchyard uses its in-memory session cache")
  }

  let adminKey: Redacted.Redacted<string> | undefined
  if (decoded?.admin_key !== undefined) {
    if (decoded.admin_key === "") {
      issue(["routing", "admin_key"], "is empty; set it (e.g. `admin_key: $SWITCHYARD_ADMIN_KEY`) or remove the key")
    } else {
      adminKey = Redacted.make(decoded.admin_key)
    }
  }

  const resolveModel = (model: string, path: Path): string | undefined => {
    const byName = providers.find((p) => p.name === model)
    if (byName !== undefined) return byName.name
    const byModel = providers.find((p) => !p.wildcard && p.model === model)
    if (byModel !== undefined) return byModel.name
    const slash = model.indexOf("/")
    const stripped = slash >= 0 ? model.slice(slash + 1) : model
    const byId = providers.find((p) => !p.wildcard && (p.modelId === stripped || p.modelId === model))
    if (byId !== undefined) return byId.name
    if (slash > 0 && providers.some((p) => p.wildcard && p.provider === model.slice(0, slash))) return model
    if (!complete) return undefined
    issue(
      path,
      `router model '${model}' is not declared in model_providers; declare a provider for it, e.g. ` +
        "`- model: plano/Arch-Router` with `base_url: http://localhost:8000/v1` (an OpenAI-compatible server " +
        "hosting it), or name a configured provider"
    )
    return undefined
  }

  let router: RouterSettings = { type: "embedded", threshold: undefined }
  // Read from the raw block so the router is still checked when another routing key is wrong.
  const routingRaw = tree["routing"]
  const explicit = isRecord(routingRaw) ? routingRaw["router"] : undefined
  if (explicit !== undefined) {
    const at: Path = ["routing", "router"]
    if (typeof explicit === "string") {
      if (explicit !== "embedded") {
        issue(
          at,
          "expected \"embedded\" or a mapping {type: embedded, threshold} / {type: llm, model, timeout_ms, " +
            `max_tokens}, got ${show(explicit)}`
        )
      }
    } else if (isRecord(explicit) && explicit["type"] === "llm") {
      const llm = decodeAt(LlmRouterInput, explicit, at, collector)
      const model = llm === undefined ? undefined : resolveModel(llm.model, [...at, "model"])
      if (llm !== undefined && model !== undefined) {
        router = {
          type: "llm",
          model,
          timeoutMs: llm.timeout_ms ?? defaults.routerTimeoutMs,
          maxTokens: llm.max_tokens ?? defaults.routerMaxTokens
        }
      }
    } else if (isRecord(explicit) && explicit["type"] === "embedded") {
      const embedded = decodeAt(EmbeddedRouterInput, explicit, at, collector)
      if (embedded !== undefined) router = { type: "embedded", threshold: embedded.threshold }
    } else if (isRecord(explicit)) {
      issue([...at, "type"], `expected embedded or llm, got ${show(explicit["type"])}`)
    } else {
      issue(at, `expected "embedded" or a mapping with type: embedded | llm, got ${show(explicit)}`)
    }
  }

  const overrides = tree["overrides"]
  if (overrides !== undefined) {
    if (!isRecord(overrides)) {
      issue(["overrides"], `expected a mapping, got ${show(overrides)}`)
    } else if (hasOwn(overrides, "llm_routing_model")) {
      const at: Path = ["overrides", "llm_routing_model"]
      const model = decodeAt(NonEmptyString, overrides["llm_routing_model"], at, collector)
      if (model !== undefined && explicit !== undefined) {
        warnings.push("overrides.llm_routing_model is ignored because routing.router is set explicitly")
      } else if (model !== undefined) {
        const resolved = resolveModel(model, at)
        if (resolved !== undefined) {
          router = {
            type: "llm",
            model: resolved,
            timeoutMs: defaults.routerTimeoutMs,
            maxTokens: defaults.routerMaxTokens
          }
        }
      }
    }
  }

  if (decoded === undefined || collector.issues.length > before) return undefined
  return {
    sessionTtlSeconds: decoded.session_ttl_seconds ?? defaults.sessionTtlSeconds,
    sessionMaxEntries: decoded.session_max_entries ?? defaults.sessionMaxEntries,
    sessionSweepIntervalSeconds: decoded.session_sweep_interval_seconds ?? defaults.sessionSweepIntervalSeconds,
    sessionScopeHeader,
    adminKey,
    router
  }
}

const scrub = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((acc, secret) => secret.length >= 3 ? acc.split(secret).join("<redacted>") : acc, text)

const lookupVariable = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.orElseSucceed(() => Option.none<string>()),
    Effect.map((value) => [name, Option.getOrUndefined(value)] as const)
  )

/** Resolves an already-parsed config document (environment variables are read through Effect's `Config`). */
export const parseObject = Effect.fn("ConfigFile.parseObject")(function*(raw: unknown) {
  const names = isRecord(raw) ? collectVariables(raw, skipSet(raw, scanIgnored(raw))) : []
  const env = new Map(yield* Effect.forEach(names, lookupVariable))
  const built = build(raw, env)
  if (built.config === undefined) {
    return yield* new ConfigError({
      issues: built.issues.map((i) => ({ path: i.path, message: scrub(i.message, built.secrets) }))
    })
  }
  const warnings = built.config.warnings.map((w) => scrub(w, built.secrets))
  const config: ResolvedConfig = { ...built.config, warnings }
  return config
})

/** Parses YAML text and resolves it; syntax errors carry `file:line:column`. */
export const parseText = Effect.fn("ConfigFile.parseText")(function*(text: string, fileName?: string) {
  const doc = YAML.parseDocument(text)
  if (doc.errors.length > 0) {
    return yield* new ConfigError({
      issues: doc.errors.map((error) => {
        const position = error.linePos?.[0]
        const where = position === undefined ? "" : `:${position.line}:${position.col}`
        const message = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, "")
        return { path: `${fileName ?? "config"}${where}`, message: `YAML syntax error: ${message}` }
      })
    })
  }
  return yield* parseObject(doc.toJS())
})

/** Reads and resolves a config file. */
export const load = Effect.fn("ConfigFile.load")(function*(path: string) {
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs.readFileString(path).pipe(
    Effect.mapError((error) =>
      new ConfigError({
        issues: [{
          path,
          message: error._tag === "SystemError" && error.reason === "NotFound"
            ? "config file not found; check the path"
            : `cannot read the config file: ${error.message}`
        }]
      })
    )
  )
  return yield* parseText(text, path)
})

/** `GatewayConfig` loaded from a YAML file. */
export const layerFile = (path: string): Layer.Layer<GatewayConfig, ConfigError, FileSystem.FileSystem> =>
  Layer.effect(GatewayConfig, load(path))

/** `GatewayConfig` from YAML text (tests, embedding apps). */
export const layerText = (text: string): Layer.Layer<GatewayConfig, ConfigError> =>
  Layer.effect(GatewayConfig, parseText(text))

const formatMs = (ms: number): string => ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`

const formatBytes = (bytes: number): string =>
  bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : bytes % 1024 === 0
    ? `${bytes / 1024} KiB`
    : `${bytes} B`

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
  if (config.ignoredKeys.length > 0) lines.push(`ignored (not implemented): ${config.ignoredKeys.join(", ")}`)
  for (const warning of config.warnings) lines.push(`warning: ${warning}`)
  const secrets = [...config.providers.map((p) => p.accessKey), routing.adminKey]
    .filter((key) => key !== undefined)
    .map((key) => Redacted.value(key))
  return lines.map((line) => scrub(line, secrets))
}
