// Embedding Switchyard in your own Effect app: your server, your routes, the gateway's layers.
//
//   npx tsx examples/embed.ts [config.yaml]      (PORT=0 picks a free port)
//
// The gateway is one layer among yours: give it a config layer and an @effect/platform Node server.
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { Gateway, GatewayApp, PinCache } from "switchyard"

const configPath = process.argv[2] ?? "config.yaml"
const port = Number(process.env.PORT ?? 8080)

// Your own routes next to the gateway's: here, a pin counter that reads the gateway's PinCache service.
const MyRoutes = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const pins = yield* PinCache.PinCache
    yield* router.add("GET", "/my/pins", Effect.map(pins.size, (size) => HttpServerResponse.unsafeJson({ size })))
  })
)

// The gateway app (all of its endpoints) mounted as the fallback of your router.
const GatewayRoutes = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const app = yield* GatewayApp.GatewayApp
    yield* router.add("*", "/*", app.httpApp)
  })
)

const App = HttpLayerRouter.serve(Layer.mergeAll(MyRoutes, GatewayRoutes), { disableListenLog: false }).pipe(
  Layer.provide(Gateway.layerApp),
  Layer.provide(Gateway.layerConfigFile(configPath)),
  Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
)

NodeRuntime.runMain(Layer.launch(App))
