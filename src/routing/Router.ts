import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { buildRouterRequest, parseRouterOutput } from "./ArchRouterPrompt.js"
import type { Turn } from "./Conversation.js"
import { classify, EmbeddedRouter, make as makeEmbeddedRouter } from "./EmbeddedRouter.js"
import type { CompiledRoutes } from "./EmbeddedRouter.js"
import { GatewayConfig } from "../config/GatewayConfig.js"
import type { RoutePreference } from "../config/GatewayConfig.js"
import { Providers } from "../providers/Providers.js"
import { readBody, Upstream } from "../providers/Upstream.js"
import type { WordVectorsLoadError } from "./WordVectors.js"

/** What a router concluded for one conversation. */
export interface RouterDecision {
  /** The matched route, or null for "no route". */
  readonly route: string | null
  /** The matched route's ranked models (empty when no route matched). */
  readonly models: ReadonlyArray<string>
  /** 0..1 where the router can tell (the embedded router); undefined for an LLM router. */
  readonly confidence: number | undefined
  /** The router failed or timed out; the caller falls back and must not pin the result. */
  readonly failed: boolean
  /** `routed`, `no_match`, or `router_error` (then `failed` is true). */
  readonly reason: "routed" | "no_match" | "router_error"
  /** Why it failed, for logs (never contains secrets). */
  readonly error: string | undefined
  /** Wall time of the decision in milliseconds (from `Clock`). */
  readonly latencyMs: number
}

/** Picks the route matching the latest user intent. Swap it to plug in another router. */
export class Router extends Context.Tag("switchyard/Router")<Router, {
  readonly kind: "embedded" | "llm" | "custom"
  readonly decide: (routes: ReadonlyArray<RoutePreference>, turns: ReadonlyArray<Turn>) => Effect.Effect<RouterDecision>
}>() {}

/** A failed call to an LLM router; turned into a `router_error` fallback, never a 5xx. */
export class RouterCallFailed extends Data.TaggedError("RouterCallFailed")<{ readonly reason: string }> {}

/** The ranked models of a route by name (none for no route or an unknown one). */
export const modelsOf = (routes: ReadonlyArray<RoutePreference>, route: string | null): ReadonlyArray<string> =>
  route === null ? [] : routes.find((r) => r.name === route)?.models ?? []

const timed = <E>(
  self: Effect.Effect<Omit<RouterDecision, "latencyMs" | "reason">, E>,
  onError: (e: E) => string
): Effect.Effect<RouterDecision> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeNanos
    const result = yield* Effect.either(self)
    const latencyMs = Number((yield* Clock.currentTimeNanos) - start) / 1e6
    return Either.isRight(result)
      ? { ...result.right, reason: result.right.route === null ? "no_match" : "routed", latencyMs }
      : {
        route: null,
        models: [],
        confidence: undefined,
        failed: true,
        reason: "router_error",
        error: onError(result.left),
        latencyMs
      }
  })

interface Classifier {
  readonly compile: (routes: ReadonlyArray<RoutePreference>) => CompiledRoutes
  readonly classify: typeof classify
}

const makeEmbeddedWith = <E extends { readonly message: string }>(
  load: Effect.Effect<Classifier, E>,
  threshold: number | undefined,
  warm: ReadonlyArray<RoutePreference>
) =>
  Effect.gen(function*() {
    const compiled = new WeakMap<ReadonlyArray<RoutePreference>, CompiledRoutes>()
    const byContent = new Map<string, CompiledRoutes>()
    const compile = (embedded: Classifier, routes: ReadonlyArray<RoutePreference>): CompiledRoutes => {
      const known = compiled.get(routes)
      if (known !== undefined) return known
      const key = JSON.stringify(routes.map((r) => [r.name, r.description, r.examples]))
      let c = byContent.get(key)
      if (c === undefined) {
        c = embedded.compile(routes)
        // Inline preferences are per request; bound the cache so hostile clients cannot grow it without limit.
        if (byContent.size >= 256) byContent.clear()
        byContent.set(key, c)
      }
      compiled.set(routes, c)
      return c
    }
    // Compile the configured routes at startup, so the first request pays no compilation.
    if (warm.length > 0) compile(yield* load, warm)
    const decide = (routes: ReadonlyArray<RoutePreference>, turns: ReadonlyArray<Turn>) =>
      timed(
        Effect.flatMap(load, (embedded) =>
          Effect.sync(() => {
            const result = embedded.classify(compile(embedded, routes), turns, threshold)
            return {
              route: result.route,
              models: modelsOf(routes, result.route),
              confidence: result.confidence,
              failed: false,
              error: undefined
            }
          })),
        (e) => e.message
      )
    return Router.of({ kind: "embedded", decide })
  })

/** The embedded offline router; compiled route sets are cached (config routes once, inline ones by content). */
export const makeEmbedded = (threshold: number | undefined, warm: ReadonlyArray<RoutePreference> = []) =>
  Effect.flatMap(EmbeddedRouter, (embedded) => makeEmbeddedWith(Effect.succeed(embedded), threshold, warm))

