import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions"
import { chatCompletion, hang, openAiError, openAiJson, openAiStream, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

const config = (mock: string) => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
    timeout: 1s
    max_body_bytes: 4096
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${mock}
    access_key: test-key
    default: true
  - model: openai/gpt-4o
    base_url: ${mock}
    access_key: test-key
  - model: openai/no-key
    base_url: ${mock}
    access_key: $UNSET_TEST_KEY
model_aliases:
  fast:
    target: gpt-4o-mini
`

let mock: MockUpstream
let gateway: TestGateway
let client: OpenAI

beforeAll(async () => {
  mock = await startMock()
  gateway = await startGateway(config(mock.url))
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 })
})

afterAll(async () => {
  await gateway.close()
  await mock.close()
})

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body })

describe("proxy /v1/chat/completions", () => {
  it("forwards a plain call with the provider's model id and key", async () => {
    mock.handler = openAiJson()
    const before = mock.requests.length
    const response = await client.chat.completions.create({
      model: "openai/gpt-4o",
      messages: [{ role: "user", content: "hello" }]
    })
    assert.strictEqual(response.choices[0]?.message.content, "served by gpt-4o")
    const received = mock.requests[before]!
    assert.strictEqual(received.path, "/v1/chat/completions")
    assert.strictEqual(received.body.model, "gpt-4o")
    assert.strictEqual(received.headers.authorization, "Bearer test-key")
  })

  it("resolves aliases and bare ids, and uses the default provider when model is missing", async () => {
    mock.handler = openAiJson()
    const alias = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "x" }] })
    assert.strictEqual(alias.model, "gpt-4o-mini")
    const bare = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] })
    assert.strictEqual(bare.model, "gpt-4o")
    const none = await post("/v1/chat/completions", JSON.stringify({ messages: [{ role: "user", content: "x" }] }))
    assert.strictEqual(none.status, 200)
    assert.strictEqual(none.headers.get("x-routing-model"), "openai/gpt-4o-mini")
    assert.strictEqual(none.headers.get("x-routing-reason"), "requested")
  })

  it("streams incrementally: the first chunk arrives before the upstream sends the last", async () => {
    let release: () => void = () => undefined
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    let firstSeen = false
    mock.handler = openAiStream(["one ", "two ", "three"], async () => {
      await released
    })
    const stream = await client.chat.completions.create({
      model: "gpt-4o",
      stream: true,
      messages: [{ role: "user", content: "count" }]
    })
    let text = ""
    for await (const chunk of stream) {
      if (!firstSeen) {
        firstSeen = true
        // The mock is still holding back its last piece: this chunk cannot have been buffered behind it.
        release()
      }
      text += chunk.choices[0]?.delta.content ?? ""
    }
    assert.isTrue(firstSeen)
    assert.strictEqual(text, "one two three")
  })

  it("passes tool calls through untouched", async () => {
    const toolReply = {
      ...chatCompletion("gpt-4o", ""),
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Oslo\"}" } }]
        },
        finish_reason: "tool_calls"
      }]
    }
    mock.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify(toolReply))
    }
    const before = mock.requests.length
    const response = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "weather in Oslo?" }],
      tools: [{
        type: "function",
        function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }
      }],
      tool_choice: "auto"
    })
    const call = response.choices[0]?.message.tool_calls?.[0]
    assert.strictEqual(call?.type === "function" ? call.function.name : undefined, "get_weather")
    assert.deepStrictEqual(mock.requests[before]!.body.tool_choice, "auto")
    assert.strictEqual((mock.requests[before]!.body.tools as Array<unknown>).length, 1)
  })

  it("forwards unknown body fields to the upstream", async () => {
    mock.handler = openAiJson()
    const before = mock.requests.length
    const params: ChatCompletionCreateParamsNonStreaming & { vendor_extension: { depth: number } } = {
      model: "gpt-4o",
      messages: [{ role: "user", content: "hi" }],
      vendor_extension: { depth: 3 }
    }
    await client.chat.completions.create(params)
    assert.deepStrictEqual(mock.requests[before]!.body.vendor_extension, { depth: 3 })
  })

  it("returns upstream 429 and 500 with their status and body", async () => {
    mock.handler = openAiError(429, "slow down", "rate_limit_error")
    const limited = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, (e: unknown) => e)
    assert.instanceOf(limited, OpenAI.RateLimitError)
    assert.include((limited as InstanceType<typeof OpenAI.RateLimitError>).message, "slow down")
    mock.handler = openAiError(500, "upstream broke")
    const broken = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, (e: unknown) => e)
    assert.instanceOf(broken, OpenAI.InternalServerError)
    assert.strictEqual((broken as InstanceType<typeof OpenAI.InternalServerError>).status, 500)
  })

  it("answers 504 when the upstream hangs past the listener timeout", async () => {
    mock.handler = hang()
    const started = Date.now()
    const response = await post("/v1/chat/completions", JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }))
    const elapsed = Date.now() - started
    assert.strictEqual(response.status, 504)
    const body = await response.json() as { error: { code: string } }
    assert.strictEqual(body.error.code, "upstream_timeout")
    assert.isAtLeast(elapsed, 900)
  })

  it("closes the upstream socket when the client aborts", async () => {
    mock.handler = hang()
    const index = mock.requests.length
    const controller = new AbortController()
    const pending = client.chat.completions.create(
      { model: "gpt-4o", messages: [{ role: "user", content: "x" }], stream: true },
      { signal: controller.signal }
    ).then(() => undefined, () => undefined)
    while (mock.requests.length <= index) await new Promise((r) => setTimeout(r, 5))
    controller.abort()
    await pending
    await mock.closed(index)
  })

  it("answers 502 when the upstream is unreachable", async () => {
    const dead = await startMock()
    await dead.close()
    const other = await startGateway(config(dead.url))
    try {
      const response = await fetch(`${other.url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] })
      })
      assert.strictEqual(response.status, 502)
      const body = await response.json() as { error: { type: string } }
      assert.strictEqual(body.error.type, "server_error")
    } finally {
      await other.close()
    }
  })
})

