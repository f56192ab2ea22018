import Anthropic from "@anthropic-ai/sdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import OpenAI from "openai"
import * as RateLimiter from "../../src/auth/RateLimiter.js"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"

const run = randomBytes(6).toString("hex")
const clientKey = `sk-limits-${run}-0123456789`

const config = (mock: string, extra: string) => `
version: v0.4.0
listeners: [{ type: model, name: l, port: 0, address: 127.0.0.1 }]
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${mock}
    access_key: provider-key
    default: true
  - model: openai/gpt-4o
    base_url: ${mock}
    access_key: provider-key
auth:
  keys:
    - name: limits-${run}
      key: ${clientKey}
${extra}
`

/** `node dist/main.js` on a random port; resolves with its URL once it listens. */
const spawnGateway = async (file: string): Promise<{ url: string; child: ChildProcess }> => {
  const child = spawn(process.execPath, ["dist/main.js", "--config", file, "--port", "0"], {
    env: { ...process.env, SWITCHYARD_PORT: "" }
  })
  let output = ""
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/[^\s"]+)/.exec(output)
      if (match !== null) resolve(match[1]!)
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${output}`)))
  })
  return { url, child }
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

let mock: MockUpstream
beforeAll(async () => {
  mock = await startMock()
})
afterAll(async () => {
  await mock?.close()
})

describe("ratelimits across two gateway processes on one Redis", () => {
  it("rejects the (N+1)th request with 429 and Retry-After in each API's shape, wherever it lands", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "switchyard-limits-"))
    const file = path.join(dir, "config.yaml")
    await fs.writeFile(
      file,
      config(
        mock.url,
        `routing:
  session_cache: { type: redis, url: redis://127.0.0.1:6379 }
ratelimits:
  - model: openai/gpt-4o-mini
    selector: { key: client_key, value: "*" }
    limit: { requests: 3, unit: minute }`
      )
    )
    const gateways: Array<ChildProcess> = []
    try {
      const a = await spawnGateway(file)
      gateways.push(a.child)
      const b = await spawnGateway(file)
      gateways.push(b.child)
      const openai = (url: string) => new OpenAI({ apiKey: clientKey, baseURL: `${url}/v1`, maxRetries: 0 })
      const ask = (url: string, model = "openai/gpt-4o-mini") =>
        openai(url).chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] })
      const before = mock.requests.length
      await ask(a.url)
      await ask(b.url)
      await ask(a.url)
      const fourth = await ask(b.url).then(() => undefined, (error: unknown) => error)
      assert.instanceOf(fourth, OpenAI.RateLimitError)
      const limited = fourth as InstanceType<typeof OpenAI.RateLimitError>
      assert.strictEqual(limited.code, "rate_limit_exceeded")
      const retryAfter = Number(limited.headers?.get("retry-after"))
      assert.isTrue(retryAfter >= 1 && retryAfter <= 20, `retry-after ${retryAfter}`)
      const anthropic = new Anthropic({ apiKey: clientKey, baseURL: a.url, maxRetries: 0 })
      const fifth = await anthropic.messages.create({
        model: "openai/gpt-4o-mini",
        max_tokens: 8,
        messages: [{ role: "user", content: "hi" }]
      }).then(() => undefined, (error: unknown) => error)
      assert.instanceOf(fifth, Anthropic.RateLimitError)
      const body = (fifth as InstanceType<typeof Anthropic.RateLimitError>).error as { error: { type: string } }
      assert.strictEqual(body.error.type, "rate_limit_error")
      assert.isNotNull((fifth as InstanceType<typeof Anthropic.RateLimitError>).headers?.get("retry-after"))
      assert.strictEqual(mock.requests.length - before, 3)
      // Another model has no limit.
      await ask(b.url, "openai/gpt-4o")
    } finally {
      await Promise.all(gateways.map(stop))
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})

describe("ratelimits in one process", () => {
  it("token limits select on a header, count prompt size, and show in the rejections counter", async () => {
    const gateway = await startGateway(config(
      mock.url,
      `ratelimits:
  - model: "*"
    selector: { key: x-team, value: "*" }
    limit: { tokens: 300, unit: hour }`
    ))
    try {
      const ask = (team: string | undefined, text: string) =>
        fetch(`${gateway.url}/v1/chat/completions`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${clientKey}`,
            "content-type": "application/json",
            ...(team === undefined ? {} : { "x-team": team })
          },
          body: JSON.stringify({ model: "openai/gpt-4o", messages: [{ role: "user", content: text }] })
        })
      const counter = RateLimiter.rejections.pipe(Metric.tagged("model", "openai/gpt-4o"))
      const rejectedBefore = (await Effect.runPromise(Metric.value(counter))).count
      const long = "x".repeat(800)
      assert.strictEqual((await ask("red", long)).status, 200)
      const denied = await ask("red", long)
      assert.strictEqual(denied.status, 429)
      assert.isNotNull(denied.headers.get("retry-after"))
      assert.include(await denied.text(), "300 tokens per hour")
      assert.strictEqual((await ask("blue", long)).status, 200)
      // Without the selector header the limit does not apply (Plano's rule).
      assert.strictEqual((await ask(undefined, long)).status, 200)
      assert.strictEqual((await ask("red", "short")).status, 200)
      const rejectedAfter = (await Effect.runPromise(Metric.value(counter))).count
      assert.strictEqual(rejectedAfter - rejectedBefore, 1)
    } finally {
      await gateway.close()
    }
  })
})
