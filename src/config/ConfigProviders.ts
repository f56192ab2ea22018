import * as Redacted from "effect/Redacted"
import { type Collector, decodeAt, type Path } from "./ConfigIssue.js"
import { hasOwn, headerNamePattern, type InlinePreferenceInput, ProviderInput, show } from "./ConfigSchema.js"
import type { ProviderConfig, ProviderInterface } from "./GatewayConfig.js"
import { type CatalogEntry, catalog, customInterfaces, unsupportedProviders } from "./ProviderCatalog.js"

/** The catalog entry for a known provider prefix. */
export const catalogEntry = (prefix: string): CatalogEntry | undefined =>
  hasOwn(catalog, prefix) ? catalog[prefix] : undefined

const customInterface = (declared: string): ProviderInterface | undefined => {
  const exact = customInterfaces.find((iface) => iface === declared)
  if (exact !== undefined) return exact
  // Plano's own interface names for custom prefixes.
  if (declared === "claude") return "anthropic"
  if (declared === "arch") return "plano"
  return catalogEntry(declared)?.interface
}

/** A valid provider, before `internal` is known, with where it was declared and its inline preferences. */
export interface ProviderDraft {
  readonly config: Omit<ProviderConfig, "internal">
  readonly path: Path
  readonly inline: ReadonlyArray<typeof InlinePreferenceInput.Type>
}

/** Validates the providers list; `complete` is false when any entry was rejected. */
export const resolveProviders = (
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
