import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, ManagedRuntime } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs/promises"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { bindRefusal, isLoopback } from "../../src/auth/Exposure.js"
import * as Gateway from "../../src/Gateway.js"
import { GatewayApp } from "../../src/http/GatewayApp.js"
import * as GatewayConfig from "../../src/config/GatewayConfig.js"
import { GatewayServer } from "../../src/http/GatewayServer.js"
import * as ConfigWatch from "../../src/config/ConfigWatch.js"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { loadConfig, startGateway } from "../support/TestGateway.js"

const base = (mock: string, extra = "") => `
version: v0.4.0
listeners: [{ type: model, name: l, port: 12000 }]
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${mock}
    access_key: provider-key
    default: true
  - model: acme/coder
    base_url: ${mock}
    access_key: provider-key
    provider_interface: openai
routing_preferences:
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models: [acme/coder]
${extra}
`

let mock: MockUpstream
beforeAll(async () => {
  mock = await startMock()
})
afterAll(async () => {
  await mock?.close()
})

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })

describe("x-routing-mode", () => {
  it("off serves the named model although a route matches (and ignores a pin); auto (the default) routes", async () => {
    const gateway = await startGateway(base(mock.url))
    try {
      const body = {
        model: "openai/gpt-4o-mini",
        messages: [{ role: "user", content: "write a python function that merges two sorted lists" }]
      }
      const routed = await post(gateway.url, body, { "x-routing-session-id": "opt-out-1" })
      assert.strictEqual(routed.headers.get("x-routing-model"), "acme/coder")
      assert.strictEqual(routed.headers.get("x-routing-reason"), "routed")
      await routed.text()
      const off = await post(gateway.url, body, { "x-routing-session-id": "opt-out-1", "x-routing-mode": "off" })
      assert.strictEqual(off.headers.get("x-routing-model"), "openai/gpt-4o-mini")
      assert.strictEqual(off.headers.get("x-routing-reason"), "requested")
      assert.strictEqual(((await off.json()) as { model: string }).model, "gpt-4o-mini")
      const auto = await post(gateway.url, body, { "x-routing-mode": "auto" })
      assert.strictEqual(auto.headers.get("x-routing-model"), "acme/coder")
      await auto.text()
      const bad = await post(gateway.url, body, { "x-routing-mode": "sometimes" })
      assert.strictEqual(bad.status, 400)
      await bad.text()
    } finally {
      await gateway.close()
    }
  })
})

describe("keys limited to models or routes", () => {
  it("a key with models is never routed elsewhere; a key with routes is routed only among them", async () => {
    const gateway = await startGateway(base(
      mock.url,
      `auth:
  keys:
    - { name: pinned-model, key: sk-model-0123456789abcdef, models: [openai/gpt-4o-mini] }
    - { name: no-routes, key: sk-routes-0123456789abcdef, routes: [] }
    - { name: coder, key: sk-coder-0123456789abcdef, routes: [code_generation] }`
    ))
    try {
      const body = {
        model: "openai/gpt-4o-mini",
        messages: [{ role: "user", content: "write a python function that merges two sorted lists" }]
      }
      const served = async (key: string) => {
        const response = await post(gateway.url, body, { authorization: `Bearer ${key}` })
        await response.text()
        return response.headers.get("x-routing-model")
      }
      assert.strictEqual(await served("sk-model-0123456789abcdef"), "openai/gpt-4o-mini")
      assert.strictEqual(await served("sk-routes-0123456789abcdef"), "openai/gpt-4o-mini")
      assert.strictEqual(await served("sk-coder-0123456789abcdef"), "acme/coder")
    } finally {
      await gateway.close()
    }
  })
})

