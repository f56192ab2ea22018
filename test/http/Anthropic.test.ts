import Anthropic from "@anthropic-ai/sdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import type { ServerResponse } from "node:http"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream, Received } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

// Two real loopback providers: one speaks OpenAI Chat Completions, one Anthropic Messages. Both answer with some
// text followed by a get_weather tool call whenever the request offers tools.

const sse = (res: ServerResponse) => res.writeHead(200, { "content-type": "text/event-stream" })

const openAiProvider = (req: Received, res: ServerResponse) => {
  const model = String(req.body.model)
  const tools = Array.isArray(req.body.tools) && req.body.tools.length > 0
  if (req.body.stream !== true) {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1_700_000_000,
      model,
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: "Checking the weather.",
          ...(tools
            ? { tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Oslo\"}" } }] }
            : {})
        },
        finish_reason: tools ? "tool_calls" : "stop"
      }],
      usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 }
    }))
    return
  }
  sse(res)
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    res.write(`data: ${JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }]
    })}\n\n`)
  chunk({ role: "assistant", content: "" })
  chunk({ content: "Checking " })
  chunk({ content: "the weather." })
  if (tools) {
    chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } }] })
    chunk({ tool_calls: [{ index: 0, function: { arguments: "{\"city\":" } }] })
    chunk({ tool_calls: [{ index: 0, function: { arguments: "\"Oslo\"}" } }] })
  }
  chunk({}, tools ? "tool_calls" : "stop")
  const options = req.body.stream_options as { include_usage?: boolean } | undefined
  if (options?.include_usage === true) {
    res.write(`data: ${JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model,
      choices: [],
      usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 }
    })}\n\n`)
  }
  res.end("data: [DONE]\n\n")
}

const anthropicProvider = (req: Received, res: ServerResponse) => {
  const model = String(req.body.model)
  const tools = Array.isArray(req.body.tools) && req.body.tools.length > 0
  const usage = { input_tokens: 20, output_tokens: 9, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 }
  if (req.body.stream !== true) {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model,
      content: [
        { type: "text", text: "Checking the weather." },
        ...(tools ? [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } }] : [])
      ],
      stop_reason: tools ? "tool_use" : "end_turn",
      stop_sequence: null,
      usage
    }))
    return
  }
  sse(res)
  const send = (data: { type: string } & Record<string, unknown>) =>
    res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`)
  send({
    type: "message_start",
    message: {
      id: "msg_1",
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 1 }
    }
  })
  send({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })
  send({ type: "ping" })
  send({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Checking " } })
  send({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "the weather." } })
  send({ type: "content_block_stop", index: 0 })
  if (tools) {
    send({
      type: "content_block_start",
      index: 1,
      content_block: { type: "tool_use", id: "toolu_1", name: "get_weather", input: {} }
    })
    send({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "{\"city\":" } })
    send({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "\"Oslo\"}" } })
    send({ type: "content_block_stop", index: 1 })
  }
  send({ type: "message_delta", delta: { stop_reason: tools ? "tool_use" : "end_turn", stop_sequence: null }, usage: { output_tokens: 9 } })
  send({ type: "message_stop" })
  res.end()
}

const config = (openai: string, anthropic: string) => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: openai/gpt-4o
    base_url: ${openai}
    access_key: sk-openai-test
    default: true
  - model: anthropic/claude-sonnet-4-20250514
    base_url: ${anthropic}
    access_key: sk-ant-test
routing_preferences:
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models: [anthropic/claude-sonnet-4-20250514]
  - name: complex_reasoning
    description: complex reasoning tasks, multi-step analysis, or detailed explanations
    models: [openai/gpt-4o]
`

const weatherTool: Anthropic.Tool = {
  name: "get_weather",
  description: "Current weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}

const reasoningPrompt = "Analyse the trade-offs step by step and explain in detail whether we should move to the coast, considering the weather in Oslo."
const codePrompt = "Write a TypeScript function that fetches the weather for a city and returns it as JSON."

let openaiMock: MockUpstream
let anthropicMock: MockUpstream
let gateway: TestGateway
let anthropic: Anthropic
let openai: OpenAI

beforeAll(async () => {
  openaiMock = await startMock(openAiProvider)
  anthropicMock = await startMock(anthropicProvider)
  gateway = await startGateway(config(openaiMock.url, anthropicMock.url))
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: "client-key", maxRetries: 0 })
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 })
})

afterAll(async () => {
  await gateway.close()
  await openaiMock.close()
  await anthropicMock.close()
})