/**
 * The embedded router that loads its word vectors (~20 MB resident) on the first decision: for configs without
 * routes, where only a request's inline `routing_preferences` ever needs it. A table that cannot be read fails
 * those decisions (`router_error`, the request falls back) instead of the startup.
 */
export const makeEmbeddedLazy = (threshold: number | undefined) =>
  Effect.flatMap(Effect.cached(makeEmbeddedRouter), (load) => makeEmbeddedWith(load, threshold, []))

const contentOf = (reply: unknown): string | null => {
  if (typeof reply !== "object" || reply === null || !("choices" in reply) || !Array.isArray(reply.choices)) {
    throw new Error("router reply is not a chat completion")
  }
  const first: unknown = reply.choices[0]
  if (typeof first !== "object" || first === null || !("message" in first)) return null
  const message: unknown = first.message
  if (typeof message !== "object" || message === null || !("content" in message)) return null
  return typeof message.content === "string" ? message.content : null
}

/** An Arch-Router-style LLM router: Plano's prompt byte for byte, sent to a configured provider. */
export const makeLlm = (options: { readonly model: string; readonly timeoutMs: number; readonly maxTokens: number }) =>
  Effect.gen(function*() {
    const providers = yield* Providers
    const upstream = yield* Upstream
    const target = providers.resolve(options.model)
    const call = (routes: ReadonlyArray<RoutePreference>, turns: ReadonlyArray<Turn>) =>
      Effect.gen(function*() {
        if (target === undefined) return yield* new RouterCallFailed({ reason: `router model ${options.model} is not configured` })
        const endpoint = providers.endpoint(target, {})
        if (Either.isLeft(endpoint)) return yield* new RouterCallFailed({ reason: endpoint.left.message })
        if (endpoint.right.wire !== "chat") {
          return yield* new RouterCallFailed({ reason: "the router model must speak the OpenAI chat API" })
        }
        const request = buildRouterRequest(routes, turns, { model: target.modelId, maxTokens: options.maxTokens })
        const { headers, origin, path } = endpoint.right
        const text = yield* Effect.tryPromise({
          try: async (signal) => {
            const timeout = AbortSignal.timeout(options.timeoutMs)
            const response = await upstream.send({
              origin,
              path,
              method: "POST",
              headers,
              body: JSON.stringify(request),
              signal: AbortSignal.any([signal, timeout])
            })
            const body = (await readBody(response, 1 << 20)).toString("utf8")
            if (response.statusCode >= 400) throw new Error(`router answered HTTP ${response.statusCode}`)
            return body
          },
          catch: (cause) =>
            new RouterCallFailed({
              reason: cause instanceof Error && cause.name === "TimeoutError"
                ? `router timed out after ${options.timeoutMs} ms`
                : cause instanceof Error
                ? cause.message
                : String(cause)
            })
        })
        const content = yield* Effect.try({
          try: () => contentOf(JSON.parse(text)),
          catch: () => new RouterCallFailed({ reason: "router reply is not JSON" })
        })
        const parsed = parseRouterOutput(content)
        if (Either.isLeft(parsed)) return yield* new RouterCallFailed({ reason: "router output is not parsable" })
        const route = parsed.right !== null && routes.some((r) => r.name === parsed.right) ? parsed.right : null
        return { route, models: modelsOf(routes, route), confidence: undefined, failed: false, error: undefined }
      })
    const decide = (routes: ReadonlyArray<RoutePreference>, turns: ReadonlyArray<Turn>) =>
      timed(call(routes, turns), (e) => e.reason).pipe(
        Effect.tap((d) => d.failed ? Effect.logWarning("router call failed; falling back", d.error) : Effect.void),
        Effect.annotateLogs({ service: "Router" })
      )
    return Router.of({ kind: "llm", decide })
  })

/** The embedded router (loads its word vectors once). */
export const layerEmbedded = (
  threshold?: number,
  warm: ReadonlyArray<RoutePreference> = []
): Layer.Layer<Router, never, EmbeddedRouter> => Layer.effect(Router, makeEmbedded(threshold, warm))

/** An LLM router behind the Providers layer. */
export const layerLlm = (options: { readonly model: string; readonly timeoutMs: number; readonly maxTokens: number }) =>
  Layer.effect(Router, makeLlm(options))

/** The router `routing.router` (or `overrides.llm_routing_model`) selects. */
export const layerConfig: Layer.Layer<Router, WordVectorsLoadError, GatewayConfig | Providers | Upstream> =
  Layer.unwrapEffect(
  Effect.map(GatewayConfig, (config) => {
    const settings = config.routing.router
    return settings.type === "llm"
      ? layerLlm(settings)
      : config.routingPreferences.length === 0
      ? Layer.effect(Router, makeEmbeddedLazy(settings.threshold))
      : layerEmbedded(settings.threshold, config.routingPreferences).pipe(Layer.provide(EmbeddedRouter.Default))
  })
)
