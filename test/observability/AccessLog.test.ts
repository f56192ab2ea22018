import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { openAiError, openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startReceiver } from "./OtlpReceiver.js"

const providerKey = "sk-provider-LEAKCHECK-7f3a9c"

const configFor = (mock: string) => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    address: 127.0.0.1
    port: 12000
    timeout: 5s
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${mock}
    access_key: $OPENAI_API_KEY
    default: true
  - model: openai/gpt-4o
    base_url: ${mock}
    access_key: $OPENAI_API_KEY
  - model: openai/passthrough
    base_url: ${mock}
    passthrough_auth: true
tracing:
  random_sampling: 100
`

interface Line {
  readonly [key: string]: unknown
}

let mock: MockUpstream
let receiver: Awaited<ReturnType<typeof startReceiver>>
let child: ChildProcessWithoutNullStreams | undefined
let dir: string

beforeAll(async () => {
  mock = await startMock(openAiJson())
  receiver = await startReceiver()
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "switchyard-accesslog-"))
})

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill("SIGKILL")
  await mock?.close()
  await receiver?.close()
  await fs.rm(dir, { recursive: true, force: true })
})

const waitForExit = (proc: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode)
    else proc.once("exit", (code) => resolve(code))
  })

describe("the access log (switchyard up)", () => {
  it("writes one JSON line per request; no key, prompt or session id reaches stdout or the OTLP payloads", async () => {
    const file = path.join(dir, "config.yaml")
    await fs.writeFile(file, configFor(mock.url))
    const proc = spawn(process.execPath, ["dist/main.js", "--config", file, "--port", "0"], {
      env: {
        ...process.env,
        SWITCHYARD_PORT: "",
        OPENAI_API_KEY: providerKey,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint.replace(/\/v1\/traces$/, ""),
        OTEL_SERVICE_NAME: "switchyard-leak-test"
      }
    })
    child = proc
    let stdout = ""
    let stderr = ""
    proc.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${stdout}${stderr}`)), 15_000)
      const check = () => {
        const match = /listening on (http:\/\/[^\s"]+)/.exec(stdout)
        if (match !== null) {
          clearTimeout(timer)
          resolve(match[1]!)
        }
      }
      proc.stdout.on("data", check)
      proc.once("exit", (code) => reject(new Error(`exited ${code}: ${stdout}${stderr}`)))
    })

    const secrets: Array<string> = [providerKey]
    const total = 50
    for (let i = 0; i < total; i++) {
      const clientKey = `sk-client-LEAKCHECK-${i}-c0ffee`
      const session = `session-LEAKCHECK-${i % 10}-beef`
      const prompt = `prompt-LEAKCHECK-${i}: summarise the quarterly numbers`
      secrets.push(clientKey, session, prompt)
      mock.handler = i % 10 === 5 ? openAiError(500, "upstream trouble") : openAiJson()
      const kind = i % 5
      const path = kind === 3 ? "/v1/messages" : kind === 4 ? "/routing/v1/chat/completions" : "/v1/chat/completions"
      const url = `${base}${path}`
      const body = kind === 3
        ? { model: "openai/gpt-4o", max_tokens: 32, messages: [{ role: "user", content: prompt }] }
        : {
          model: kind === 2 ? "openai/passthrough" : "gpt-4o-mini",
          messages: [{ role: "user", content: prompt }],
          ...(kind === 1 ? { stream: true, stream_options: { include_usage: true } } : {})
        }
      const response = await fetch(`${url}?api_key=${clientKey}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${clientKey}`,
          "x-api-key": clientKey,
          "x-routing-session-id": session,
          "x-request-id": `leak-${i}`
        },
        body: JSON.stringify(body)
      })
      await response.text()
    }
    // The provider really got the keys: the check below is not vacuous.
    assert.isTrue(mock.requests.some((r) => r.headers.authorization === `Bearer ${providerKey}`))
    assert.isTrue(mock.requests.some((r) => String(r.headers.authorization).includes("sk-client-LEAKCHECK")))

    proc.kill("SIGTERM")
    assert.strictEqual(await waitForExit(proc), 0, stderr)

    const lines = stdout.split("\n").filter((l) => l.length > 0)
    const parsed: Array<Line> = lines.map((l) => JSON.parse(l) as Line)
    const requests = parsed.filter((l) => l.msg === "request")
    assert.strictEqual(requests.length, total)
    for (let i = 0; i < total; i++) {
      const line = requests.find((l) => l.request_id === `leak-${i}`)
      assert.isDefined(line, `no line for leak-${i}`)
      assert.strictEqual(line!.method, "POST")
      assert.notInclude(String(line!.path), "?")
      assert.isNumber(line!.status)
      assert.isNumber(line!.duration_ms)
      assert.isNumber(line!.bytes_in)
      assert.isNumber(line!.bytes_out)
      assert.strictEqual(line!.client, "127.0.0.1")
      assert.match(String(line!.session), /^[0-9a-f]{16}$/)
      assert.isString(line!.reason)
      assert.isString(line!.pin)
      assert.match(String(line!.trace_id), /^[0-9a-f]{32}$/)
    }
    const served = requests.find((l) => l.request_id === "leak-0")!
    assert.strictEqual(served.status, 200)
    assert.strictEqual(served.model, "openai/gpt-4o-mini")
    assert.strictEqual(served.tokens_in, 10)
    assert.strictEqual(served.tokens_out, 5)
    assert.isNumber(served.upstream_ttfb_ms)
    const failed = requests.find((l) => l.request_id === "leak-5")!
    assert.strictEqual(failed.status, 500)
    assert.strictEqual(failed.upstream_error, "5xx")
    // Startup logs go through the same JSON logger.
    assert.isTrue(parsed.some((l) => String(l.msg).startsWith("listening on ") && l.level === "info"))

    assert.isAtLeast(receiver.spans.length, total)
    const exported = receiver.raw.join("\n")
    for (const secret of secrets) {
      assert.notInclude(stdout, secret)
      assert.notInclude(stderr, secret)
      assert.notInclude(exported, secret)
    }
  })
})
