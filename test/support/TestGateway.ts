import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import * as ConfigFile from "../../src/config/ConfigFile.js"
import * as Gateway from "../../src/Gateway.js"
import * as GatewayConfig from "../../src/config/GatewayConfig.js"
import { GatewayServer } from "../../src/http/GatewayServer.js"

/** A gateway running in this process on a random loopback port. */
export interface TestGateway {
  readonly url: string
  readonly close: () => Promise<void>
}

/** Loads a YAML config (with `env` as its environment) into a resolved config. */
export const loadConfig = (yaml: string, env: Record<string, string> = {}) =>
  Effect.runPromise(
    ConfigFile.parseText(yaml).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
  )

/** Starts the gateway on port 0; `router` swaps the router (e.g. a counting stub). */
export const startGateway = async (
  yaml: string,
  options: { readonly env?: Record<string, string>; readonly router?: Gateway.RouterLayer } = {}
): Promise<TestGateway> => {
  const config = await loadConfig(yaml, options.env)
  const layer = Gateway.layerServer({ port: 0, host: "127.0.0.1", drainTimeoutMs: 1000, router: options.router }).pipe(
    Layer.provide(GatewayConfig.layer(config))
  )
  const runtime = ManagedRuntime.make(layer)
  const server = await runtime.runPromise(GatewayServer)
  return { url: `http://127.0.0.1:${server.port}`, close: () => runtime.dispose() }
}

/** A provider block pointing at a mock upstream. */
export const provider = (model: string, baseUrl: string, extra = "") =>
  `  - model: ${model}\n    base_url: ${baseUrl}\n    access_key: test-key\n${extra}`
