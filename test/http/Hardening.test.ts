import Anthropic from "@anthropic-ai/sdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import { connect } from "node:net"
import type { ServerResponse } from "node:http"
import { startMock } from "../support/MockUpstream.js"
import type { MockHandler, MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

// Fault injection against real loopback providers (issue 18): upstreams that stall or drop after their headers,
// echo their key, or send headers of their own; clients that send bodies nested too deep or bytes HTTP forbids.

const openAiKey = "sk-openai-secret-0123456789"
const anthropicKey = "sk-ant-secret-abcdefghij"

const config = (openai: string, anthropic: string) => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
    timeout: 500ms
model_providers:
  - model: openai/gpt-4o
    base_url: ${openai}
    access_key: ${openAiKey}
    default: true
  - model: anthropic/claude-sonnet-4-20250514
    base_url: ${anthropic}
    access_key: ${anthropicKey}
`

let openaiMock: MockUpstream
let anthropicMock: MockUpstream
let gateway: TestGateway

beforeAll(async () => {
  openaiMock = await startMock()
  anthropicMock = await startMock()
  gateway = await startGateway(config(openaiMock.url, anthropicMock.url))
})

afterAll(async () => {
  await gateway?.close()
  await openaiMock?.close()
  await anthropicMock?.close()
})

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const chatTo = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "user", content: "hi" }],
  ...extra
})

const messagesTo = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  max_tokens: 64,
  messages: [{ role: "user", content: "hi" }],
  ...extra
})

/** 200 and part of a JSON body, then nothing (`stall`) or a dropped socket. */
const halfBody = (mode: "stall" | "drop"): MockHandler => (_req, res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json", "content-length": "5000" })
  res.write("{\"id\":\"msg_1\",\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"half")
  if (mode === "drop") setTimeout(() => res.socket?.destroy(), 50)
}

const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels)

interface OpenAiErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly code: string | null }
}
interface AnthropicErrorBody {
  readonly type: string
  readonly error: { readonly type: string; readonly message: string }
}

describe("a translated response that fails after its headers", () => {
  it("answers 504 in OpenAI's shape when an Anthropic provider stalls mid-body", async () => {
    anthropicMock.handler = halfBody("stall")
    const response = await post("/v1/chat/completions", chatTo("claude-sonnet-4-20250514"))
    assert.strictEqual(response.status, 504)
    const body = await response.json() as OpenAiErrorBody
    assert.strictEqual(body.error.type, "server_error")
    assert.include(body.error.message, "timeout")
  })

  it("answers 502 in Anthropic's shape when an OpenAI provider drops its socket mid-body", async () => {
    openaiMock.handler = halfBody("drop")
    const response = await post("/v1/messages", messagesTo("gpt-4o"))
    assert.strictEqual(response.status, 502)
    const body = await response.json() as AnthropicErrorBody
    assert.strictEqual(body.type, "error")
    assert.strictEqual(body.error.type, "api_error")
  })

  it("answers 502 when the body to translate exceeds the translation cap", async () => {
    const chunk = Buffer.alloc(1 << 20, 0x61)
    openaiMock.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" })
      res.write("{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"")
      let sent = 0
      const more = () => {
        while (sent < 70 && !res.destroyed) {
          sent++
          if (!res.write(chunk)) return void res.once("drain", more)
        }
        if (!res.destroyed) res.end("\"}}]}")
      }
      more()
    }
    const response = await post("/v1/messages", messagesTo("gpt-4o"))
    assert.strictEqual(response.status, 502)
    const body = await response.json() as AnthropicErrorBody
    assert.include(body.error.message, "larger than the gateway translates")
  })
})

describe("a large translated body", () => {
  it("arrives exactly, written in slices (a surrogate pair and escapes across slice edges)", async () => {
    // 64 Ki code units per slice: put an emoji's halves, a quote and a newline on the first edge.
    const edge = 64 * 1024
    const text = "x".repeat(edge - 1) + "\u{1F600}" + "\"\n\u00e9".repeat(40_000) + "end"
    anthropicMock.handler = (req, res) => {
      const body = JSON.stringify({
        id: "msg_big",
        type: "message",
        role: "assistant",
        model: String(req.body.model),
        content: [{ type: "text", text }],
        stop_reason: "end_turn",
        usage: { input_tokens: 3, output_tokens: 5 }
      })
      res.writeHead(200, { "content-type": "application/json" })
      res.end(body)
    }
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 })
    const completion = await client.chat.completions.create({
      model: "claude-sonnet-4-20250514",
      messages: [{ role: "user", content: "hi" }]
    })
    assert.strictEqual(completion.choices[0]!.message.content, text)
    assert.strictEqual(completion.usage?.completion_tokens, 5)
  })
})

describe("a stream cut mid-way", () => {
  it("ends a translated stream with Anthropic's error event", async () => {
    openaiMock.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" })
      const delta = { role: "assistant", content: "Hel" }
      res.write(`data: ${JSON.stringify({ id: "c1", choices: [{ index: 0, delta }] })}\n\n`)
      setTimeout(() => res.socket?.destroy(), 50)
    }
    const response = await post("/v1/messages", messagesTo("gpt-4o", { stream: true }))
    assert.strictEqual(response.status, 200)
    const text = await response.text()
    assert.include(text, "event: content_block_delta")
    assert.match(text, /event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"[^"]+"\}\}\n\n$/)
    const client = new Anthropic({ baseURL: gateway.url, apiKey: "client-key", maxRetries: 0 })
    const stream = await client.messages.create({
      model: "gpt-4o",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "hi" }]
    })
    const error = await (async () => {
      try {
        for await (const _ of stream) {
          // drain
        }
        return undefined
      } catch (e) {
        return e
      }
    })()
    assert.instanceOf(error, Anthropic.APIError)
  })

  it("ends a same-API OpenAI stream with an error chunk the SDK raises", async () => {
    openaiMock.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" })
      res.write(`data: ${JSON.stringify({ id: "c1", choices: [{ index: 0, delta: { content: "Hel" } }] })}\n\n`)
      // A stall past the listener timeout (500 ms).
    }
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 })
    const stream = await client.chat.completions.create({
      model: "gpt-4o",
      stream: true,
      messages: [{ role: "user", content: "hi" }]
    })
    const seen: Array<string> = []
    const error = await (async () => {
      try {
        for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? "")
        return undefined
      } catch (e) {
        return e
      }
    })()
    assert.deepStrictEqual(seen, ["Hel"])
    assert.instanceOf(error, OpenAI.APIError)
    assert.include(String((error as Error).message), "timeout")
  })
})

describe("client input that used to be a 500", () => {
  for (const where of ["an unknown field", "tools parameters", "system"] as const) {
    it(`answers 400 for JSON nested 10,000 levels deep in ${where}`, async () => {
      // JSON.stringify of such a value overflows here too, so the body is written by hand.
      const inner = deep(10_000)
      const user = `{"role":"user","content":"hi"}`
      const raw = where === "an unknown field"
        ? `{"model":"gpt-4o","messages":[${user}],"extra_field":${inner}}`
        : where === "tools parameters"
        ? `{"model":"gpt-4o","messages":[${user}],"tools":[{"type":"function","function":{"name":"f","parameters":${
          inner
        }}}]}`
        : `{"model":"gpt-4o","messages":[{"role":"system","content":${inner}},${user}]}`
      for (const path of ["/v1/chat/completions", "/v1/messages"]) {
        const response = await post(path, path === "/v1/messages" ? raw.replace("{", "{\"max_tokens\":8,") : raw)
        assert.strictEqual(response.status, 400, `${path}: ${await response.clone().text()}`)
      }
    })
  }

  it("answers 400 (not a header crash) for a model with control or non-ASCII characters", async () => {
    for (const path of ["/routing/v1/chat/completions", "/routing/v1/messages", "/v1/chat/completions"]) {
      for (const model of ["gpt\u0001-4o", "gpt-4o\u00e9", "gpt\n4o"]) {
        const body = path.endsWith("messages") ? messagesTo(model) : chatTo(model)
        const response = await post(path, body)
        assert.strictEqual(response.status, 400, `${path} ${JSON.stringify(model)}`)
        const text = await response.text()
        assert.include(text, "Invalid 'model'")
      }
    }
  })

  it("answers 404 model_not_found on the decision endpoint for a model the proxy would 404", async () => {
    const response = await post("/routing/v1/chat/completions", chatTo("no-such-model"))
    assert.strictEqual(response.status, 404)
    const body = await response.json() as OpenAiErrorBody
    assert.strictEqual(body.error.code, "model_not_found")
    const known = await post("/routing/v1/chat/completions", chatTo("gpt-4o"))
    assert.strictEqual(known.status, 200)
  })
})

/** Sends raw bytes and returns everything the gateway answers before closing. */
const rawExchange = (bytes: string) =>
  new Promise<string>((resolve, reject) => {
    const { port } = new URL(gateway.url)
    const socket = connect(Number(port), "127.0.0.1")
    const parts: Array<Buffer> = []
    socket.on("data", (c: Buffer) => parts.push(c))
    socket.once("error", reject)
    socket.once("close", () => resolve(Buffer.concat(parts).toString("latin1")))
    socket.setTimeout(5000, () => socket.destroy(new Error("no answer")))
    socket.write(Buffer.from(bytes, "latin1"))
  })

const request = (path: string, header: string) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n${header}\r\ncontent-length: 2\r\n\r\n{}`

describe("requests Node cannot parse", () => {
  for (const byte of ["\x01", "\x7f", "\x00"]) {
    it(`answers a session header holding ${JSON.stringify(byte)} with a JSON 400`, async () => {
      const answer = await rawExchange(request("/v1/chat/completions", `X-Routing-Session-Id: ab${byte}cd`))
      assert.match(answer, /^HTTP\/1\.1 400 /)
      const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as OpenAiErrorBody
      assert.strictEqual(body.error.type, "invalid_request_error")
    })
  }

  it("answers in Anthropic's shape on /v1/messages", async () => {
    const answer = await rawExchange(request("/v1/messages", "X-Routing-Session-Id: ab\x01cd"))
    assert.match(answer, /^HTTP\/1\.1 400 /)
    const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as AnthropicErrorBody
    assert.strictEqual(body.type, "error")
  })

  it("answers a 20 KB header with a JSON 431", async () => {
    const answer = await rawExchange(request("/v1/chat/completions", `x-big: ${"a".repeat(20_000)}`))
    assert.match(answer, /^HTTP\/1\.1 431 /)
    const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as OpenAiErrorBody
    assert.strictEqual(body.error.code, "request_headers_too_large")
  })
})

describe("what an upstream error may carry to the client", () => {
  it("redacts the provider key and bearer tokens from an upstream 401, same API and translated", async () => {
    const echo: MockHandler = (req, res) => {
      const text = JSON.stringify({
        error: {
          message: `Incorrect API key provided: ${String(req.headers.authorization ?? req.headers["x-api-key"])}; ` +
            `also tried Bearer abcdefghijklmnop and sk-proj-zzzzzzzzzzzzzzzz`,
          type: "invalid_request_error",
          code: "invalid_api_key"
        }
      })
      res.writeHead(401, {
        "content-type": "application/json",
        "x-request-id": "req_1",
        "set-cookie": "s=1",
        "x-internal-host": "db7"
      })
      res.end(text)
    }
    openaiMock.handler = echo
    anthropicMock.handler = echo
    for (
      const [path, model] of [
        ["/v1/chat/completions", "gpt-4o"],
        ["/v1/messages", "gpt-4o"],
        ["/v1/chat/completions", "claude-sonnet-4-20250514"]
      ] as const
    ) {
      const response = await post(path, path === "/v1/messages" ? messagesTo(model) : chatTo(model))
      assert.strictEqual(response.status, 401)
      const text = await response.text()
      for (const secret of [openAiKey, anthropicKey, "abcdefghijklmnop", "sk-proj-zzzz"]) {
        assert.notInclude(text, secret, `${path} → ${model}`)
      }
      assert.include(text, "[REDACTED]")
      assert.strictEqual(response.headers.get("x-request-id"), "req_1")
      assert.isNull(response.headers.get("set-cookie"))
      assert.isNull(response.headers.get("x-internal-host"))
    }
  })

  it("forwards only allow-listed headers of a successful upstream response", async () => {
    openaiMock.handler = (req, res) => {
      const text = JSON.stringify({
        id: "c1",
        object: "chat.completion",
        created: 1,
        model: String(req.body.model),
        choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }]
      })
      res.writeHead(200, {
        "content-type": "application/json",
        "x-ratelimit-remaining-requests": "99",
        "x-debug-upstream-key": openAiKey,
        "set-cookie": "s=1"
      })
      res.end(text)
    }
    const response = await post("/v1/chat/completions", chatTo("gpt-4o"))
    assert.strictEqual(response.status, 200)
    assert.strictEqual(response.headers.get("x-ratelimit-remaining-requests"), "99")
    assert.isNull(response.headers.get("x-debug-upstream-key"))
    assert.isNull(response.headers.get("set-cookie"))
    const body = await response.json() as { choices: Array<{ message: { content: string } }> }
    assert.strictEqual(body.choices[0]!.message.content, "ok")
  })
})
