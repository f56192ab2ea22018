import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { GatewayConfig } from "../config/GatewayConfig.js"
import { MetricsScrape } from "./MetricsScrape.js"

/** The metrics listener: its URL when `observability.metrics.port` is set, else undefined. */
export class MetricsServer extends Context.Tag("switchyard/MetricsServer")<MetricsServer, {
  readonly url: string | undefined
}>() {}

/** `GET /metrics` on its own port (`observability.metrics.port`), e.g. to keep scrapes off the public listener. */
export const layer: Layer.Layer<MetricsServer, Error, GatewayConfig | MetricsScrape> = Layer.scoped(
  MetricsServer,
  Effect.gen(function*() {
    const config = yield* GatewayConfig
    const scrape = yield* MetricsScrape
    const metrics = config.observability?.metrics
    if (metrics?.port === undefined || !scrape.enabled) return { url: undefined }
    const runPromise = Runtime.runPromise(yield* Effect.runtime<never>())
    const server = yield* Effect.acquireRelease(
      Effect.async<ReturnType<typeof createServer>, Error>((resume) => {
        const server = createServer((req, res) => {
          if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
            res.writeHead(404, { "content-type": "text/plain" }).end("not found\n")
            return
          }
          runPromise(scrape.render).then(
            (text) => res.writeHead(200, { "content-type": scrape.contentType }).end(text),
            () => res.writeHead(500).end()
          )
        })
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen(metrics.port, metrics.address ?? config.listener.address, () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
        })
    )
    const address = server.address() as AddressInfo
    const host = address.address.includes(":") ? `[${address.address}]` : address.address
    const url = `http://${host}:${address.port}`
    yield* Effect.logInfo(`metrics on ${url}/metrics`).pipe(Effect.annotateLogs({ service: "MetricsServer" }))
    return { url }
  })
)
