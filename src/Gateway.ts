import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Layer } from "effect"
import * as ConfigFile from "./ConfigFile.js"
import { GatewayApp } from "./GatewayApp.js"
import type { GatewayConfig } from "./GatewayConfig.js"
import * as GatewayServer from "./GatewayServer.js"
import * as PinCache from "./PinCache.js"
import { Providers } from "./Providers.js"
import { ProxyHandler } from "./ProxyHandler.js"
import { RouteDecider } from "./RouteDecider.js"
import * as Router from "./Router.js"
import * as Upstream from "./Upstream.js"

/** Providers, the upstream pool, the router and the pin cache, from a `GatewayConfig`. */
export const layerServices = Layer.mergeAll(Router.layerConfig, PinCache.layerConfig).pipe(
  Layer.provideMerge(Providers.Default),
  Layer.provideMerge(Upstream.layer())
)

/** The gateway app (HttpApp + Node listener) with every service it needs, from a `GatewayConfig`. */
export const layerApp: Layer.Layer<
  GatewayApp | ProxyHandler | RouteDecider | Providers | Upstream.Upstream | Router.Router | PinCache.PinCache,
  never,
  GatewayConfig
> = GatewayApp.Default.pipe(
  Layer.provideMerge(ProxyHandler.Default),
  Layer.provideMerge(RouteDecider.Default),
  Layer.provideMerge(layerServices)
)

/** The gateway on its own `node:http` server (the standalone program). */
export const layerServer = (options: GatewayServer.ListenOptions = {}) =>
  GatewayServer.layer(options).pipe(Layer.provideMerge(layerApp))

/**
 * The gateway served by an `@effect/platform` `HttpServer` the embedding app provides (e.g. `NodeHttpServer.layer`).
 * The proxy path needs a Node server underneath.
 */
export const layer: Layer.Layer<never, never, HttpServer.HttpServer | GatewayConfig> = Layer.unwrapScoped(
  Effect.map(GatewayApp, (app) => HttpServer.serve(app.httpApp))
).pipe(Layer.provide(layerApp))

/** Loads the configuration from a YAML file (Plano's `config.yaml`). */
export const layerConfigFile = (path: string) => ConfigFile.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer))
