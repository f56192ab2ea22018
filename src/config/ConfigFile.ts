import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as YAML from "yaml"
import { collectVariables, lookupVariable, scrub, substitute } from "./ConfigEnv.js"
import { type KeysFile, resolveAuth, resolveRateLimits } from "./ConfigAuth.js"
import { readFile } from "node:fs/promises"
import { dirname, resolve as resolvePath } from "node:path"
import { resolveListener } from "./ConfigListener.js"
import { resolveObservability, usedTracingKeys } from "./ConfigObservability.js"
import { resolveProviders } from "./ConfigProviders.js"
import { resolveRoutes } from "./ConfigRoutes.js"
import { resolveRouting } from "./ConfigRouting.js"
import { resolveStateStorage } from "./ConfigStateStorage.js"
import { AliasesInput, hasOwn, isRecord, show } from "./ConfigSchema.js"
import { ConfigIssue, decodeAt, formatPath, makeCollector, type Path } from "./ConfigIssue.js"
import { GatewayConfig, type ProviderConfig, type ResolvedConfig } from "./GatewayConfig.js"

/** One problem in the config file: where it is (a YAML path) and what to do about it. */
export { ConfigIssue } from "./ConfigIssue.js"

/** The config file cannot be used; carries every problem found in one pass. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  issues: Schema.Array(ConfigIssue)
}) {
  override get message(): string {
    return this.issues.map((issue) => `${issue.path}: ${issue.message}`).join("\n")
  }
}

/** Values used when the file leaves a setting out. */
export { defaults } from "./ConfigSchema.js"

/** Human-readable lines describing the effective config (no secrets). */
export { describe } from "./ConfigDescribe.js"

const planoVersions: ReadonlyArray<string> = ["v0.1", "v0.1.0", "0.1-beta", "0.2.0", "v0.3.0", "v0.4.0"]

const usedTopLevelKeys: ReadonlyArray<string> = [
  "version",
  "listeners",
  "model_providers",
  "llm_providers",
  "model_aliases",
  "routing_preferences",
  "routing",
  "overrides",
  "state_storage",
  "auth",
  "ratelimits",
  "tracing",
  "observability"
]

/** Plano top-level keys that Switchyard accepts but does not implement. */
const ignoredTopLevelKeys: ReadonlyArray<string> = [
  "prompt_targets",
  "endpoints",
  "agents",
  "filters",
  "model_metrics_sources",
  "prompt_caching",
  "prompt_guards",
  "system_prompt",
  "mode",
  "skills"
]

const ignoredListenerKeys: ReadonlyArray<string> = [
  "router",
  "agents",
  "input_filters",
  "output_filters"
]
const ignoredRoutingKeys: ReadonlyArray<string> = ["llm_provider", "model", "route_on_user_only", "routing_budget"]

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
    // The url is used (and so substituted) only by the Redis store.
    if (isRecord(cache) && hasOwn(cache, "url") && cache["type"] !== "redis") {
      out.push(["routing", "session_cache", "url"])
    }
  }
  const tracing = raw["tracing"]
  if (isRecord(tracing)) {
    for (const key of Object.keys(tracing)) if (!usedTracingKeys.includes(key)) out.push(["tracing", key])
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

interface Built {
  readonly config: ResolvedConfig | undefined
  readonly issues: ReadonlyArray<ConfigIssue>
  readonly secrets: ReadonlyArray<string>
}

const build = (raw: unknown, env: ReadonlyMap<string, string | undefined>, keysFile?: KeysFile): Built => {
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
  const stateStorage = resolveStateStorage(tree["state_storage"], collector)
  const auth = resolveAuth(tree, collector, keysFile)
  if (auth?.type === "keys") {
    for (const p of providers.filter((p) => p.passthroughAuth)) {
      issue(
        ["auth"],
        `client keys cannot be combined with passthrough_auth (provider ${p.name}): the client's Authorization ` +
          "carries its gateway key, which must not reach the provider; give the provider an access_key"
      )
    }
  }
  const rateLimits = resolveRateLimits(tree, isDeclaredModel, complete, collector)
  const observability = resolveObservability(tree, collector, warnings)

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
      stateStorage,
      ignoredKeys: ignored.map(formatPath),
      warnings,
      ...(auth === undefined ? {} : { auth }),
      ...(rateLimits === undefined ? {} : { rateLimits }),
      observability
    },
    issues: [],
    secrets
  }
}

/** `auth.keys_file` (a path relative to the config file's folder), read and parsed; undefined when not set. */
const readKeysFile = (raw: unknown, baseDir: string | undefined): Effect.Effect<KeysFile | undefined> => {
  const auth = isRecord(raw) ? raw["auth"] : undefined
  const file = isRecord(auth) ? auth["keys_file"] : undefined
  if (typeof file !== "string" || file === "") return Effect.succeed(undefined)
  return Effect.tryPromise(async (): Promise<KeysFile> => ({
    entries: YAML.parse(await readFile(resolvePath(baseDir ?? ".", file), "utf8")) as unknown
  })).pipe(
    Effect.catchAll((error) =>
      Effect.succeed<KeysFile>({ error: error.cause instanceof Error ? error.cause.message : String(error.cause) })
    )
  )
}

/** Resolves an already-parsed config document (environment variables are read through Effect's `Config`). */
export const parseObject = Effect.fn("ConfigFile.parseObject")(function*(raw: unknown, baseDir?: string) {
  const names = isRecord(raw) ? collectVariables(raw, skipSet(raw, scanIgnored(raw))) : []
  const env = new Map(yield* Effect.forEach(names, lookupVariable))
  const built = build(raw, env, yield* readKeysFile(raw, baseDir))
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
  return yield* parseObject(doc.toJS(), fileName === undefined ? undefined : dirname(fileName))
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
