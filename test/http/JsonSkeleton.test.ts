import Anthropic from "@anthropic-ai/sdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import type { ServerResponse } from "node:http"
import { Readable } from "node:stream"
import { inflate, markerOf, readSkeleton } from "../../src/http/JsonSkeleton.js"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

// Escapes, a quote, a backslash, \u escapes and multi-byte characters, so chunk cuts land inside each.
const unit = "ab \"q\" \\ \n\t \u00e9 \u2713 \ud83d\ude00 / "
const long = (chars: number) => unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars)

const chunked = (bytes: Buffer, size: number) => {
  const chunks: Array<Buffer> = []
  for (let at = 0; at < bytes.length; at += size) chunks.push(Buffer.from(bytes.subarray(at, at + size)))
  return Readable.from(chunks)
}

describe("readSkeleton", () => {
  it("holds long message texts aside and gives the same JSON back, whatever the chunk cuts", async () => {
    const value = {
      a: "short \"x\"",
      text: long(100_000),
      list: [{ content: long(70_000) }, "tiny", long(70_000)],
      arguments: long(70_000),
      n: 1
    }
    // JSON.stringify leaves \u escapes out; put one in by hand.
    const text = JSON.stringify(value).replace("tiny", "t\\u0069ny")
    for (const size of [1, 7, 997, 65_536, text.length]) {
      const skeleton = await readSkeleton(chunked(Buffer.from(text), size), 1 << 30)
      assert.isTrue(skeleton.valid)
      assert.strictEqual(skeleton.held.length, 2)
      // Only the values of message-text keys are held: an array element or a tool call's arguments stay in the text.
      assert.isBelow(skeleton.text.length, text.length - 170_000)
      const parsed = JSON.parse(skeleton.text) as typeof value
      assert.strictEqual(parsed.text, markerOf(skeleton.id, 0))
      assert.deepStrictEqual(parsed.list[0], { content: markerOf(skeleton.id, 1) })
      assert.strictEqual(parsed.list[1], "tiny")
      assert.isTrue(parsed.list[2] === value.list[2] && parsed.arguments === value.arguments)
      assert.isTrue(inflate(skeleton) === text)
    }
  })

  it("marks a long string with a raw control character or a bad escape as invalid", async () => {
    for (const bad of ["\u0001", "\\x", "\\u12G4"]) {
      const text = `{"text":"${long(70_000).replace(/[\\"\n\t]/g, "")}${bad}"}`
      const skeleton = await readSkeleton(chunked(Buffer.from(text), 4096), 1 << 30)
      assert.isFalse(skeleton.valid)
    }
  })

  it("rejects a body over the limit", async () => {
    const error = await readSkeleton(chunked(Buffer.from(`"${"x".repeat(10_000)}"`), 1000), 5000).catch((e) => e)
    assert.instanceOf(error, Error)
    assert.match(String(error), /larger than 5000/)
  })
})

const send = (res: ServerResponse, body: string) => {
  const bytes = Buffer.from(body)
  // No content length, in odd-sized chunks: always the skeleton path, cuts inside escapes and characters.
  res.writeHead(200, { "content-type": "application/json" })
  for (let at = 0; at < bytes.length; at += 9_973) res.write(bytes.subarray(at, at + 9_973))
  res.end()
}

let anthropicAnswer = ""
let openAiAnswer = ""
let openaiMock: MockUpstream
let anthropicMock: MockUpstream
let gateway: TestGateway
let anthropic: Anthropic
let openai: OpenAI

beforeAll(async () => {
  openaiMock = await startMock((_req, res) => send(res, openAiAnswer))
  anthropicMock = await startMock((_req, res) => send(res, anthropicAnswer))
  gateway = await startGateway(`
version: v0.4.0
listeners: [{ type: model, name: model_listener, port: 12000 }]
model_providers:
  - model: openai/gpt-4o
    base_url: ${openaiMock.url}
    access_key: sk-openai-test
    default: true
  - model: anthropic/claude-sonnet-4-20250514
    base_url: ${anthropicMock.url}
    access_key: sk-ant-test
`)
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: "client-key", maxRetries: 0 })
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 })
})

afterAll(async () => {
  await gateway.close()
  await openaiMock.close()
  await anthropicMock.close()
})

const messages = (content: Array<unknown>) =>
  JSON.stringify({
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-20250514",
    content,
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 4 }
  })

const completion = (message: Record<string, unknown>) =>
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "gpt-4o",
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }
  })

const askOpenAI = () =>
  openai.chat.completions.create({
    model: "anthropic/claude-sonnet-4-20250514",
    messages: [{ role: "user", content: "hi" }]
  })
const askAnthropic = () =>
  anthropic.messages.create({ model: "openai/gpt-4o", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })

describe("large translated answers", () => {
  it("OpenAI client: long text blocks come through exactly, also joined with short ones", async () => {
    const a = long(200_000)
    const b = long(90_000)
    anthropicAnswer = messages([{ type: "text", text: a }, { type: "text", text: "-mid-" }, { type: "text", text: b }])
    const answer = await askOpenAI()
    const expected = `${a}-mid-${b}`
    const content = answer.choices[0]!.message.content!
    // The translation joins text blocks; whatever it puts between them, every block is there whole and in order.
    assert.isTrue(content.startsWith(a) && content.endsWith(b) && content.includes("-mid-"))
    assert.isAtLeast(content.length, expected.length)
  })

  it("OpenAI client: a long tool input (re-encoded into arguments) is translated from the whole text", async () => {
    const city = long(100_000)
    anthropicAnswer = messages([{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city } }])
    const answer = await askOpenAI()
    const call = answer.choices[0]!.message.tool_calls![0]!
    assert.strictEqual(call.type, "function")
    const args = JSON.parse(call.type === "function" ? call.function.arguments : "{}") as { city?: string }
    assert.isTrue(args.city === city)
  })

  it("Anthropic client: a long completion comes through exactly", async () => {
    const content = long(300_000)
    openAiAnswer = completion({ content })
    const answer = await askAnthropic()
    const block = answer.content[0]!
    assert.isTrue(block.type === "text" && block.text === content)
  })

  it("Anthropic client: long tool arguments (parsed into input) are translated from the whole text", async () => {
    const city = long(100_000)
    openAiAnswer = completion({
      content: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: JSON.stringify({ city }) } }]
    })
    const answer = await askAnthropic()
    const block = answer.content.find((b) => b.type === "tool_use")
    const input = block?.type === "tool_use" ? block.input as { city?: string } : undefined
    assert.isTrue(input?.city === city)
  })

  it("a long string JSON forbids (raw control character) answers 502 as before", async () => {
    openAiAnswer = completion({ content: "x".repeat(100_000) }).replace("xxxx", "xx\u0001x")
    const error = await askAnthropic().catch((e: unknown) => e)
    assert.instanceOf(error, Anthropic.APIError)
    assert.strictEqual((error as InstanceType<typeof Anthropic.APIError>).status, 502)
  })
})
