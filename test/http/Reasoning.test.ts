import Anthropic from "@anthropic-ai/sdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import type { ServerResponse } from "node:http"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream, Received } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

// A DeepSeek-style provider that reasons in `reasoning_content`, and an Anthropic provider that thinks in signed
// thinking blocks (plus one redacted block), both on real loopback HTTP.

const thought = "Compare the tenths: 1 < 8."
const answer = "9.8 is larger."
const signature = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"

const deepSeek = (req: Received, res: ServerResponse) => {
  const model = String(req.body.model)
  if (req.body.stream !== true) {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({
      id: "ds-1",
      object: "chat.completion",
      created: 1_700_000_000,
      model,
      choices: [{
        index: 0,
        message: { role: "assistant", content: answer, reasoning_content: thought },
        finish_reason: "stop"
      }],
      usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 }
    }))
    return
  }
  res.writeHead(200, { "content-type": "text/event-stream" })
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    res.write(`data: ${
      JSON.stringify({
        id: "ds-1",
        object: "chat.completion.chunk",
        created: 1_700_000_000,
        model,
        choices: [{ index: 0, delta, finish_reason: finish }]
      })
    }\n\n`)
  chunk({ role: "assistant", content: null, reasoning_content: "" })
  chunk({ content: null, reasoning_content: "Compare the tenths: " })
  chunk({ content: null, reasoning_content: "1 < 8." })
  chunk({ content: "9.8 is", reasoning_content: null })
  chunk({ content: " larger.", reasoning_content: null })
  chunk({}, "stop")
  res.end("data: [DONE]\n\n")
}

const claude = (req: Received, res: ServerResponse) => {
  const model = String(req.body.model)
  const usage = { input_tokens: 12, output_tokens: 30 }
  if (req.body.stream !== true) {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model,
      content: [
        { type: "thinking", thinking: thought, signature },
        { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix" },
        { type: "text", text: answer }
      ],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage
    }))
    return
  }
  res.writeHead(200, { "content-type": "text/event-stream" })
  const send = (data: { type: string } & Record<string, unknown>) =>
    res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`)
  send({
    type: "message_start",
    message: { id: "msg_1", type: "message", role: "assistant", model, content: [], stop_reason: null, usage }
  })
  send({ type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } })
  send({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Compare the tenths: " } })
  send({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "1 < 8." } })
  send({ type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature } })
  send({ type: "content_block_stop", index: 0 })
  send({ type: "content_block_start", index: 1, content_block: { type: "text", text: "" } })
  send({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: answer } })
  send({ type: "content_block_stop", index: 1 })
  send({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 30 } })
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
  - model: deepseek/deepseek-reasoner
    base_url: ${openai}
    access_key: sk-ds-test
    default: true
  - model: anthropic/claude-sonnet-4-5
    base_url: ${anthropic}
    access_key: sk-ant-test
`

let deepSeekMock: MockUpstream
let claudeMock: MockUpstream
let gateway: TestGateway
let anthropic: Anthropic
let openai: OpenAI

beforeAll(async () => {
  deepSeekMock = await startMock(deepSeek)
  claudeMock = await startMock(claude)
  gateway = await startGateway(config(deepSeekMock.url, claudeMock.url))
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: "client-key", maxRetries: 0 })
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 })
})

afterAll(async () => {
  await gateway?.close()
  await deepSeekMock?.close()
  await claudeMock?.close()
})

const question = "Is 9.11 larger than 9.8?"

