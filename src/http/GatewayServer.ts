import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { answerClientError } from "./ClientError.js"
import { GatewayApp } from "./GatewayApp.js"
import { GatewayConfig } from "../config/GatewayConfig.js"
import { bindRefusal, startupNotes } from "../auth/Exposure.js"

/** The gateway's own `node:http` server, bound while its layer is alive. */
export class GatewayServer extends Context.Tag("switchyard/GatewayServer")<GatewayServer, {
  readonly host: string
  readonly port: number
  /** `http://HOST:PORT` as bound (0.0.0.0 and :: are shown as given). */
  readonly url: string
}>() {}

/** Where to listen; unset fields come from the config's model listener. */
export interface ListenOptions {
  readonly port?: number | undefined
  readonly host?: string | undefined
  /** How long shutdown waits for in-flight requests before cutting them (default 10 s). */
  readonly drainTimeoutMs?: number | undefined
}

const formatHost = (host: string) => host.includes(":") ? `[${host}]` : host

/** Listens on the configured address; on release stops accepting, drains in-flight requests, then closes. */
export const layer = (options: ListenOptions = {}): Layer.Layer<GatewayServer, Error, GatewayApp | GatewayConfig> =>
  Layer.scoped(
    GatewayServer,
    Effect.gen(function*() {
      const config = yield* GatewayConfig
      const app = yield* GatewayApp
      const host = options.host ?? config.listener.address
      const port = options.port ?? config.listener.port
      const drainTimeoutMs = options.drainTimeoutMs ?? 10_000
      const refusal = bindRefusal(config, host)
      if (refusal !== undefined) return yield* Effect.fail(new Error(refusal))
      const server = yield* Effect.acquireRelease(
        Effect.async<ReturnType<typeof createServer>, Error>((resume) => {
          const server = createServer(app.listener)
          server.keepAliveTimeout = 65_000
          server.headersTimeout = 66_000
          // The listener timeout bounds upstream calls; Node's own per-request timeout would cut long streams.
          server.requestTimeout = 0
          server.on("clientError", answerClientError)
          const onError = (error: Error) => resume(Effect.fail(error))
          server.once("error", onError)
          server.listen(port, host, () => {
            server.off("error", onError)
            resume(Effect.succeed(server))
          })
        }),
        (server) =>
          Effect.raceAll([
            Effect.async<void>((resume) => {
              server.close(() => resume(Effect.void))
            }),
            // Keep-alive sockets go idle as their last response ends; close them as they do, not at the deadline.
            Effect.sync(() => server.closeIdleConnections()).pipe(
              Effect.repeat(Schedule.spaced("50 millis")),
              Effect.zipRight(Effect.never)
            ),
            Effect.sleep(drainTimeoutMs).pipe(
              Effect.zipRight(Effect.sync(() => server.closeAllConnections())),
              Effect.zipRight(Effect.never)
            )
          ]).pipe(Effect.zipLeft(Effect.logInfo("stopped; in-flight requests drained")))
      )
      const address = server.address() as AddressInfo
      const url = `http://${formatHost(address.address)}:${address.port}`
      if (config.ignoredKeys.length > 0) {
        yield* Effect.logWarning(`ignoring Plano keys Switchyard does not implement: ${config.ignoredKeys.join(", ")}`)
      }
      for (const warning of config.warnings) yield* Effect.logWarning(warning)
      for (const note of startupNotes(config, address.address)) yield* Effect.logWarning(note)
      yield* Effect.logInfo(`listening on ${url}`)
      return { host: address.address, port: address.port, url }
    }).pipe(Effect.annotateLogs({ service: "GatewayServer" }))
  )
