import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { type Collector, decodeAt, type Path, unknownKey } from "./ConfigIssue.js"
import { defaults, EmbeddedRouterInput, hasOwn, isRecord, LlmRouterInput, NonEmptyString, RoutingInput, show } from "./ConfigSchema.js"
import type { ProviderConfig, RouterSettings, RoutingSettings } from "./GatewayConfig.js"
import { resolveResilience } from "./ConfigResilience.js"

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

/** Session, admin-key and router settings from `routing` and `overrides`; `undefined` when any is wrong. */
export const resolveRouting = (
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
  let sessionStore: RoutingSettings["sessionStore"]
  if (cache?.type === "redis") {
    const at: Path = ["routing", "session_cache", "url"]
    if (cache.url === undefined) {
      issue(at, "is required with type: redis; set it, e.g. `url: redis://127.0.0.1:6379` or `url: $REDIS_URL`")
    } else if (typeof cache.url !== "string" || !/^rediss?:\/\/./i.test(cache.url)) {
      // A URL may carry a password, so only a non-string is echoed.
      const got = typeof cache.url === "string" ? "" : `, got ${show(cache.url)}`
      issue(at, `expected a redis:// or rediss:// URL${got}`)
    } else {
      const keyPrefix = cache.key_prefix
      sessionStore = {
        type: "redis",
        url: cache.url,
        ...(cache.command_timeout_ms === undefined ? {} : { commandTimeoutMs: cache.command_timeout_ms }),
        ...(keyPrefix === undefined ? {} : { keyPrefix })
      }
    }
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

  const resilience = resolveResilience(decoded, collector)

  if (decoded === undefined || collector.issues.length > before) return undefined
  return {
    sessionTtlSeconds: decoded.session_ttl_seconds ?? defaults.sessionTtlSeconds,
    sessionMaxEntries: decoded.session_max_entries ?? defaults.sessionMaxEntries,
    sessionSweepIntervalSeconds: decoded.session_sweep_interval_seconds ?? defaults.sessionSweepIntervalSeconds,
    sessionScopeHeader,
    // Only present when set, so the in-memory case keeps the settings' original shape.
    ...(sessionStore === undefined ? {} : { sessionStore }),
    adminKey,
    router,
    // Only present when set (defaults apply at use), so existing settings keep their shape.
    ...(decoded.turn_affinity === undefined ? {} : { turnAffinity: decoded.turn_affinity }),
    ...(decoded.turn_ttl_seconds === undefined ? {} : { turnTtlSeconds: decoded.turn_ttl_seconds }),
    ...resilience
  }
}
