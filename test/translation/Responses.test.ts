import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { fromChatResponse, thinkingItems } from "../../src/translation/ChatResponseToResponses.js"
import { messagesStreamTranslator } from "../../src/translation/MessagesStreamToChat.js"
import { echoOf, toChatRequest } from "../../src/translation/ResponsesToChat.js"
import { checkResponsesStream, runResponses } from "../support/ResponsesChecks.js"
import { bytewise, cutAt, loadFixture } from "../support/WireChecks.js"

interface RequestFixtures {
  readonly cases: ReadonlyArray<{ readonly name: string; readonly input: Record<string, unknown>; readonly expected: unknown }>
  readonly errors: ReadonlyArray<{ readonly name: string; readonly input: Record<string, unknown>; readonly param: string }>
}

const fixtures = loadFixture<RequestFixtures>("responses-requests.json")
const echo = echoOf({})

describe("ResponsesToChat: request fixtures", () => {
  for (const c of fixtures.cases) {
    it(c.name, () => {
      const out = toChatRequest(structuredClone(c.input), { model: "m" })
      assert.isTrue(Either.isRight(out), Either.isLeft(out) ? out.left.message : "")
      assert.deepStrictEqual(Either.getOrThrow(out), c.expected)
    })
  }
  for (const c of fixtures.errors) {
    it(`untranslatable: ${c.name}`, () => {
      const out = toChatRequest(structuredClone(c.input), { model: "m" })
      assert.isTrue(Either.isLeft(out))
      if (Either.isLeft(out)) assert.strictEqual(out.left.param, c.param)
    })
  }
})

describe("ChatResponseToResponses", () => {
  const chat = (message: Record<string, unknown>, finish: string) => ({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "mistral-large",
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish }],
    usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 } }
  })
  const table = [
    {
      name: "text",
      body: chat({ content: "Hi." }, "stop"),
      output: [["message", "Hi."]],
      status: "completed",
      incomplete: null
    },
    {
      name: "text and two tool calls",
      body: chat({
        content: "Checking.",
        tool_calls: [
          { id: "call_a", type: "function", function: { name: "f", arguments: "{\"a\":1}" } },
          { id: "call_b", type: "function", function: { name: "g", arguments: "{}" } }
        ]
      }, "tool_calls"),
      output: [["message", "Checking."], ["function_call", "f", "call_a", "{\"a\":1}"], ["function_call", "g", "call_b", "{}"]],
      status: "completed",
      incomplete: null
    },
    {
      name: "cut by max tokens",
      body: chat({ content: "Long" }, "length"),
      output: [["message", "Long"]],
      status: "incomplete",
      incomplete: { reason: "max_output_tokens" }
    }
  ] as const
  for (const row of table) {
    it(row.name, () => {
      const response = fromChatResponse(row.body, { echo, model: "fallback" })
      assert.match(response.id, /^resp_/)
      assert.strictEqual(response.object, "response")
      assert.strictEqual(response.model, "mistral-large")
      assert.strictEqual(response.status, row.status)
      assert.deepStrictEqual(response.incomplete_details, row.incomplete)
      assert.deepStrictEqual(
        response.output.map((o) =>
          o.type === "message"
            ? [o.type, o.content[0]!.text]
            : o.type === "function_call"
            ? [o.type, o.name, o.call_id, o.arguments]
            : [o.type]
        ),
        row.output.map((r) => [...r])
      )
      assert.deepStrictEqual(response.usage, {
        input_tokens: 12,
        input_tokens_details: { cached_tokens: 4 },
        output_tokens: 3,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 15
      })
      assert.strictEqual(new Set(response.output.map((o) => o.id)).size, response.output.length)
    })
  }
})

describe("reasoning in answers", () => {
  it("chat reasoning_content becomes a reasoning item before the message", () => {
    const response = fromChatResponse({
      id: "c",
      model: "deepseek-reasoner",
      choices: [{ index: 0, message: { role: "assistant", content: "42", reasoning_content: "Six times seven." }, finish_reason: "stop" }]
    }, { echo, model: "m" })
    assert.deepStrictEqual(response.output.map((o) => o.type), ["reasoning", "message"])
    const first = response.output[0]!
    assert.isTrue(first.type === "reasoning" && first.summary[0]!.text === "Six times seven." && /^rs_/.test(first.id))
  })

  it("Anthropic thinking blocks become reasoning items carrying their signature", () => {
    const items = thinkingItems({
      content: [
        { type: "thinking", thinking: "Consider the sky.", signature: "sig-abc" },
        { type: "redacted_thinking", data: "xyz" },
        { type: "text", text: "Clear." }
      ]
    })
    assert.strictEqual(items.length, 1)
    assert.strictEqual(items[0]!.summary[0]!.text, "Consider the sky.")
    assert.strictEqual(items[0]!.encrypted_content, "sig-abc")
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Stream grammar properties: generated upstream streams, cut at arbitrary byte positions

const text = fc.oneof(fc.string({ unit: "grapheme", maxLength: 8 }), fc.string({ unit: "binary", maxLength: 6 }))
const pieces = fc.array(text, { minLength: 0, maxLength: 4 })
const call = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9]{1,8}$/).map((s) => `call_${s}`),
  name: fc.stringMatching(/^[a-z_]{1,10}$/),
  args: fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 })
})
const chatStream = fc.record({
  thoughts: pieces,
  pieces,
  calls: fc.array(call, { maxLength: 3 }),
  finish: fc.constantFrom("stop", "length", "tool_calls"),
  usage: fc.boolean(),
  crlf: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 12 })
})

type ChatStream = typeof chatStream extends fc.Arbitrary<infer A> ? A : never

