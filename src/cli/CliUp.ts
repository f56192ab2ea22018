import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as GatewayConfig from "../config/GatewayConfig.js"
import type { ResolvedConfig } from "../config/GatewayConfig.js"
import { LiveGateway } from "../reload/LiveGateway.js"
import * as LiveServer from "../reload/LiveServer.js"

/** How `up` serves: the listen overrides and whether to watch the config file. */
export interface UpOptions {
  readonly port: number | undefined
  readonly host: string | undefined
  readonly watch: boolean
}

/**
 * Serves the live gateway until interrupted. The process owns its signals, so SIGHUP (reload the config) is
 * installed here rather than in a library layer.
 */
export const serve = (path: string, config: ResolvedConfig, options: UpOptions) =>
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
    return yield* Effect.never
  }).pipe(
    Effect.scoped,
    Effect.provide(
      LiveServer.layerServer(path, options).pipe(Layer.provide(GatewayConfig.layer(config)))
    )
  )