describe("bad input", () => {
  const expectError = async (response: Response, status: number, code: string) => {
    assert.strictEqual(response.status, status)
    const body = await response.json() as { error: { message: string; type: string; code: string } }
    assert.strictEqual(body.error.code, code)
    assert.isString(body.error.message)
    assert.isString(body.error.type)
    return body.error.message
  }

  it("rejects a body that is not JSON", async () => {
    await expectError(await post("/v1/chat/completions", "{not json"), 400, "invalid_json")
  })

  it("rejects wrong types", async () => {
    const message = await expectError(
      await post("/v1/chat/completions", JSON.stringify({ model: 42, messages: [] })),
      400,
      "invalid_type"
    )
    assert.include(message, "model")
    await expectError(
      await post("/v1/chat/completions", JSON.stringify({ model: "gpt-4o", messages: "hi" })),
      400,
      "invalid_type"
    )
  })

  it("rejects a missing messages field", async () => {
    await expectError(await post("/v1/chat/completions", JSON.stringify({ model: "gpt-4o" })), 400, "missing_required_parameter")
  })

  it("rejects an unknown model with 404", async () => {
    const message = await expectError(
      await post("/v1/chat/completions", JSON.stringify({ model: "nope/unknown", messages: [{ role: "user", content: "x" }] })),
      404,
      "model_not_found"
    )
    assert.include(message, "nope/unknown")
  })

  it("rejects a body over the limit with 413", async () => {
    const big = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "x".repeat(5000) }] })
    await expectError(await post("/v1/chat/completions", big), 413, "request_too_large")
  })

  it("names the unset variable when a provider has no key, and never leaks a key", async () => {
    const response = await post("/v1/chat/completions", JSON.stringify({ model: "openai/no-key", messages: [{ role: "user", content: "x" }] }))
    assert.strictEqual(response.headers.get("x-routing-model"), "openai/no-key")
    const message = await expectError(response, 401, "missing_api_key")
    assert.include(message, "UNSET_TEST_KEY")
    assert.notInclude(message, "test-key")
  })

  it("rejects an invalid session id", async () => {
    await expectError(
      await post("/v1/chat/completions", JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }), {
        "x-routing-session-id": "has space"
      }),
      400,
      "invalid_session_id"
    )
  })
})

describe("other endpoints", () => {
  it("lists models in config order", async () => {
    const response = await fetch(`${gateway.url}/v1/models`)
    const body = await response.json() as { object: string; data: Array<{ id: string; owned_by: string }> }
    assert.strictEqual(body.object, "list")
    assert.deepStrictEqual(body.data.map((m) => m.id), ["openai/gpt-4o-mini", "openai/gpt-4o", "openai/no-key"])
    assert.strictEqual(body.data[0]!.owned_by, "OpenAI")
  })

  it("answers /healthz, CORS preflight and unknown paths", async () => {
    const health = await fetch(`${gateway.url}/healthz`)
    assert.deepStrictEqual(await health.json(), { status: "ok" })
    const preflight = await fetch(`${gateway.url}/v1/models`, { method: "OPTIONS" })
    assert.strictEqual(preflight.status, 204)
    assert.strictEqual(preflight.headers.get("access-control-allow-origin"), "*")
    const missing = await fetch(`${gateway.url}/v2/nothing`)
    assert.strictEqual(missing.status, 404)
    const body = await missing.json() as { error: { code: string } }
    assert.strictEqual(body.error.code, "not_found")
  })
})