describe("@anthropic-ai/sdk against the gateway", () => {
  it("messages.create with tools is routed by preference, translated, and pinned by session id", async () => {
    const session = { "X-Routing-Session-Id": `anthropic-${Date.now()}` }
    const before = openaiMock.requests.length
    const { data: message, response } = await anthropic.messages.create({
      model: "claude-sonnet-4-20250514",
      max_tokens: 256,
      system: "You are a relocation advisor.",
      tools: [weatherTool],
      messages: [{ role: "user", content: reasoningPrompt }]
    }, { headers: session }).withResponse()
    assert.strictEqual(response.headers.get("x-routing-route"), "complex_reasoning")
    assert.strictEqual(response.headers.get("x-routing-model"), "openai/gpt-4o")
    assert.strictEqual(response.headers.get("x-routing-pin"), "created")
    // The OpenAI upstream got a translated request: system message first, tools as functions, model id rewritten.
    const sent = openaiMock.requests[before]!.body
    assert.strictEqual(openaiMock.requests[before]!.path, "/v1/chat/completions")
    assert.strictEqual(sent.model, "gpt-4o")
    const messages = sent.messages as Array<{ role: string; content: unknown }>
    assert.strictEqual(messages[0]!.role, "system")
    const tools = sent.tools as Array<{ type: string; function: { name: string } }>
    assert.strictEqual(tools[0]!.function.name, "get_weather")
    // ...and the client got an Anthropic message back.
    assert.strictEqual(message.type, "message")
    assert.strictEqual(message.stop_reason, "tool_use")
    const text = message.content.find((b) => b.type === "text")
    const tool = message.content.find((b) => b.type === "tool_use")
    assert.strictEqual(text?.type === "text" ? text.text : undefined, "Checking the weather.")
    assert.deepStrictEqual(tool?.type === "tool_use" ? tool.input : undefined, { city: "Oslo" })
    assert.strictEqual(message.usage.input_tokens, 20)
    assert.strictEqual(message.usage.output_tokens, 9)

    // A code request in the same session stays on the pinned model, with a multi-turn tool history.
    const toolUse = tool?.type === "tool_use" ? tool : undefined
    const next = await anthropic.messages.create({
      model: "claude-sonnet-4-20250514",
      max_tokens: 256,
      tools: [weatherTool],
      messages: [
        { role: "user", content: reasoningPrompt },
        { role: "assistant", content: message.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: toolUse?.id ?? "", content: "12°C, rain" }] },
        { role: "user", content: codePrompt }
      ]
    }, { headers: session }).withResponse()
    assert.strictEqual(next.response.headers.get("x-routing-model"), "openai/gpt-4o")
    assert.strictEqual(next.response.headers.get("x-routing-pin"), "hit")
    const history = openaiMock.requests[before + 1]!.body.messages as Array<{ role: string; tool_call_id?: string }>
    assert.isTrue(history.some((m) => m.role === "tool" && m.tool_call_id === toolUse?.id))
  })

  it("messages.stream with tools yields a valid event sequence and the same final message", async () => {
    const stream = anthropic.messages.stream({
      model: "claude-sonnet-4-20250514",
      max_tokens: 256,
      tools: [weatherTool],
      messages: [{ role: "user", content: reasoningPrompt }]
    })
    const events: Array<string> = []
    stream.on("streamEvent", (event) => events.push(event.type))
    const final = await stream.finalMessage()
    assert.strictEqual(events[0], "message_start")
    assert.strictEqual(events.at(-1), "message_stop")
    assert.strictEqual(events.filter((e) => e === "message_stop").length, 1)
    assert.strictEqual(events.filter((e) => e === "content_block_start").length, 2)
    assert.strictEqual(events.filter((e) => e === "content_block_stop").length, 2)
    assert.strictEqual(final.stop_reason, "tool_use")
    assert.deepStrictEqual(final.content.map((b) => b.type), ["text", "tool_use"])
    const tool = final.content[1]
    assert.deepStrictEqual(tool?.type === "tool_use" ? tool.input : undefined, { city: "Oslo" })
    assert.strictEqual(final.usage.output_tokens, 9)
    // Usage was requested from the OpenAI upstream so the stream could report it.
    const sent = openaiMock.requests.at(-1)!.body
    assert.deepStrictEqual(sent.stream_options, { include_usage: true })
  })

  it("passes Anthropic-to-Anthropic requests through to /v1/messages with x-api-key", async () => {
    const before = anthropicMock.requests.length
    const { data: message, response } = await anthropic.messages.create({
      model: "claude-sonnet-4-20250514",
      max_tokens: 256,
      messages: [{ role: "user", content: codePrompt }]
    }).withResponse()
    assert.strictEqual(response.headers.get("x-routing-model"), "anthropic/claude-sonnet-4-20250514")
    const received = anthropicMock.requests[before]!
    assert.strictEqual(received.path, "/v1/messages")
    assert.strictEqual(received.headers["x-api-key"], "sk-ant-test")
    assert.isUndefined(received.headers.authorization)
    assert.strictEqual(message.content[0]?.type, "text")
  })

  it("returns upstream errors in Anthropic's shape with the upstream status", async () => {
    const saved = openaiMock.handler
    openaiMock.handler = (_req, res) => {
      res.writeHead(429, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { message: "Rate limit reached", type: "rate_limit_error", code: null } }))
    }
    try {
      const error = await anthropic.messages.create({
        model: "gpt-4o",
        max_tokens: 64,
        messages: [{ role: "user", content: "hello there" }]
      }).then(() => undefined, (e: unknown) => e)
      assert.instanceOf(error, Anthropic.RateLimitError)
      const typed = error as InstanceType<typeof Anthropic.RateLimitError>
      assert.strictEqual(typed.status, 429)
      assert.include(typed.message, "Rate limit reached")
      assert.deepInclude(typed.error as object, { type: "error" })
    } finally {
      openaiMock.handler = saved
    }
  })

  it("answers bad input on /v1/messages in Anthropic's error shape", async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })
    })
    assert.strictEqual(response.status, 400)
    const body = await response.json() as { type: string; error: { type: string; message: string } }
    assert.strictEqual(body.type, "error")
    assert.strictEqual(body.error.type, "invalid_request_error")
    assert.include(body.error.message, "max_tokens")
  })
})

