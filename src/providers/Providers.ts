import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type { IncomingHttpHeaders } from "node:http"
import { GatewayConfig } from "../config/GatewayConfig.js"
import type { ProviderConfig } from "../config/GatewayConfig.js"
import { MissingApiKey } from "../GatewayError.js"
import { catalog, interfacePathPrefix, keyOptional } from "../config/ProviderCatalog.js"

/** A model a request can be served by: the provider entry and the model id sent upstream. */
export interface ModelTarget {
  /** The routing name, e.g. `openai/gpt-4o` (for a wildcard: `openai/<slug>`). */
  readonly name: string
  /** The id written into the upstream body's `model`. */
  readonly modelId: string
  readonly provider: ProviderConfig
}

/** Which API the upstream speaks. */
export type Wire = "chat" | "messages"

/** Where and how to send a request for a model. */
export interface UpstreamEndpoint {
  readonly origin: string
  readonly path: string
  readonly wire: Wire
  readonly headers: Record<string, string>
}

/** An entry of `GET /v1/models`. */
export interface ModelListing {
  readonly id: string
  readonly object: "model"
  readonly created: number
  readonly owned_by: string
}

const forwardedHeaders = [
  "accept",
  "user-agent",
  "anthropic-beta",
  "openai-beta",
  "x-request-id",
  "traceparent",
  "tracestate",
  "x-routing-session-id",
  "x-model-affinity"
]

interface Base {
  readonly origin: string
  readonly basePath: string
}

const baseOf = (provider: ProviderConfig): Base => {
  const known = catalog[provider.provider]
  const prefix = known?.pathPrefix ?? interfacePathPrefix[provider.interface]
  const raw = provider.baseUrl ?? known?.baseUrl ?? "http://127.0.0.1"
  const url = new URL(raw)
  const path = url.pathname.replace(/\/+$/, "")
  // Plano's rule: a base_url with a path replaces the provider's default API prefix; a bare origin keeps it.
  const basePath = provider.baseUrl === undefined ? path : path === "" ? prefix : path
  return { origin: url.origin, basePath }
}

const bearer = /^Bearer\s+/i

const clientCredential = (headers: IncomingHttpHeaders): string | undefined => {
  const auth = headers.authorization
  if (typeof auth === "string" && auth.length > 0) return auth.replace(bearer, "")
  const key = headers["x-api-key"]
  return typeof key === "string" && key.length > 0 ? key : undefined
}

/** Model lookup, `/v1/models`, and upstream endpoints with auth for every configured provider. */
export class Providers extends Effect.Service<Providers>()("switchyard/Providers", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const byKey = new Map<string, ProviderConfig>()
    const wildcards = new Map<string, ProviderConfig>()
    for (const p of config.providers) {
      if (p.wildcard) {
        if (!wildcards.has(p.provider)) wildcards.set(p.provider, p)
        continue
      }
      for (const key of [p.name, p.model, p.modelId]) if (!byKey.has(key)) byKey.set(key, p)
    }
    const bases = new Map<ProviderConfig, Base>(config.providers.map((p) => [p, baseOf(p)]))
    const targets = new Map<string, ModelTarget | null>()

    const exact = (p: ProviderConfig): ModelTarget => ({ name: p.name, modelId: p.modelId, provider: p })

    const lookup = (name: string): ModelTarget | undefined => {
      const hit = byKey.get(name)
      if (hit !== undefined) return exact(hit)
      const slash = name.indexOf("/")
      if (slash <= 0) return undefined
      const prefix = name.slice(0, slash)
      const slug = name.slice(slash + 1)
      const bare = byKey.get(slug)
      if (bare !== undefined && bare.provider === prefix) return exact(bare)
      const wildcard = wildcards.get(prefix)
      if (wildcard !== undefined && slug.length > 0) return { name, modelId: slug, provider: wildcard }
      return undefined
    }

    /** Resolves a client's `model` (alias first, one level) to a target; memoised, as clients repeat names. */
    const resolve = (requested: string): ModelTarget | undefined => {
      const cached = targets.get(requested)
      if (cached !== undefined) return cached ?? undefined
      const target = lookup(config.aliases.get(requested) ?? requested)
      if (targets.size < 10_000) targets.set(requested, target ?? null)
      return target
    }

    const defaultProvider = config.providers.find((p) => p.isDefault && !p.wildcard)
    const defaultTarget = defaultProvider === undefined ? undefined : exact(defaultProvider)

    const models: ReadonlyArray<ModelListing> = config.providers
      .filter((p) => !p.internal && !p.wildcard)
      .map((p) => ({ id: p.name, object: "model", created: 0, owned_by: catalog[p.provider]?.ownedBy ?? p.provider }))

    const credential = (
      provider: ProviderConfig,
      clientHeaders: IncomingHttpHeaders
    ): Either.Either<string | undefined, MissingApiKey> => {
      if (provider.passthroughAuth) return Either.right(clientCredential(clientHeaders))
      if (provider.accessKey !== undefined) return Either.right(Redacted.value(provider.accessKey))
      if (provider.missingKeyVar !== undefined) {
        return Either.left(new MissingApiKey({ provider: provider.name, variable: provider.missingKeyVar }))
      }
      if (keyOptional(provider)) return Either.right(undefined)
      return Either.left(new MissingApiKey({ provider: provider.name, variable: "its access_key" }))
    }

    /** The upstream endpoint for a target, with auth and the provider's custom headers. */
    const endpoint = (
      target: ModelTarget,
      clientHeaders: IncomingHttpHeaders
    ): Either.Either<UpstreamEndpoint, MissingApiKey> => {
      const provider = target.provider
      const key = credential(provider, clientHeaders)
      if (Either.isLeft(key)) return Either.left(key.left)
      const base = bases.get(provider) ?? baseOf(provider)
      const wire: Wire = provider.interface === "anthropic" ? "messages" : "chat"
      const path = wire === "messages"
        ? `${base.basePath}/messages`
        : provider.interface === "azure_openai"
        ? `${base.basePath}/${encodeURIComponent(target.modelId)}/chat/completions?api-version=2025-01-01-preview`
        : `${base.basePath}/chat/completions`
      const headers: Record<string, string> = { "content-type": "application/json" }
      for (const name of forwardedHeaders) {
        const value = clientHeaders[name]
        if (typeof value === "string") headers[name] = value
      }
      const secret = key.right
      if (wire === "messages") {
        headers["anthropic-version"] = typeof clientHeaders["anthropic-version"] === "string"
          ? clientHeaders["anthropic-version"]
          : "2023-06-01"
        if (secret !== undefined) headers["x-api-key"] = secret
      } else if (secret !== undefined) {
        if (provider.interface === "azure_openai") headers["api-key"] = secret
        else headers.authorization = `Bearer ${secret}`
      }
      for (const [name, value] of Object.entries(provider.headers)) headers[name.toLowerCase()] = value
      return Either.right({ origin: base.origin, path, wire, headers })
    }

    return { resolve, defaultTarget, models, endpoint } as const
  })
}) {}
