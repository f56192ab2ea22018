import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { ChildProcess } from "node:child_process"
import { createServer, connect } from "node:net"
import type { AddressInfo } from "node:net"
import { scrape } from "../observability/support.js"
import { spawnChild, stopChild } from "../support/ChildProcesses.js"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

// Issue 18.6: a Redis pin store whose Redis stops answering (our own redis-server, SIGSTOPped; never the shared one).
// Requests still succeed, and the stall costs at most one short command timeout, not one per command.

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("data", (data) => {
      socket.destroy()
      resolve(data.toString().startsWith("+PONG"))
    })
    socket.once("error", () => resolve(false))
    socket.write("PING\r\n")
  })

let redis: ChildProcess
let mock: MockUpstream
let gateway: TestGateway

beforeAll(async () => {
  const port = await freePort()
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
  redis = spawnChild("redis-server", args)
  const deadline = Date.now() + 5000
  while (!(await answers(port))) {
    if (Date.now() > deadline) throw new Error("redis-server did not start")
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  mock = await startMock()
  gateway = await startGateway(`
version: v0.4.0
listeners: [{ type: model, name: model_listener, port: 12000 }]
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${mock.url}
    access_key: k
    default: true
routing:
  session_cache:
    type: redis
    url: redis://127.0.0.1:${port}
`)
})

afterAll(async () => {
  if (redis !== undefined) {
    redis.kill("SIGCONT")
    await stopChild(redis)
  }
  await gateway?.close()
  await mock?.close()
})

const chat = async (session: string) => {
  const started = performance.now()
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-routing-session-id": session },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
  })
  await response.text()
  return { status: response.status, pin: response.headers.get("x-routing-pin"), ms: performance.now() - started }
}

describe("the Redis pin store with Redis paused", () => {
  it("fails open within one short timeout and skips Redis while it is down", async () => {
    const first = await chat("stall-1")
    assert.strictEqual(first.status, 200)
    assert.strictEqual(first.pin, "created")
    assert.strictEqual((await chat("stall-1")).pin, "hit")

    const before = await scrape(gateway.url)
    redis.kill("SIGSTOP")
    try {
      const stalled = await chat("stall-1")
      const after = []
      for (let i = 0; i < 5; i++) after.push(await chat(`stall-${i + 2}`))
      const next = after.map((r) => r.ms.toFixed(0)).join("/")
      console.info(`Redis paused: first request ${stalled.ms.toFixed(0)} ms, next five ${next} ms`)
      assert.strictEqual(stalled.status, 200)
      // One 250 ms command timeout, with room for a loaded machine; it used to be two 2 s timeouts in a row.
      assert.isBelow(stalled.ms, 900)
      for (const r of after) {
        assert.strictEqual(r.status, 200)
        // The breaker is open: no Redis wait at all.
        assert.isBelow(r.ms, 200)
      }
      // Six lookups failed (one timed out, five skipped by the breaker) and each request was served without the
      // store: the metrics say so.
      const after6 = (await scrape(gateway.url)).series
      const change = (name: string, labels: Record<string, string>) => {
        const matching = (series: Map<string, number>) =>
          [...series].filter(([key]) =>
            key.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))
          ).reduce((sum, [, value]) => sum + value, 0)
        return matching(after6) - matching(before.series)
      }
      assert.strictEqual(change("switchyard_pin_store_errors_total", { store: "redis", operation: "get" }), 6)
      assert.strictEqual(change("switchyard_pin_store_fail_open_total", { operation: "get" }), 6)
    } finally {
      redis.kill("SIGCONT")
    }
  })
})
