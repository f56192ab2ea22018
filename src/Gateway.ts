import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ConfigFile from "./config/ConfigFile.js"
import { GatewayApp } from "./http/GatewayApp.js"
import type { GatewayConfig } from "./config/GatewayConfig.js"
import * as GatewayServer from "./http/GatewayServer.js"
import type * as PinCache from "./pinning/PinCache.js"
import * as PinCacheRedis from "./pinning/PinCacheRedis.js"
import { Providers } from "./providers/Providers.js"
import { ProxyHandler } from "./http/ProxyHandler.js"
import { Attempts } from "./http/Fallback.js"
import { Cooldowns } from "./providers/Cooldowns.js"
import { PinFailover } from "./routing/PinFailover.js"
import { RouteDecider } from "./routing/RouteDecider.js"
import * as Router from "./routing/Router.js"
import * as Upstream from "./providers/Upstream.js"
import type { WordVectorsLoadError } from "./routing/WordVectors.js"

/** Everything the gateway app is made of. */
export type Services =
  | GatewayApp
  | ProxyHandler
  | Attempts
  | Cooldowns
  | PinFailover
  | RouteDecider
  | Providers
  | Upstream.Upstream
  | Router.Router
  | PinCache.PinCache

/** A router layer may use the config, the providers and the upstream pool (as the LLM router does). */
export type RouterLayer = Layer.Layer<Router.Router, WordVectorsLoadError, GatewayConfig | Providers | Upstream.Upstream>

/** A pin store layer may use the config and fail to start (as the Redis store does when Redis is unreachable). */
export type PinsLayer = Layer.Layer<PinCache.PinCache, PinCache.PinCacheError, GatewayConfig>

/** Swappable parts: the router and the pin store (defaults: chosen by config; pins in memory unless Redis is set). */
export interface Parts {
  readonly router?: RouterLayer | undefined
  readonly pins?: PinsLayer | undefined
}

/** What can fail while the gateway starts. */
export type StartError = WordVectorsLoadError | PinCache.PinCacheError

/** The gateway app (HttpApp + Node listener) with every service it needs, from a `GatewayConfig`. */
export const layerAppWith = (parts: Parts = {}): Layer.Layer<Services, StartError, GatewayConfig> => {
  const base = Layer.mergeAll(Providers.Default, Upstream.layer(), Cooldowns.Default)
  const services = Layer.mergeAll(parts.router ?? Router.layerConfig, parts.pins ?? PinCacheRedis.layerConfig).pipe(
    Layer.provideMerge(base)
  )
  return GatewayApp.Default.pipe(
    Layer.provideMerge(ProxyHandler.Default),
    Layer.provideMerge(Attempts.Default),
    Layer.provideMerge(Layer.merge(RouteDecider.Default, PinFailover.Default)),
    Layer.provideMerge(services)
  )
}

/** The gateway app with the default parts. */
export const layerApp = layerAppWith()

/** The gateway on its own `node:http` server (the standalone program). */
export const layerServer = (options: GatewayServer.ListenOptions & Parts = {}) =>
  GatewayServer.layer(options).pipe(Layer.provideMerge(layerAppWith(options)))

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
