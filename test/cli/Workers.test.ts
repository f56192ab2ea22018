import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { ChildProcess } from "node:child_process"
import { spawnSync } from "node:child_process"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import { spawnChild, stopChild } from "../support/ChildProcesses.js"
import { configFile } from "../support/LiveTestGateway.js"
import type { ConfigFileHandle } from "../support/LiveTestGateway.js"
import { openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { routingOf } from "../support/RoutingHeaders.js"
import { promtool } from "../observability/support.js"

// `switchyard up --workers 2` as a real process tree: a primary owning the pins, two workers on one port.
const CODE = "Write a Python function that parses a CSV file and returns a list of dictionaries."
const REASONING = "Compare PostgreSQL and MongoDB for an e-commerce platform and explain the trade-offs step by step."

const configOf = (upstream: string) =>
  `version: v0.4.0
listeners: [{ type: model, name: model_listener, port: 12000, address: 127.0.0.1 }]
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${upstream}
    access_key: test-key
    default: true
  - model: openai/gpt-4o
    base_url: ${upstream}
    access_key: test-key
  - model: openai/gpt-4.1
    base_url: ${upstream}
    access_key: test-key
routing_preferences:
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models: [openai/gpt-4o]
  - name: complex_reasoning
    description: complex reasoning tasks, multi-step analysis, or detailed explanations
    models: [openai/gpt-4.1]
`

interface Cluster {
  readonly child: ChildProcess
  readonly output: () => string
  readonly waitFor: (check: (output: string) => boolean, what: string, timeoutMs?: number) => Promise<void>
  readonly url: () => string
}

const jsonLines = (output: string): Array<Record<string, unknown>> =>
  output.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return []
    try {
      return [JSON.parse(line) as Record<string, unknown>]
    } catch {
      return []
    }
  })

const count = (output: string, pattern: RegExp) => output.match(pattern)?.length ?? 0

const startCluster = (file: string, port = 0): Cluster => {
  const child = spawnChild(process.execPath, [
    "dist/main.js",
    "--config",
    file,
    "--port",
    String(port),
    "--workers",
    "2",
    "--no-watch"
  ], { env: { ...process.env, SWITCHYARD_PORT: "", SWITCHYARD_WORKERS: "" } })
  let output = ""
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    for (const waiter of waiters) waiter()
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const waitFor = (check: (output: string) => boolean, what: string, timeoutMs = 45_000) =>
    new Promise<void>((resolve, reject) => {
      const test = () => {
        if (check(output)) {
          waiters.delete(test)
          clearTimeout(timer)
          resolve()
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(test)
        reject(new Error(`timed out waiting for ${what}; output:\n${output}`))
      }, timeoutMs)
      waiters.add(test)
      test()
    })
  return {
    child,
    output: () => output,
    waitFor,
    url: () => /listening on (http:\/\/[^\s"]+)/.exec(output)![1]!
  }
}

const workerPids = (output: string): Map<number, number> => {
  const pids = new Map<number, number>()
  for (const line of jsonLines(output)) {
    if (line["msg"] === "worker started") pids.set(Number(line["worker"]), Number(line["pid"]))
  }
  return pids
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const ask = async (url: string, content: string, session: string) => {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-routing-session-id": session },
    body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content }] })
  })
  await response.arrayBuffer()
  assert.strictEqual(response.status, 200)
  return { ...routingOf(response), worker: response.headers.get("x-switchyard-worker") }
}