const chatWire = (s: ChatStream): Buffer => {
  const frames: Array<string> = []
  const chunk = (delta: unknown, finish: string | null = null) =>
    frames.push(`data: ${
      JSON.stringify({
        id: "chatcmpl-p",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta, finish_reason: finish }]
      })
    }\n\n`)
  chunk({ role: "assistant", content: "" })
  for (const t of s.thoughts) chunk({ reasoning_content: t })
  for (const p of s.pieces) chunk({ content: p })
  s.calls.forEach((c, i) => {
    chunk({ tool_calls: [{ index: i, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] })
    for (const a of c.args) chunk({ tool_calls: [{ index: i, function: { arguments: a } }] })
  })
  chunk({}, s.finish)
  if (s.usage) {
    frames.push(`data: ${
      JSON.stringify({ id: "chatcmpl-p", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } })
    }\n\n`)
  }
  frames.push("data: [DONE]\n\n")
  const joined = frames.join("")
  return Buffer.from(s.crlf ? joined.replace(/\n/g, "\r\n") : joined, "utf8")
}

const expectedItems = (s: {
  thoughts?: ReadonlyArray<string>
  pieces: ReadonlyArray<string>
  calls: ReadonlyArray<{ id: string; name: string; args: ReadonlyArray<string> }>
}) => [
  ...((s.thoughts ?? []).join("").length > 0 ? [{ type: "reasoning" as const, text: (s.thoughts ?? []).join("") }] : []),
  ...(s.pieces.join("").length > 0 ? [{ type: "message" as const, text: s.pieces.join("") }] : []),
  // A call without arguments is completed as "{}".
  ...s.calls.map((c) => ({ type: "function_call" as const, name: c.name, callId: c.id, args: c.args.join("") || "{}" }))
]

describe("ChatStreamToResponses: grammar", () => {
  it.prop("any chat stream, split anywhere, gives a well-formed Responses stream with the same text and calls", [chatStream], ([s]) => {
    const summary = checkResponsesStream(runResponses(cutAt(chatWire(s), s.cuts), { echo, model: "m" }))
    assert.deepStrictEqual(summary.items, expectedItems(s))
    assert.strictEqual(summary.status, s.finish === "length" ? "incomplete" : "completed")
    assert.strictEqual(summary.usage === null, !s.usage)
  })

  it("byte by byte equals one chunk, except for the generated ids", () => {
    const s: ChatStream = {
      thoughts: ["Let me ", "think."],
      pieces: ["Hé", "llo ✓"],
      calls: [{ id: "call_1", name: "f", args: ["{\"a\"", ":1}"] }],
      finish: "tool_calls",
      usage: true,
      crlf: true,
      cuts: []
    }
    const whole = checkResponsesStream(runResponses([chatWire(s)], { echo, model: "m" }))
    const bytes = checkResponsesStream(runResponses(bytewise(chatWire(s)), { echo, model: "m" }))
    assert.deepStrictEqual(bytes.items, whole.items)
    assert.deepStrictEqual(whole.items, expectedItems(s))
  })

  it("an upstream error frame ends the stream with response.failed; a malformed frame is skipped", () => {
    const wire = [
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] })}\n\n`,
      "data: {not json\n\n",
      `data: ${JSON.stringify({ error: { message: "overloaded", type: "server_error", code: 503 } })}\n\n`
    ].join("")
    const summary = checkResponsesStream(runResponses([wire], { echo, model: "m" }))
    assert.strictEqual(summary.status, "failed")
    assert.include(String(summary.error?.message), "overloaded")
  })

  it("a stream that ends without data fails cleanly", () => {
    const summary = checkResponsesStream(runResponses([""], { echo, model: "m" }))
    assert.strictEqual(summary.status, "failed")
  })
})

const anthropicStream = fc.record({
  pieces,
  calls: fc.array(call, { maxLength: 2 }),
  stop: fc.constantFrom("end_turn", "max_tokens", "tool_use"),
  cuts: fc.array(fc.nat(), { maxLength: 12 })
})

type AnthropicStream = typeof anthropicStream extends fc.Arbitrary<infer A> ? A : never

const anthropicWire = (s: AnthropicStream): Buffer => {
  const out: Array<string> = []
  const send = (type: string, data: Record<string, unknown>) =>
    out.push(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
  send("message_start", { message: { id: "msg_p", type: "message", role: "assistant", model: "claude", content: [], usage: { input_tokens: 5, output_tokens: 1 } } })
  let index = 0
  if (s.pieces.join("").length > 0) {
    send("content_block_start", { index, content_block: { type: "text", text: "" } })
    for (const p of s.pieces) send("content_block_delta", { index, delta: { type: "text_delta", text: p } })
    send("content_block_stop", { index })
    index++
  }
  for (const c of s.calls) {
    send("content_block_start", { index, content_block: { type: "tool_use", id: c.id, name: c.name, input: {} } })
    for (const a of c.args) send("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: a } })
    send("content_block_stop", { index })
    index++
  }
  send("message_delta", { delta: { stop_reason: s.stop }, usage: { output_tokens: 7 } })
  send("message_stop", {})
  return Buffer.from(out.join(""), "utf8")
}

describe("Anthropic stream → chat → Responses: grammar", () => {
  it.prop("any Messages stream, split anywhere, gives a well-formed Responses stream with the same text and calls", [anthropicStream], ([s]) => {
    const inner = messagesStreamTranslator({ includeUsage: true, model: "claude" })
    const summary = checkResponsesStream(runResponses(cutAt(anthropicWire(s), s.cuts), { echo, model: "claude" }, inner))
    assert.deepStrictEqual(summary.items, expectedItems(s))
    assert.strictEqual(summary.status, s.stop === "max_tokens" ? "incomplete" : "completed")
    assert.strictEqual(summary.usage?.output_tokens, 7)
  })
})
