import Anthropic from "@anthropic-ai/sdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import { cannedReply, startSimulatedProvider } from "../tools/SimulatedProvider.js"
import type { SimulatedProvider } from "../tools/SimulatedProvider.js"

let provider: SimulatedProvider
let openai: OpenAI
let anthropic: Anthropic

beforeAll(async () => {
  provider = await startSimulatedProvider()
  openai = new OpenAI({ baseURL: `${provider.url}/v1`, apiKey: "sk-test", maxRetries: 0 })
  anthropic = new Anthropic({ baseURL: provider.url, apiKey: "sk-ant-test", maxRetries: 0 })
})

afterAll(() => provider.close())

const post = (path: string, body: unknown) =>
  fetch(`${provider.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })

/** Splits an SSE body into frames, asserting every frame ends with a blank line. */
const framesOf = (text: string): Array<string> => {
  assert.isTrue(text.endsWith("\n\n"), "stream ends with a blank line")
  return text.slice(0, -2).split("\n\n")
}

describe("cannedReply", () => {
  const user = (content: string) => ({ role: "user" as const, content })

  it("names the model and picks a line by keyword in the latest user text", () => {
    assert.strictEqual(
      cannedReply("m", [user("List the technical requirements")]).slice(0, 36),
      "[m] Critical requirements: 1. ACID t"
    )
    assert.match(cannedReply("m", [user("Compare PostgreSQL vs MongoDB for these requirements")]), /^\[m\] PostgreSQL/)
    assert.match(cannedReply("m", [user("Write the schema (CREATE TABLE) after the comparison")]), /^\[m\] CREATE/)
    assert.match(cannedReply("m", [user("Assess scalability of the schema")]), /^\[m\] At high write volume/)
    assert.match(cannedReply("m", [user("Write the final report on requirements and scalability")]), /^\[m\] RECOMMEND/)
    assert.strictEqual(cannedReply("m", [user("hi")]), "[m] Hello! This is a simulated reply.")
  })

  it("continues only when the same model wrote the previous assistant turn", () => {
    const history = [user("List requirements"), { role: "assistant" as const, content: "[a] Critical requirements" }]
    assert.match(cannedReply("a", [...history, user("Compare them")]), /^\[a\] Building on the requirements/)
    assert.match(cannedReply("b", [...history, user("Compare them")]), /^\[b\] PostgreSQL excels/)
  })
})

describe("SimulatedProvider over OpenAI Chat Completions", () => {
  it("answers a non-streaming request with the model's name and usage", async () => {
    const completion = await openai.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "system", content: "be brief" }, { role: "user", content: "List the requirements" }]
    })
    assert.strictEqual(completion.object, "chat.completion")
    assert.strictEqual(completion.model, "gpt-4o")
    assert.strictEqual(completion.choices[0]?.finish_reason, "stop")
    assert.match(completion.choices[0]?.message.content ?? "", /^\[gpt-4o\] Critical requirements: 1\. ACID/)
    assert.isAbove(completion.usage?.prompt_tokens ?? 0, 0)
    assert.strictEqual(
      completion.usage?.total_tokens,
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0)
    )
    const last = provider.requests.at(-1)
    assert.strictEqual(last?.path, "/v1/chat/completions")
    assert.strictEqual(last?.model, "gpt-4o")
    assert.strictEqual(last?.stream, false)
    assert.strictEqual(last?.headers.authorization, "Bearer sk-test")
  })

  it("streams chunks the SDK reassembles, with a usage chunk when asked", async () => {
    const prompt = "Write the schema as CREATE TABLE statements"
    const stream = await openai.chat.completions.create({
      model: "claude-sonnet-4-20250514",
      messages: [{ role: "user", content: prompt }],
      stream: true,
      stream_options: { include_usage: true }
    })
    let text = ""
    let finish: string | null = null
    let usage: OpenAI.CompletionUsage | null | undefined = undefined
    let chunks = 0
    for await (const chunk of stream) {
      chunks++
      assert.strictEqual(chunk.model, "claude-sonnet-4-20250514")
      text += chunk.choices[0]?.delta.content ?? ""
      finish = chunk.choices[0]?.finish_reason ?? finish
      if (chunk.usage) usage = chunk.usage
    }
    assert.isAbove(chunks, 3)
    assert.strictEqual(finish, "stop")
    assert.strictEqual(text, cannedReply("claude-sonnet-4-20250514", [{ role: "user", content: prompt }]))
    assert.match(text, /^\[claude-sonnet-4-20250514\] CREATE TABLE orders/)
    assert.isAbove(usage?.completion_tokens ?? 0, 0)
    assert.strictEqual(provider.requests.at(-1)?.stream, true)
  })

  it("frames SSE exactly: data lines, usage null until the usage chunk, then [DONE]", async () => {
    const response = await post("/v1/chat/completions", {
      model: "gpt-4o",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi" }]
    })
    assert.strictEqual(response.status, 200)
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/)
    const frames = framesOf(await response.text())
    assert.strictEqual(frames.at(-1), "data: [DONE]")
    const chunks = frames.slice(0, -1).map((frame) => {
      assert.match(frame, /^data: \{[^\n]*\}$/)
      return JSON.parse(frame.slice("data: ".length))
    })
    assert.deepStrictEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" })
    const usageChunk = chunks.at(-1)
    assert.deepStrictEqual(usageChunk.choices, [])
    assert.isAbove(usageChunk.usage.total_tokens, 0)
    for (const chunk of chunks.slice(0, -1)) assert.isNull(chunk.usage)
    assert.strictEqual(chunks.at(-2).choices[0].finish_reason, "stop")
  })

  it("leaves usage out of a stream that did not ask for it", async () => {
    const response = await post("/v1/chat/completions", {
      model: "gpt-4o",
      stream: true,
      messages: [{ role: "user", content: "hi" }]
    })
    const frames = framesOf(await response.text())
    assert.strictEqual(frames.at(-1), "data: [DONE]")
    for (const frame of frames.slice(0, -1)) {
      const chunk = JSON.parse(frame.slice("data: ".length))
      assert.isFalse("usage" in chunk)
      assert.lengthOf(chunk.choices, 1)
    }
  })

  it("lists models", async () => {
    const ids: Array<string> = []
    for await (const model of openai.models.list()) ids.push(model.id)
    assert.deepStrictEqual(ids, ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4-20250514"])
  })

  it("answers error-<status> models with that status in OpenAI's error shape", async () => {
    const error = await openai.chat.completions
      .create({ model: "error-503", messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, (e: unknown) => e)
    assert.instanceOf(error, OpenAI.APIError)
    if (error instanceof OpenAI.APIError) {
      assert.strictEqual(error.status, 503)
      assert.include(error.message, "simulated failure 503")
    }
  })

  it("rejects a body without model or not JSON with 400", async () => {
    assert.strictEqual((await post("/v1/chat/completions", { messages: [] })).status, 400)
    const response = await fetch(`${provider.url}/v1/chat/completions`, { method: "POST", body: "{nope" })
    assert.strictEqual(response.status, 400)
    const json: unknown = await response.json()
    assert.isTrue(typeof json === "object" && json !== null && "error" in json)
    assert.strictEqual((await fetch(`${provider.url}/v1/embeddings`, { method: "POST", body: "{}" })).status, 404)
  })
})

describe("SimulatedProvider over Anthropic Messages", () => {
  it("answers a non-streaming request with the model's name and usage", async () => {
    const message = await anthropic.messages.create({
      model: "claude-sonnet-4-20250514",
      max_tokens: 256,
      system: "You are a database expert.",
      messages: [{ role: "user", content: [{ type: "text", text: "Assess scalability trade-offs" }] }]
    })
    assert.strictEqual(message.type, "message")
    assert.strictEqual(message.model, "claude-sonnet-4-20250514")
    assert.strictEqual(message.stop_reason, "end_turn")
    const block = message.content[0]
    assert.strictEqual(block?.type, "text")
    assert.match(block?.type === "text" ? block.text : "", /^\[claude-sonnet-4-20250514\] At high write volume/)
    assert.isAbove(message.usage.input_tokens, 0)
    const last = provider.requests.at(-1)
    assert.strictEqual(last?.path, "/v1/messages")
    assert.strictEqual(last?.model, "claude-sonnet-4-20250514")
    // @anthropic-ai/sdk 1.x sends the key as a bearer token; older clients use x-api-key.
    assert.include([last?.headers["x-api-key"], last?.headers.authorization], "Bearer sk-ant-test")
  })

  it("streams events the SDK's MessageStream accumulates", async () => {
    const stream = anthropic.messages.stream({
      model: "gpt-4o",
      max_tokens: 256,
      messages: [
        { role: "user", content: "List requirements" },
        { role: "assistant", content: "[gpt-4o] Critical requirements: …" },
        { role: "user", content: "Compare PostgreSQL and MongoDB" }
      ]
    })
    const deltas: Array<string> = []
    stream.on("text", (delta) => deltas.push(delta))
    const message = await stream.finalMessage()
    assert.isAbove(deltas.length, 1)
    const block = message.content[0]
    const text = block?.type === "text" ? block.text : ""
    assert.strictEqual(deltas.join(""), text)
    assert.match(text, /^\[gpt-4o\] Building on the requirements I just outlined/)
    assert.strictEqual(message.stop_reason, "end_turn")
    assert.isAbove(message.usage.output_tokens, 1)
    assert.strictEqual(provider.requests.at(-1)?.stream, true)
  })

  it("yields the raw event sequence with stream: true", async () => {
    const stream = await anthropic.messages.create({
      model: "claude-sonnet-4-20250514",
      max_tokens: 64,
      messages: [{ role: "user", content: "Write the final recommendation report" }],
      stream: true
    })
    const types: Array<string> = []
    for await (const event of stream) types.push(event.type)
    const deltas = types.filter((t) => t === "content_block_delta").length
    assert.isAbove(deltas, 1)
    assert.deepStrictEqual(types, [
      "message_start",
      "content_block_start",
      ...Array<string>(deltas).fill("content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop"
    ])
  })

  it("frames SSE exactly: an event line naming the data's type, one data line, a blank line", async () => {
    const response = await post("/v1/messages", {
      model: "claude-sonnet-4-20250514",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "hi" }]
    })
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/)
    const frames = framesOf(await response.text())
    const types = frames.map((frame) => {
      const match = /^event: ([a-z_]+)\ndata: (\{[^\n]*\})$/.exec(frame)
      assert.isNotNull(match, frame)
      const data = JSON.parse(match![2]!)
      assert.strictEqual(data.type, match![1])
      return data.type
    })
    assert.deepStrictEqual(types.slice(0, 3), ["message_start", "content_block_start", "ping"])
    assert.deepStrictEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"])
  })

  it("lists models", async () => {
    const ids: Array<string> = []
    for await (const model of anthropic.models.list()) ids.push(model.id)
    assert.deepStrictEqual(ids, ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4-20250514"])
  })

  it("answers error-<status> models with that status in Anthropic's error shape", async () => {
    const error = await anthropic.messages
      .create({ model: "error-429", max_tokens: 8, messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, (e: unknown) => e)
    assert.instanceOf(error, Anthropic.APIError)
    if (error instanceof Anthropic.APIError) {
      assert.strictEqual(error.status, 429)
      assert.deepStrictEqual(error.error, {
        type: "error",
        error: { type: "api_error", message: "simulated failure 429" }
      })
    }
  })
})

describe("SimulatedProvider lifecycle", () => {
  it("paces a slow stream and closes at once despite it and keep-alive connections", async () => {
    const slow = await startSimulatedProvider(0, { chunkDelayMs: 300 })
    const client = new OpenAI({ baseURL: `${slow.url}/v1`, apiKey: "k", maxRetries: 0 })
    await client.models.list()
    const stream = await client.chat.completions.create({
      model: "m",
      stream: true,
      messages: [{ role: "user", content: "List requirements" }]
    })
    const iterator = stream[Symbol.asyncIterator]()
    assert.isFalse((await iterator.next()).done)
    const started = performance.now()
    const second = iterator.next().then(() => "chunk", () => "error")
    await slow.close()
    assert.isBelow(performance.now() - started, 250)
    assert.strictEqual(await second, "error")
    assert.deepStrictEqual(slow.requests.map((r) => r.path), ["/v1/models", "/v1/chat/completions"])
  })
})