describe("switchyard up --workers 2", () => {
  let mock: MockUpstream
  let file: ConfigFileHandle
  beforeAll(async () => {
    mock = await startMock(openAiJson())
    file = await configFile(configOf(mock.url))
  })
  afterAll(async () => {
    await mock.close()
    await file.remove()
  })

  it("pins one model per session across workers, replaces a killed worker, drains on SIGTERM", async () => {
    const cluster = startCluster(file.path)
    try {
      await cluster.waitFor((o) => count(o, /listening on http/g) >= 2, "two workers listening")
      const url = cluster.url()
      const first = workerPids(cluster.output())
      assert.deepStrictEqual([...first.keys()].sort(), [1, 2])

      // 200 requests of one session over both workers; alone, the two prompts would route to different models.
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => ask(url, i % 2 === 0 ? CODE : REASONING, "workers-one"))
      )
      assert.deepStrictEqual(new Set(results.map((r) => r.worker)), new Set(["1", "2"]))
      assert.strictEqual(new Set(results.map((r) => r.model)).size, 1)
      // Two workers may route the session's first requests at once (one routing per worker at a time): the store
      // keeps the first pin, so at most one "created" per worker, and one model either way.
      assert.isAtMost(results.filter((r) => r.pin === "created").length, 2)

      // More sessions, pinned before the kill; each alternates prompts so a lost pin would show as a changed model.
      const sessions = ["workers-a", "workers-b", "workers-c", "workers-d", "workers-one"]
      const pinned = new Map<string, string | null>()
      for (const [i, session] of sessions.entries()) {
        pinned.set(session, (await ask(url, i % 2 === 0 ? CODE : REASONING, session)).model)
      }
      const listed = await (await fetch(`${url}/v1/routing/sessions`)).json() as { total: number }
      assert.strictEqual(listed.total, sessions.length)

      const metrics = await (await fetch(`${url}/metrics`)).text()
      assert.match(metrics, /switchyard_requests_total\{worker="1",/)
      assert.match(metrics, /switchyard_requests_total\{worker="2",/)
      assert.match(metrics, /switchyard_pins_creations_total\{worker="primary"\} 5/)
      assert.match(metrics, /switchyard_pins_size\{worker="primary"\} 5/)
      assert.notMatch(metrics, /switchyard_pins_size\{worker="1"/)
      const tool = promtool()
      if (tool !== undefined) {
        const check = spawnSync(tool, ["check", "metrics"], { input: metrics, encoding: "utf8" })
        assert.strictEqual(check.status, 0, `${check.stdout}\n${check.stderr}`)
      }

      const killed = first.get(1)!
      process.kill(killed, "SIGKILL")
      await cluster.waitFor((o) => {
        const pid = workerPids(o).get(1)
        return pid !== undefined && pid !== killed && count(o, /listening on http/g) >= 3
      }, "worker 1 replaced")
      const replacement = workerPids(cluster.output()).get(1)!
      assert.notStrictEqual(replacement, killed)
      assert.isTrue(isAlive(replacement))

      const after = await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const session = sessions[i % sessions.length]!
          return ask(url, i % 2 === 0 ? REASONING : CODE, session).then((r) => ({ session, ...r }))
        })
      )
      assert.deepStrictEqual(new Set(after.map((r) => r.worker)), new Set(["1", "2"]))
      for (const r of after) {
        assert.strictEqual(r.model, pinned.get(r.session), r.session)
        assert.strictEqual(r.pin, "hit", r.session)
      }

      // The pins API answers from the one store whichever worker serves it: an unpinned session re-pins once.
      const unpin = await fetch(`${url}/v1/routing/sessions/workers-a`, { method: "DELETE" })
      assert.strictEqual(unpin.status, 204)
      const again = await Promise.all(
        Array.from({ length: 20 }, (_, i) => ask(url, i % 2 === 0 ? REASONING : CODE, "workers-a"))
      )
      // Each worker routes a session at most once at a time; the store keeps the first pin and both serve it.
      assert.isAtMost(again.filter((r) => r.pin === "created").length, 2)
      assert.strictEqual(new Set(again.map((r) => r.model)).size, 1)
      const repinned = await (await fetch(`${url}/v1/routing/sessions/workers-a`)).json() as { model: string }
      assert.strictEqual(repinned.model, again[0]!.model)

      // SIGHUP to the primary reaches every worker: each reloads the (changed) file and keeps the pins.
      await file.write(configOf(mock.url) + "model_aliases:\n  fast: { target: gpt-4o-mini }\n")
      process.kill(cluster.child.pid!, "SIGHUP")
      await cluster.waitFor((o) => count(o, /"msg":"config reloaded"/g) >= 2, "both workers reloaded")
      const reloaded = await ask(url, REASONING, "workers-b")
      assert.deepStrictEqual([reloaded.model, reloaded.pin], [pinned.get("workers-b")!, "hit"])

      // SIGTERM to the primary alone: the workers drain and exit, then the primary exits 0.
      const pids = [...workerPids(cluster.output()).values()]
      const exit = new Promise<number | null>((resolve) => cluster.child.once("exit", (code) => resolve(code)))
      process.kill(cluster.child.pid!, "SIGTERM")
      assert.strictEqual(await exit, 0)
      assert.strictEqual(count(cluster.output(), /"msg":"worker stopped"/g), 2)
      assert.deepStrictEqual(pids.filter(isAlive), [])
    } finally {
      await stopChild(cluster.child)
    }
  }, 180_000)

  it("exits 1 and leaves no worker when the first workers cannot listen", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const cluster = startCluster(file.path, (taken.address() as AddressInfo).port)
    try {
      const exit = new Promise<number | null>((resolve) => cluster.child.once("exit", (code) => resolve(code)))
      assert.strictEqual(await exit, 1)
      assert.match(cluster.output(), /worker \d exited \(code 1\) before it was listening/)
      const pids = [...workerPids(cluster.output()).values()]
      assert.strictEqual(pids.length, 2)
      assert.deepStrictEqual(pids.filter(isAlive), [])
    } finally {
      await stopChild(cluster.child)
      await new Promise((resolve) => taken.close(resolve))
    }
  }, 90_000)
})