describe("reasoning across APIs", () => {
  it("@anthropic-ai/sdk messages.stream: reasoning_content arrives as a thinking block before the text", async () => {
    const before = deepSeekMock.requests.length
    const stream = anthropic.messages.stream({
      model: "deepseek-reasoner",
      max_tokens: 16000,
      thinking: { type: "enabled", budget_tokens: 10000 },
      messages: [{ role: "user", content: question }]
    })
    const starts: Array<string> = []
    stream.on("streamEvent", (event) => {
      if (event.type === "content_block_start") starts.push(`${event.index}:${event.content_block.type}`)
    })
    const { response } = await stream.withResponse()
    const final = await stream.finalMessage()
    assert.deepStrictEqual(starts, ["0:thinking", "1:text"])
    assert.deepStrictEqual(final.content.map((b) => b.type), ["thinking", "text"])
    const thinking = final.content[0]
    assert.strictEqual(thinking?.type === "thinking" ? thinking.thinking : undefined, thought)
    assert.strictEqual(thinking?.type === "thinking" ? thinking.signature : undefined, "")
    const text = final.content[1]
    assert.strictEqual(text?.type === "text" ? text.text : undefined, answer)
    // The thinking handed over has no signature: the client is told before the body.
    assert.strictEqual(response.headers.get("x-switchyard-reasoning"), "unsigned")
    // The request's thinking setting is not mapped by the proxy: a routed request may reach a model that rejects it.
    const sent = deepSeekMock.requests[before]!.body
    assert.isUndefined(sent.reasoning_effort)
    assert.isUndefined(sent.thinking)
  })

  it("@anthropic-ai/sdk messages.create: thinking in the history is dropped and the header says so", async () => {
    const before = deepSeekMock.requests.length
    const { data: message, response } = await anthropic.messages.create({
      model: "deepseek-reasoner",
      max_tokens: 4000,
      messages: [
        { role: "user", content: question },
        {
          role: "assistant",
          content: [{ type: "thinking", thinking: "Earlier thought.", signature }, { type: "text", text: "No." }]
        },
        { role: "user", content: "Why?" }
      ]
    }).withResponse()
    assert.deepStrictEqual(message.content.map((b) => b.type), ["thinking", "text"])
    assert.strictEqual(response.headers.get("x-switchyard-reasoning"), "dropped, unsigned")
    const history = deepSeekMock.requests[before]!.body.messages as Array<Record<string, unknown>>
    assert.deepStrictEqual(history[1], { role: "assistant", content: "No." })
    assert.isUndefined(deepSeekMock.requests[before]!.body.reasoning_effort)
  })

  it("openai chat.completions stream: thinking deltas arrive as reasoning_content, the signature is dropped", async () => {
    const before = claudeMock.requests.length
    const { data: stream, response } = await openai.chat.completions.create({
      model: "claude-sonnet-4-5",
      max_completion_tokens: 32000,
      reasoning_effort: "high",
      stream: true,
      messages: [{ role: "user", content: question }]
    }).withResponse()
    let reasoning = ""
    let content = ""
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined
      if (typeof delta?.reasoning_content === "string") {
        assert.strictEqual(content, "", "reasoning comes before the answer")
        reasoning += delta.reasoning_content
      }
      if (typeof delta?.content === "string") content += delta.content
    }
    assert.strictEqual(reasoning, thought)
    assert.strictEqual(content, answer)
    assert.strictEqual(response.headers.get("x-switchyard-reasoning"), "dropped")
    const sent = claudeMock.requests[before]!.body
    assert.isUndefined(sent.thinking)
    assert.isUndefined(sent.reasoning_effort)
  })

  it("openai chat.completions create: message.reasoning_content, header only when something was dropped", async () => {
    const { data: completion, response } = await openai.chat.completions.create({
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: question }]
    }).withResponse()
    const message = completion.choices[0]!.message as { content: string | null; reasoning_content?: string }
    assert.strictEqual(message.reasoning_content, thought)
    assert.strictEqual(message.content, answer)
    assert.strictEqual(response.headers.get("x-switchyard-reasoning"), "dropped")

    // Same API, no reasoning: no header.
    const plain = await openai.chat.completions.create({
      model: "deepseek-reasoner",
      messages: [{ role: "user", content: question }]
    }).withResponse()
    assert.isNull(plain.response.headers.get("x-switchyard-reasoning"))
  })
})