describe("binding and the admin API", () => {
  it("the container's config (docker/config.yaml) loads, needs client keys and may listen on 0.0.0.0", async () => {
    const yaml = await fs.readFile("docker/config.yaml", "utf8")
    const config = await loadConfig(yaml, {
      SWITCHYARD_CLIENT_KEY: "sk-container-0123456789",
      SWITCHYARD_ADMIN_KEY: "admin-0123456789",
      REDIS_URL: "redis://redis:6379"
    })
    assert.strictEqual(config.listener.address, "0.0.0.0")
    assert.strictEqual(config.auth?.type, "keys")
    assert.isDefined(config.routing.adminKey)
    assert.isUndefined(bindRefusal(config, config.listener.address))
    assert.strictEqual(config.rateLimits?.length, 1)
  })

  it("defaults to 127.0.0.1; refuses another address without an auth block; auth: none allows it", async () => {
    const open = await loadConfig(base(mock.url))
    assert.strictEqual(open.listener.address, "127.0.0.1")
    assert.isTrue(isLoopback("127.0.0.1") && isLoopback("::1") && !isLoopback("0.0.0.0"))
    assert.include(bindRefusal(open, "0.0.0.0")!, "auth: none")
    assert.isUndefined(bindRefusal(open, "127.0.0.1"))
    assert.isUndefined(bindRefusal(await loadConfig(base(mock.url, "auth: none")), "0.0.0.0"))
    const runtime = ManagedRuntime.make(
      Gateway.layerServer({ port: 0, host: "0.0.0.0" }).pipe(Layer.provide(GatewayConfig.layer(open)))
    )
    const exit = await runtime.runPromiseExit(GatewayServer)
    await runtime.dispose()
    assert.isTrue(Exit.isFailure(exit))
    assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "refusing to listen on 0.0.0.0")
  })

  it("the pins API needs admin_key when the listener is not loopback-only", async () => {
    const config = await loadConfig(
      base(mock.url, "auth: none").replace("port: 12000 }", "port: 12000, address: 0.0.0.0 }")
    )
    // The app alone, served here on loopback: what it guards follows the configured listener address.
    const runtime = ManagedRuntime.make(Gateway.layerApp.pipe(Layer.provide(GatewayConfig.layer(config))))
    const app = await runtime.runPromise(GatewayApp)
    const server = createServer(app.listener)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const pins = await fetch(`${url}/v1/routing/sessions`)
      assert.strictEqual(pins.status, 401)
      await pins.text()
      const health = await fetch(`${url}/healthz`)
      assert.strictEqual(health.status, 200)
      await health.text()
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await runtime.dispose()
    }
  })
})

/** A TCP proxy in front of the shared Redis that this test can cut. */
const startCuttableProxy = async () => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(6379, "127.0.0.1")
    sockets.add(client)
    sockets.add(upstream)
    client.pipe(upstream).pipe(client)
    const drop = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on("error", drop)
    upstream.on("error", drop)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as AddressInfo).port,
    cut: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

