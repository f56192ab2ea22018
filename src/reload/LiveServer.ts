import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { GatewayConfig } from "../config/GatewayConfig.js"
import type { StartError } from "../Gateway.js"
import { GatewayApp } from "../http/GatewayApp.js"
import * as GatewayServer from "../http/GatewayServer.js"
import * as LeveledLogger from "../http/LeveledLogger.js"
import { MetricsScrape } from "../http/MetricsScrape.js"
import * as MetricsServer from "../http/MetricsServer.js"
import * as ConfigWatch from "./ConfigWatch.js"
import { LiveGateway, make } from "./LiveGateway.js"
import type { LiveOptions } from "./LiveGateway.js"
import * as ReloadEndpoint from "./ReloadEndpoint.js"

/** Options of the live gateway app: its parts, and whether to watch the config file (default true). */
export interface LiveAppOptions extends LiveOptions {
  readonly watch?: boolean | undefined
  readonly watchDebounceMs?: number | undefined
  /** Set on every response as `x-switchyard-worker` (the worker's number under `switchyard up --workers N`). */
  readonly worker?: string | undefined
}

/**
 * The gateway app on a reloadable config file: `LiveGateway` plus a `GatewayApp` whose listener serves
 * `POST /admin/v1/config/reload` and hands everything else to the current generation.
 */
export const layerApp = (
  path: string,
  options: LiveAppOptions = {}
): Layer.Layer<LiveGateway | GatewayApp, StartError, GatewayConfig> =>
  Layer.scopedContext(
    Effect.gen(function*() {
      const { app, service } = yield* make(path, options)
      const reloadEndpoint = ReloadEndpoint.make(service, yield* Effect.runtime<never>())
      const serve = (req: IncomingMessage, res: ServerResponse): void => {
        if (ReloadEndpoint.matches(req)) reloadEndpoint(req, res)
        else service.listener(req, res)
      }
      const worker = options.worker
      const listener = worker === undefined ? serve : (req: IncomingMessage, res: ServerResponse): void => {
        res.setHeader("x-switchyard-worker", worker)
        serve(req, res)
      }
      if (options.watch !== false) yield* ConfigWatch.watch(path, service.reload, options.watchDebounceMs)
      return Context.make(LiveGateway, service).pipe(
        Context.add(GatewayApp, GatewayApp.make({ httpApp: app.httpApp, listener }))
      )
    })
  )

/** The live gateway on its own `node:http` server (the standalone program). */
export const layerServer = (path: string, options: GatewayServer.ListenOptions & LiveAppOptions = {}) =>
  Layer.merge(GatewayServer.layer(options), MetricsServer.layer.pipe(Layer.provide(currentScrape))).pipe(
    Layer.provideMerge(layerApp(path, options)),
    Layer.provide(LeveledLogger.layer)
  )

// The separate metrics port renders what the current generation's scrape renders.
const currentScrape = Layer.effect(
  MetricsScrape,
  Effect.map(LiveGateway, (live) =>
    MetricsScrape.make({
      enabled: live.scrape().enabled,
      contentType: live.scrape().contentType,
      render: Effect.suspend(() => live.scrape().render)
    }))
)
