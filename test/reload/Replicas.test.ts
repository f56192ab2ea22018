import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Redis } from "ioredis"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import OpenAI from "openai"
import { openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { configFile, spawnGateway } from "../support/LiveTestGateway.js"
import type { ConfigFileHandle, GatewayProcess } from "../support/LiveTestGateway.js"
import { routingOf } from "../support/RoutingHeaders.js"

// Two gateway processes sharing one Redis, as in examples/replicas/. The shared server on 6379 is only ever used with
// a key prefix of this run; the outage test stops a Redis of its own.
const CODE = "Write a Python function that parses a CSV file and returns a list of dictionaries."
const REASONING = "Compare PostgreSQL and MongoDB for an e-commerce platform and explain the trade-offs step by step."

const configOf = (
  upstream: string,
  redisUrl: string,
  prefix: string,
  code = "openai/gpt-4o",
  extra = "",
  served = "openai/gpt-4.1"
) =>
  `version: v0.4.0
listeners: [{ type: model, name: model_listener, port: 12000, address: 127.0.0.1 }]
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${upstream}
    access_key: test-key
    default: true
  - model: ${served}
    base_url: ${upstream}
    access_key: test-key
${extra}routing_preferences:
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models: [${code}]
  - name: complex_reasoning
    description: complex reasoning tasks, multi-step analysis, or detailed explanations
    models: [${served}]
routing:
  session_cache:
    type: redis
    url: ${redisUrl}
    key_prefix: "${prefix}"
`

const gpt4o = (upstream: string) => `  - model: openai/gpt-4o\n    base_url: ${upstream}\n    access_key: test-key\n`

const ask = async (url: string, content: string, session: string) => {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 })
  const { response } = await client.chat.completions.create(
    { model: "openai/gpt-4o-mini", messages: [{ role: "user", content }] },
    { headers: { "x-routing-session-id": session } }
  ).withResponse()
  return routingOf(response)
}

const pinOf = async (url: string, session: string) => {
  const response = await fetch(`${url}/v1/routing/sessions/${session}`)
  return response.status === 200 ? await response.json() as Record<string, unknown> : undefined
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

const startRedis = async (port: number): Promise<ChildProcess> => {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
  const child = spawn("redis-server", args)
  const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on("error", () => {})
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      return child
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  probe.disconnect()
  child.kill("SIGKILL")
  throw new Error(`redis-server on ${port} did not start`)
}

const stopRedis = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })

const until = async (check: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe("replicas sharing pins in Redis", () => {
  let mock: MockUpstream
  const prefix = `switchyard-test-${randomBytes(6).toString("hex")}:`
  beforeAll(async () => {
    mock = await startMock(openAiJson())
  })
  afterAll(async () => {
    await mock.close()
    const redis = new Redis("redis://127.0.0.1:6379")
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })

  const pair = async (yaml: string, extraB?: string) => {
    const fileA = await configFile(yaml)
    const fileB = extraB === undefined ? fileA : await configFile(extraB)
    const a = await spawnGateway(fileA.path, ["--no-watch"])
    const b = await spawnGateway(fileB.path, ["--no-watch"]).catch(async (error) => {
      await a.stop()
      throw error
    })
    return {
      a,
      b,
      fileA,
      fileB,
      close: async () => {
        await Promise.all([a.stop(), b.stop()])
        await fileA.remove()
        await fileB.remove()
      }
    }
  }

  it("a session started on A and continued on B keeps its model", async () => {
    const yaml = configOf(mock.url, "redis://127.0.0.1:6379", prefix, "openai/gpt-4o", gpt4o(mock.url))
    const { a, b, close } = await pair(yaml)
    try {
      const first = await ask(a.url, CODE, "handoff-1")
      assert.deepStrictEqual([first.model, first.pin], ["openai/gpt-4o", "created"])
      // B alone would route this prompt to gpt-4.1.
      const onB = await ask(b.url, REASONING, "handoff-1")
      assert.deepStrictEqual([onB.model, onB.reason, onB.pin], ["openai/gpt-4o", "pinned", "hit"])
      const back = await ask(a.url, REASONING, "handoff-1")
      assert.strictEqual(back.model, "openai/gpt-4o")

      // Without a session id: a turn started on A and continued (a tool result) on B replays A's model.
      const turn = [{ role: "user", content: `${CODE} (${prefix})` }] as Array<Record<string, unknown>>
      const post = (url: string) =>
        fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: turn })
        }).then(routingOf)
      const started = await post(a.url)
      assert.deepStrictEqual([started.model, started.reason], ["openai/gpt-4o", "routed"])
      turn.push(
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }]
        },
        { role: "tool", tool_call_id: "c1", content: REASONING }
      )
      const replayed = await post(b.url)
      assert.deepStrictEqual([replayed.model, replayed.reason], ["openai/gpt-4o", "turn_replay"])
    } finally {
      await close()
    }
  })

  it("200 concurrent first requests of one session split across A and B get one model", async () => {
    const yaml = configOf(mock.url, "redis://127.0.0.1:6379", prefix, "openai/gpt-4o", gpt4o(mock.url))
    const { a, b, close } = await pair(yaml)
    try {
      for (const session of ["burst-1", "burst-2", "burst-3"]) {
        // A sees code prompts, B reasoning ones: routed independently they would disagree.
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            i % 2 === 0 ? ask(a.url, CODE, session) : ask(b.url, REASONING, session))
        )
        const models = new Set(results.map((r) => r.model))
        assert.strictEqual(models.size, 1, `${session}: ${[...models].join(", ")}`)
        assert.strictEqual(results.filter((r) => r.pin === "created").length, 1)
      }
    } finally {
      await close()
    }
  })

  it("a replica on an older config never flips a newer config's pin back (rolling reload)", async () => {
    // v1 serves gpt-4o and o3 (no gpt-4.1); v2 replaces gpt-4o with gpt-4.1. B stays on v1 throughout.
    const v1 = configOf(mock.url, "redis://127.0.0.1:6379", prefix, "openai/gpt-4o", gpt4o(mock.url), "openai/o3")
    const { a, b, close, fileA } = await pair(v1, v1)
    try {
      assert.strictEqual((await ask(b.url, CODE, "rolling-1")).model, "openai/gpt-4o")
      await new Promise((r) => setTimeout(r, 20))
      await fileA.write(configOf(mock.url, "redis://127.0.0.1:6379", prefix, "openai/gpt-4.1"))
      const reload = await fetch(`${a.url}/admin/v1/config/reload`, { method: "POST" })
      assert.strictEqual(reload.status, 200)
      const repinned = await ask(a.url, CODE, "rolling-1")
      assert.deepStrictEqual([repinned.model, repinned.reason], ["openai/gpt-4.1", "repinned_config_changed"])
      const newer = Number((await pinOf(a.url, "rolling-1"))!.generation)
      for (let i = 0; i < 6; i++) {
        const onB = await ask(b.url, CODE, "rolling-1")
        // B cannot serve gpt-4.1: it answers with its own model and leaves the newer pin alone.
        assert.deepStrictEqual([onB.model, onB.pin], ["openai/gpt-4o", "none"])
        const onA = await ask(a.url, CODE, "rolling-1")
        assert.deepStrictEqual([onA.model, onA.reason, onA.pin], ["openai/gpt-4.1", "pinned", "hit"])
      }
      const pin = (await pinOf(b.url, "rolling-1"))!
      assert.deepStrictEqual([pin.model, pin.generation], ["openai/gpt-4.1", newer])
    } finally {
      await close()
    }
  })

  it("Redis stopped mid-run: both keep serving (fail-open) and reconverge after it returns", async () => {
    const port = await freePort()
    let redis = await startRedis(port)
    const yaml = configOf(mock.url, `redis://127.0.0.1:${port}`, prefix, "openai/gpt-4o", gpt4o(mock.url))
    const { a, b, close } = await pair(yaml)
    try {
      assert.strictEqual((await ask(a.url, CODE, "outage-1")).model, "openai/gpt-4o")
      assert.strictEqual((await ask(b.url, REASONING, "outage-1")).model, "openai/gpt-4o")
      await stopRedis(redis)
      // Every request still answers; without the shared store each replica decides on its own.
      const during = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0 ? ask(a.url, CODE, "outage-2") : ask(b.url, REASONING, "outage-2"))
      )
      assert.strictEqual(during.length, 20)
      for (const step of during) assert.oneOf(step.model, ["openai/gpt-4o", "openai/gpt-4.1"])
      redis = await startRedis(port)
      // After Redis returns, a new session started on A is honoured by B again.
      await until(async () => {
        const session = `outage-back-${randomBytes(4).toString("hex")}`
        const first = await ask(a.url, CODE, session)
        const second = await ask(b.url, REASONING, session)
        return first.pin === "created" && second.pin === "hit" && second.model === first.model
      })
    } finally {
      await close()
      await stopRedis(redis)
    }
  })
})
