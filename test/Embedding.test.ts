import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime } from "effect"
import { spawn } from "node:child_process"
import { execFile } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { promisify } from "node:util"
// The package entry point, as an embedding app imports it (package.json "exports" → dist/index.js).
import { Gateway, GatewayApp, GatewayConfig } from "switchyard"
import { openAiJson, startMock } from "./support/MockUpstream.js"
import type { MockUpstream } from "./support/MockUpstream.js"
import { loadConfig } from "./support/TestGateway.js"

const yaml = (mock: string) => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${mock}
    access_key: test-key
    default: true
`

let mock: MockUpstream
let configLayer: Layer.Layer<GatewayConfig.GatewayConfig>

beforeAll(async () => {
  mock = await startMock(openAiJson())
  configLayer = GatewayConfig.layer(await loadConfig(yaml(mock.url)))
})

afterAll(() => mock.close())

const chat = (base: string, path = "/v1/chat/completions") =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
  })

describe("embedding from the package entry point", () => {
  it("adds the gateway to an app's layer graph with the app's own server layer", async () => {
    const server = createServer()
    const runtime = ManagedRuntime.make(
      Gateway.layer().pipe(
        Layer.provide(configLayer),
        Layer.provide(NodeHttpServer.layer(() => server, { port: 0, host: "127.0.0.1" }))
      )
    )
    try {
      await runtime.runPromise(Effect.void)
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const response = await chat(base)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers.get("x-routing-model"), "openai/gpt-4o-mini")
      const body = await response.json() as { choices: Array<{ message: { content: string } }> }
      assert.strictEqual(body.choices[0]!.message.content, "served by gpt-4o-mini")
      const health = await fetch(`${base}/healthz`)
      assert.strictEqual(health.status, 200)
    } finally {
      await runtime.dispose()
    }
  })

  it("mounts the gateway HttpApp inside the app's own router", async () => {
    const server = createServer()
    const mine = HttpLayerRouter.add("GET", "/mine", HttpServerResponse.text("my route"))
    const mounted = HttpLayerRouter.use((router) =>
      Effect.flatMap(GatewayApp.GatewayApp, (app) => router.add("*", "/*", app.httpApp))
    )
    const runtime = ManagedRuntime.make(
      HttpLayerRouter.serve(Layer.mergeAll(mine, mounted), { disableLogger: true, disableListenLog: true }).pipe(
        Layer.provide(Gateway.layerApp),
        Layer.provide(configLayer),
        Layer.provide(NodeHttpServer.layer(() => server, { port: 0, host: "127.0.0.1" }))
      )
    )
    try {
      await runtime.runPromise(Effect.void)
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      assert.strictEqual(await (await fetch(`${base}/mine`)).text(), "my route")
      const response = await chat(base)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers.get("x-routing-reason"), "requested")
    } finally {
      await runtime.dispose()
    }
  })

  it("serves as a plain Node request listener", async () => {
    const runtime = ManagedRuntime.make(Gateway.layerApp.pipe(Layer.provide(configLayer)))
    const app = await runtime.runPromise(GatewayApp.GatewayApp)
    const server = createServer(app.listener)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const response = await chat(base)
      assert.strictEqual(response.status, 200)
      const models = await (await fetch(`${base}/v1/models`)).json() as { data: Array<{ id: string }> }
      assert.deepStrictEqual(models.data.map((m) => m.id), ["openai/gpt-4o-mini"])
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await runtime.dispose()
    }
  })
})

describe("the embedding example", () => {
  it("type-checks against the built package", async () => {
    await promisify(execFile)("npx", ["tsc", "-p", "examples/tsconfig.json", "--noEmit"], { timeout: 60_000 })
  }, 90_000)

  it("runs and proxies through the embedded gateway", async () => {
    const dir = await import("node:fs/promises").then((fs) => fs.mkdtemp("/tmp/switchyard-embed-"))
    const file = `${dir}/config.yaml`
    await import("node:fs/promises").then((fs) => fs.writeFile(file, yaml(mock.url)))
    // tsx itself, not through npx: npx does not pass SIGTERM on, and the example would outlive the test.
    const child = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", "examples/embed.ts", file], {
      env: { ...process.env, PORT: "0" }
    })
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = ""
        const onData = (chunk: Buffer) => {
          out += chunk.toString()
          const match = /Listening on (http:\/\/[^\s"]+)/i.exec(out)
          if (match !== null) resolve(match[1]!)
        }
        child.stdout.on("data", onData)
        child.stderr.on("data", onData)
        child.once("exit", (code) => reject(new Error(`example exited with ${code}: ${out}`)))
      })
      const response = await chat(base)
      assert.strictEqual(response.status, 200)
      const pins = await (await fetch(`${base}/my/pins`)).json() as { size: number }
      assert.strictEqual(pins.size, 0)
    } finally {
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve()
        else child.once("exit", () => resolve())
      })
      child.kill("SIGTERM")
      await exited
    }
  }, 30_000)
})
