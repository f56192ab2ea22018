import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { spawnChild, stopChild } from "../support/ChildProcesses.js"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"

// The built gateway (`dist/main.js`, run `npm run build` first) in its own process: a 20 MB translated JSON answer
// may raise its peak RSS by at most 2× the body (the first fix measured ≈2.7×, the original 7.5×).
const size = 20 * 1024 * 1024
const limitMb = 40

// Mostly ASCII, with escapes and non-ASCII text so the held bytes must come out exactly as JSON.
const unit = "lorem ipsum \"quoted\"\nline\tcafé ünïcödé ✓ "
const content = unit.repeat(Math.ceil(size / Buffer.byteLength(unit))).slice(0, size)

const anthropicBody = Buffer.from(JSON.stringify({
  id: "msg_big",
  type: "message",
  role: "assistant",
  model: "claude-big",
  content: [{ type: "text", text: content }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: { input_tokens: 10, output_tokens: 4 }
}))
const openAiBody = Buffer.from(JSON.stringify({
  id: "chatcmpl-big",
  object: "chat.completion",
  created: 1,
  model: "gpt-big",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 }
}))

const config = (mock: string) => `
version: v0.4.0
listeners: [{ type: model, name: model_listener, port: 12000, address: 127.0.0.1 }]
model_providers:
  - model: anthropic/claude-big
    base_url: ${mock}
    access_key: sk-test
    default: true
  - model: openai/gpt-big
    base_url: ${mock}
    access_key: sk-test
`

const status = async (pid: number) => {
  const text = await fs.readFile(`/proc/${pid}/status`, "utf8")
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? Number.NaN)
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") }
}

const ask = async (url: string, api: "openai" | "anthropic"): Promise<string> => {
  const response = await fetch(api === "openai" ? `${url}/v1/chat/completions` : `${url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: api === "openai" ? "anthropic/claude-big" : "openai/gpt-big",
      max_tokens: 16,
      messages: [{ role: "user", content: "hi" }]
    })
  })
  assert.strictEqual(response.status, 200)
  const body = await response.json() as {
    choices?: Array<{ message: { content: string } }>
    content?: Array<{ text: string }>
  }
  return api === "openai" ? body.choices![0]!.message.content : body.content![0]!.text
}

/** Peak RSS growth (MB) of a fresh gateway over `runs` big answers for one direction, with each answer checked. */
const measure = async (api: "openai" | "anthropic", runs: number): Promise<Array<number>> => {
  let big = false
  const mock: MockUpstream = await startMock((_req, res) => {
    const wire = api === "openai" ? "anthropic" : "openai"
    const body = big ? (wire === "anthropic" ? anthropicBody : openAiBody) : Buffer.from(JSON.stringify(small(wire)))
    res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) })
    // Socket-sized chunks, as a real upstream sends them.
    for (let at = 0; at < body.length; at += 64 * 1024) res.write(body.subarray(at, at + 64 * 1024))
    res.end()
  })
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "switchyard-mem-"))
  const file = path.join(dir, "config.yaml")
  await fs.writeFile(file, config(mock.url))
  const child = spawnChild(process.execPath, ["dist/main.js", "--config", file, "--port", "0"], {
    env: { ...process.env, SWITCHYARD_PORT: "" }
  })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let output = ""
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        const match = /listening on (http:\/\/[^\s"]+)/.exec(output)
        if (match !== null) resolve(match[1]!)
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", onData)
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${output}`)))
    })
    for (let i = 0; i < 3; i++) assert.strictEqual(await ask(url, api), "small")
    const growth: Array<number> = []
    for (let run = 0; run < runs; run++) {
      await new Promise((r) => setTimeout(r, 300))
      await fs.writeFile(`/proc/${child.pid}/clear_refs`, "5")
      const before = await status(child.pid!)
      big = true
      const text = await ask(url, api)
      big = false
      const after = await status(child.pid!)
      assert.strictEqual(text.length, content.length)
      assert.isTrue(text === content)
      growth.push(Math.round((after.hwm - before.rss) / 102.4) / 10)
    }
    return growth
  } finally {
    await stopChild(child)
    await mock.close()
    await fs.rm(dir, { recursive: true, force: true })
  }
}

const small = (wire: "openai" | "anthropic") =>
  wire === "anthropic"
    ? {
      id: "msg_small",
      type: "message",
      role: "assistant",
      model: "claude-big",
      content: [{ type: "text", text: "small" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 1 }
    }
    : {
      id: "chatcmpl-small",
      object: "chat.completion",
      created: 1,
      model: "gpt-big",
      choices: [{ index: 0, message: { role: "assistant", content: "small" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
    }

describe("memory of a translated 20 MB JSON answer", () => {
  for (const api of ["openai", "anthropic"] as const) {
    it(`${api} client: peak RSS grows at most ${limitMb} MB`, async () => {
      const growth = await measure(api, 3)
      console.log(`${api} client ← ${api === "openai" ? "anthropic" : "openai"} upstream: RSS peak growth MB`, growth)
      // The first run pays for the heap growing; later ones reuse it. Judge the first, which is the worst.
      assert.isAtMost(Math.max(...growth), limitMb)
    }, 120_000)
  }
})
