import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as GatewayConfig from "../config/GatewayConfig.js"
import type { ResolvedConfig } from "../config/GatewayConfig.js"
import { ScrapeAggregation } from "../http/MetricsScrape.js"
import { processChannel } from "../pinning/PinCacheIpc.js"
import type { Channel } from "../pinning/PinCacheIpc.js"
import { LiveGateway } from "../reload/LiveGateway.js"
import * as LiveServer from "../reload/LiveServer.js"
import { pinParts, scrapeAggregation } from "./CliWorker.js"

/** How `up` serves: the listen overrides and whether to watch the config file. */
export interface UpOptions {
  readonly port: number | undefined
  readonly host: string | undefined
  readonly watch: boolean
  /** This process's number when it is a worker of `up --workers N` (its pins and metrics go through the primary). */
  readonly worker?: string | undefined
}

const gateway = (path: string, config: ResolvedConfig, options: UpOptions, channel: Channel | undefined) =>
  Effect.gen(function*() {
    const live = yield* LiveGateway
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        // A rejected reload is logged by the reload itself; the running config stays.
        const onHangup = () => runFork(Effect.ignore(live.reload))
        process.on("SIGHUP", onHangup)
        return onHangup
      }),
      (onHangup) => Effect.sync(() => process.off("SIGHUP", onHangup))
    )
    channel?.send({ switchyard: "ready" })
    return yield* Effect.never
  }).pipe(
    Effect.scoped,
    Effect.provide(
      LiveServer.layerServer(path, {
        ...options,
        ...(channel === undefined ? {} : pinParts(config, channel))
      }).pipe(Layer.provide(GatewayConfig.layer(config)))
    )
  )

/**
 * Serves the live gateway until interrupted. The process owns its signals, so SIGHUP (reload the config) is
 * installed here rather than in a library layer. A worker of `up --workers N` takes its pins and `/metrics` from
 * the primary over the cluster's IPC channel.
 */
export const serve = (path: string, config: ResolvedConfig, options: UpOptions) => {
  const channel = options.worker === undefined ? undefined : processChannel()
  if (channel === undefined) return gateway(path, config, options, undefined)
  return Effect.sync(() => {
    // The primary signals its workers to drain; a second signal (a terminal's Ctrl-C reaches the whole process
    // group, then the primary's) must not kill a worker mid-drain, which Node's default action would.
    const ignore = () => {}
    process.on("SIGINT", ignore)
    process.on("SIGTERM", ignore)
  }).pipe(
    Effect.zipRight(gateway(path, config, options, channel)),
    Effect.provide(Layer.scoped(ScrapeAggregation, scrapeAggregation(channel))),
    Effect.annotateLogs({ worker: Number(options.worker) })
  )
}