describe("/readyz", () => {
  it("is ready with a loadable config and turns unready when the file no longer loads", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "switchyard-readyz-"))
    const file = path.join(dir, "config.yaml")
    const yaml = base(mock.url)
    await fs.writeFile(file, yaml)
    const config = await loadConfig(yaml)
    const runtime = ManagedRuntime.make(
      Gateway.layerServer({
        port: 0,
        host: "127.0.0.1",
        drainTimeoutMs: 500,
        configWatch: ConfigWatch.layerFile(file, "50 millis").pipe(Layer.provide(NodeFileSystem.layer))
      }).pipe(Layer.provide(GatewayConfig.layer(config)))
    )
    try {
      const server = await runtime.runPromise(GatewayServer)
      const ready = async () => {
        const response = await fetch(`http://127.0.0.1:${server.port}/readyz`)
        return { status: response.status, body: await response.json() as { checks: Record<string, string> } }
      }
      const first = await ready()
      assert.strictEqual(first.status, 200)
      assert.deepStrictEqual(first.body.checks, { config: "loaded", router: "ready", redis: "not configured" })
      await fs.writeFile(file, yaml.replace("version: v0.4.0", "version: [broken"))
      let after = await ready()
      for (let i = 0; i < 100 && after.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 20))
        after = await ready()
      }
      assert.strictEqual(after.status, 503)
      assert.strictEqual(after.body.checks.config, "reload failed")
      await fs.writeFile(file, yaml)
      let back = await ready()
      for (let i = 0; i < 100 && back.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 20))
        back = await ready()
      }
      assert.strictEqual(back.status, 200)
      const health = await fetch(`http://127.0.0.1:${server.port}/healthz`)
      assert.strictEqual(health.status, 200)
    } finally {
      await runtime.dispose()
      await fs.rm(dir, { recursive: true, force: true })
    }
  })

  for (const failOpen of [false, true]) {
    it(`with Redis down is ${failOpen ? "still ready (fail_open: true)" : "unready (fail_open: false)"}`, async () => {
      const proxy = await startCuttableProxy()
      const gateway = await startGateway(base(
        mock.url,
        `routing:
  session_cache: { type: redis, url: "redis://127.0.0.1:${proxy.port}" }
auth:
  keys: [{ name: ops, key: sk-ops-0123456789abcdef }]
  fail_open: ${failOpen}
ratelimits:
  - model: openai/gpt-4o-mini
    limit: { requests: 1000, unit: minute }`
      ))
      try {
        const ready = await fetch(`${gateway.url}/readyz`)
        assert.strictEqual(ready.status, 200)
        assert.strictEqual(((await ready.json()) as { checks: { redis: string } }).checks.redis, "ok")
        await proxy.cut()
        const down = await fetch(`${gateway.url}/readyz`)
        const body = (await down.json()) as { checks: { redis: string } }
        assert.strictEqual(down.status, failOpen ? 200 : 503)
        assert.strictEqual(body.checks.redis, failOpen ? "unreachable (fail-open)" : "unreachable")
        const request = await post(
          gateway.url,
          { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
          { authorization: "Bearer sk-ops-0123456789abcdef" }
        )
        assert.strictEqual(request.status, failOpen ? 200 : 503)
        await request.text()
      } finally {
        await gateway.close()
        await proxy.cut().catch(() => undefined)
      }
    })
  }
})

/** Every process whose parent chain leads to `root` (from /proc). */
const descendants = async (root: number): Promise<Array<number>> => {
  const parents = new Map<number, number>()
  for (const entry of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await fs.readFile(`/proc/${entry}/stat`, "utf8").catch(() => "")
    const match = /\) \S (\d+)/.exec(stat)
    if (match !== null) parents.set(Number(entry), Number(match[1]))
  }
  const out: Array<number> = []
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent === pid) {
        out.push(child)
        walk(child)
      }
    }
  }
  walk(root)
  return out
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("npm start", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`leaves no process behind after ${signal} to npm (checked by pid)`, async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "switchyard-npm-"))
      const file = path.join(dir, "config.yaml")
      await fs.writeFile(file, base(mock.url))
      const npm: ChildProcess = spawn("npm", ["start", "--silent", "--", "--config", file, "--port", "0"], {
        env: { ...process.env, SWITCHYARD_PORT: "" }
      })
      let pids: Array<number> = []
      try {
        let output = ""
        const url = await new Promise<string>((resolve, reject) => {
          const onData = (chunk: Buffer) => {
            output += chunk.toString()
            const match = /listening on (http:\/\/[^\s"]+)/.exec(output)
            if (match !== null) resolve(match[1]!)
          }
          npm.stdout!.on("data", onData)
          npm.stderr!.on("data", onData)
          npm.once("exit", (code) => reject(new Error(`npm exited ${code}: ${output}`)))
        })
        pids = await descendants(npm.pid!)
        const gatewayPids = []
        for (const pid of pids) {
          const cmd = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")
          if (cmd.includes("dist/main.js")) gatewayPids.push(pid)
        }
        assert.isAbove(gatewayPids.length, 0)
        const health = await fetch(`${url}/healthz`)
        assert.strictEqual(health.status, 200)
        const exited = new Promise<void>((resolve) => npm.once("exit", () => resolve()))
        npm.kill(signal)
        await exited
        for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50))
        assert.deepStrictEqual(pids.filter(alive), [])
        const refused = await fetch(`${url}/healthz`).then(() => "answered", () => "refused")
        assert.strictEqual(refused, "refused")
      } finally {
        for (const pid of [...pids, npm.pid!].filter(alive)) process.kill(pid, "SIGKILL")
        await fs.rm(dir, { recursive: true, force: true })
      }
    })
  }
})