describe("openai client against an Anthropic upstream", () => {
  const params = {
    model: "gpt-4o",
    messages: [
      { role: "system" as const, content: "You write careful code." },
      { role: "user" as const, content: codePrompt }
    ],
    tools: [{
      type: "function" as const,
      function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }
    }]
  }

  it("routes a code request to Claude over the Messages API and translates the answer", async () => {
    const before = anthropicMock.requests.length
    const { data, response } = await openai.chat.completions.create(params).withResponse()
    assert.strictEqual(response.headers.get("x-routing-model"), "anthropic/claude-sonnet-4-20250514")
    const sent = anthropicMock.requests[before]!.body
    assert.strictEqual(sent.system, "You write careful code.")
    assert.isNumber(sent.max_tokens)
    const choice = data.choices[0]!
    assert.strictEqual(choice.finish_reason, "tool_calls")
    assert.strictEqual(choice.message.content, "Checking the weather.")
    const call = choice.message.tool_calls?.[0]
    assert.deepStrictEqual(call?.type === "function" ? JSON.parse(call.function.arguments) : undefined, { city: "Oslo" })
    assert.strictEqual(data.usage?.prompt_tokens, 20)
  })

  it("streams, and finalChatCompletion() equals the non-streamed result", async () => {
    const plain = await openai.chat.completions.create(params)
    const stream = openai.chat.completions.stream({ ...params, stream_options: { include_usage: true } })
    const final = await stream.finalChatCompletion()
    const pick = (c: typeof plain) => ({
      content: c.choices[0]?.message.content,
      finish: c.choices[0]?.finish_reason,
      tools: c.choices[0]?.message.tool_calls?.map((t) =>
        t.type === "function" ? { id: t.id, name: t.function.name, args: JSON.parse(t.function.arguments) as unknown } : t
      ),
      usage: { prompt: c.usage?.prompt_tokens, completion: c.usage?.completion_tokens }
    })
    assert.deepStrictEqual(pick(final), pick(plain))
  })

  it("returns Anthropic upstream errors in OpenAI's shape with the upstream status", async () => {
    const saved = anthropicMock.handler
    anthropicMock.handler = (_req, res) => {
      res.writeHead(400, { "content-type": "application/json" })
      res.end(JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "max_tokens: too large" } }))
    }
    try {
      const error = await openai.chat.completions.create(params).then(() => undefined, (e: unknown) => e)
      assert.instanceOf(error, OpenAI.BadRequestError)
      const typed = error as InstanceType<typeof OpenAI.BadRequestError>
      assert.strictEqual(typed.status, 400)
      assert.include(typed.message, "max_tokens: too large")
    } finally {
      anthropicMock.handler = saved
    }
  })
})
