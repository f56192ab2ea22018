import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ConfigFile from "./config/ConfigFile.js"
import { GatewayApp } from "./http/GatewayApp.js"
import type { GatewayConfig } from "./config/GatewayConfig.js"
import * as GatewayServer from "./http/GatewayServer.js"
import * as LeveledLogger from "./http/LeveledLogger.js"
import { MetricsScrape } from "./http/MetricsScrape.js"
import * as MetricsServer from "./http/MetricsServer.js"
import type * as PinCache from "./pinning/PinCache.js"
import * as PinCacheRedis from "./pinning/PinCacheRedis.js"
import { Providers } from "./providers/Providers.js"
import { ProxyHandler } from "./http/ProxyHandler.js"
import { CountTokens } from "./http/CountTokens.js"
import { ResponsesHandler } from "./http/ResponsesHandler.js"
import type { ConversationStore } from "./state/ConversationStore.js"
import * as ConversationStorePostgres from "./state/ConversationStorePostgres.js"
import * as RequestObserver from "./observability/RequestObserver.js"
import * as Tracing from "./observability/Tracing.js"
import { Attempts } from "./http/Fallback.js"
import { Cooldowns } from "./providers/Cooldowns.js"
import { PinFailover } from "./routing/PinFailover.js"
import { RouteDecider } from "./routing/RouteDecider.js"
import * as Router from "./routing/Router.js"
import * as TurnPins from "./pinning/TurnPins.js"
import * as Upstream from "./providers/Upstream.js"
import type { WordVectorsLoadError } from "./routing/WordVectors.js"
import { Access } from "./auth/Access.js"
import { ClientKeys } from "./auth/ClientKeys.js"
import * as RateLimiter from "./auth/RateLimiter.js"
import * as ConfigWatch from "./config/ConfigWatch.js"
import { GatewayConfig as GatewayConfigTag } from "./config/GatewayConfig.js"
import { EmbeddingsHandler } from "./http/EmbeddingsHandler.js"

/** Everything the gateway app is made of. */
export type Services =
  | GatewayApp
  | ProxyHandler
  | ResponsesHandler
  | CountTokens
  | ConversationStore
  | Attempts
  | Cooldowns
  | PinFailover
  | RouteDecider
  | Providers
  | Upstream.Upstream
  | Router.Router
  | PinCache.PinCache
  | EmbeddingsHandler
  | Access
  | ClientKeys
  | RateLimiter.RateLimiter
  | ConfigWatch.ConfigWatch
  | RequestObserver.RequestObserver
  | Tracing.Tracing
  | MetricsScrape
  | TurnPins.TurnPins

/** A router layer may use the config, the providers and the upstream pool (as the LLM router does). */
export type RouterLayer = Layer.Layer<Router.Router, WordVectorsLoadError, GatewayConfig | Providers | Upstream.Upstream>

/** A pin store layer may use the config and fail to start (as the Redis store does when Redis is unreachable). */
export type PinsLayer = Layer.Layer<PinCache.PinCache, PinCache.PinCacheError, GatewayConfig>

/** Swappable parts: the router and the pin store (defaults: chosen by config; pins in memory unless Redis is set). */
export interface Parts {
  readonly router?: RouterLayer | undefined
  readonly pins?: PinsLayer | undefined
  /** Re-checks the config file for `/readyz` (default: nothing to watch). */
  readonly configWatch?: Layer.Layer<ConfigWatch.ConfigWatch> | undefined
  /** The rate-limit store (default: Redis when the session store is Redis, else memory). */
  readonly rateLimiter?: Layer.Layer<RateLimiter.RateLimiter, never, GatewayConfig> | undefined
  /** The upstream pool (a live gateway shares one across config generations). */
  readonly upstream?: Layer.Layer<Upstream.Upstream> | undefined
  /** The turn-pin store (default: beside the session store, as the config says). */
  readonly turns?: Layer.Layer<TurnPins.TurnPins, PinCache.PinCacheError, GatewayConfig> | undefined
  /** Where `/v1/responses` conversation state lives (default: as `state_storage` says). */
  readonly conversations?: Layer.Layer<ConversationStore, never, GatewayConfig> | undefined
}

/** What can fail while the gateway starts. */
export type StartError = WordVectorsLoadError | PinCache.PinCacheError

/** The gateway app (HttpApp + Node listener) with every service it needs, from a `GatewayConfig`. */
export const layerAppWith = (parts: Parts = {}): Layer.Layer<Services, StartError, GatewayConfig> => {
  const base = Layer.mergeAll(
    Providers.Default,
    parts.upstream ?? Upstream.layer(),
    RequestObserver.layerConfig,
    Tracing.layerConfig,
    Cooldowns.Default
  )
  const services = Layer.mergeAll(
    parts.router ?? Router.layerConfig,
    parts.pins ?? PinCacheRedis.layerConfig,
    parts.turns ?? TurnPins.layerConfig,
    parts.conversations ?? ConversationStorePostgres.layerConfig
  ).pipe(Layer.provideMerge(base))
  const access = Access.Default.pipe(
    Layer.provideMerge(Layer.mergeAll(ClientKeys.Default, parts.rateLimiter ?? RateLimiter.layerConfig)),
    Layer.provideMerge(parts.configWatch ?? ConfigWatch.layerStatic)
  )
  return GatewayApp.Default.pipe(
    Layer.provideMerge(MetricsScrape.Default),
    Layer.provideMerge(EmbeddingsHandler.Default),
    Layer.provideMerge(ProxyHandler.Default),
    Layer.provideMerge(ResponsesHandler.Default),
    Layer.provideMerge(CountTokens.Default),
    Layer.provideMerge(Attempts.Default),
    Layer.provideMerge(Layer.merge(RouteDecider.Default, PinFailover.Default)),
    Layer.provideMerge(access),
    Layer.provideMerge(services)
  )
}

/** The gateway app with the default parts. */
export const layerApp = layerAppWith()

/** The gateway on its own `node:http` server (the standalone program). */
export const layerServer = (
  options: GatewayServer.ListenOptions & Parts & { readonly configPath?: string | undefined } = {}
) => {
  const configWatch = options.configWatch ??
    (options.configPath === undefined
      ? undefined
      : ConfigWatch.layerFile(options.configPath).pipe(Layer.provide(NodeFileSystem.layer)))
  const server = Layer.merge(GatewayServer.layer(options), MetricsServer.layer).pipe(
    Layer.provideMerge(layerAppWith({ ...options, configWatch })),
    Layer.provide(LeveledLogger.layer)
  )
  const host = options.host
  // The address actually bound decides what the app guards (the pins API off loopback), so the config says it too.
  return host === undefined ? server : server.pipe(
    Layer.provide(
      Layer.effect(
        GatewayConfigTag,
        Effect.map(GatewayConfigTag, (config) => ({ ...config, listener: { ...config.listener, address: host } }))
      )
    )
  )
}

/**
 * The gateway served by an `@effect/platform` `HttpServer` the embedding app provides (e.g. `NodeHttpServer.layer`).
 * The proxy path writes to the Node response underneath, so the server must be a Node one.
 */
export const layer = (parts: Parts = {}): Layer.Layer<never, StartError, HttpServer.HttpServer | GatewayConfig> =>
  Layer.unwrapScoped(Effect.map(GatewayApp, (app) => HttpServer.serve(app.httpApp))).pipe(
    Layer.provide(layerAppWith(parts))
  )

/** Loads the configuration from a YAML file (Plano's `config.yaml`). */
export const layerConfigFile = (path: string) => ConfigFile.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer))
