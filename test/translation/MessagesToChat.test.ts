import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import type { MessagesRequest } from "../../src/translation/AnthropicWire.js"
import { fromChatResponse } from "../../src/translation/ChatResponseToMessages.js"
import { chatStreamToMessages, chatStreamTranslator } from "../../src/translation/ChatStreamToMessages.js"
import type { ChatStreamToMessagesOptions } from "../../src/translation/ChatStreamToMessages.js"
import { toAnthropicErrorBody } from "../../src/translation/ErrorTranslation.js"
import { toChatRequest } from "../../src/translation/MessagesToChat.js"
import type { ToChatRequestOptions } from "../../src/translation/MessagesToChat.js"
import type { ChatResponse } from "../../src/translation/OpenAiWire.js"
import { parseAll } from "../../src/translation/SseParser.js"
import type { ErrorBodyFixture, OpenAIStreamFixture, RequestFixtures, ResponseFixture } from "../support/WireChecks.js"
import {
  bytewise,
  checkMessagesStream,
  fixtureBytes,
  loadFixture,
  randomCuts,
  runTransform,
  runTranslator,
  seeded
} from "../support/WireChecks.js"

const messagesRequests = loadFixture<RequestFixtures>("messages-requests.json")
const openaiResponses = loadFixture<ReadonlyArray<ResponseFixture>>("openai-responses.json")
const openaiStreams = loadFixture<ReadonlyArray<OpenAIStreamFixture>>("openai-streams.json")
const errorBodies = loadFixture<ReadonlyArray<ErrorBodyFixture>>("error-bodies.json")

// Fixtures stay untyped JSON on purpose: the translators must cope with whatever arrives on the wire.
const asMessages = (value: unknown) => value as MessagesRequest
const asChat = (value: unknown) => value as ChatResponse

describe("toChatRequest", () => {
  for (const fixture of messagesRequests.cases) {
    it(`translates: ${fixture.name}`, () => {
      const result = toChatRequest(asMessages(fixture.input), fixture.options as ToChatRequestOptions)
      assert.isTrue(Either.isRight(result), Either.isLeft(result) ? result.left.message : "")
      assert.deepStrictEqual<unknown>(Either.getOrThrow(result), fixture.expected)
    })
  }

  for (const fixture of messagesRequests.errors) {
    it(`rejects: ${fixture.name}`, () => {
      const result = toChatRequest(asMessages(fixture.input), { model: "gpt-4o", stream: false })
      assert.isTrue(Either.isLeft(result), "expected a TranslationError")
      const error = Either.getOrThrow(Either.flip(result))
      assert.strictEqual(error._tag, "TranslationError")
      assert.strictEqual(error.param, fixture.param)
    })
  }

  it("can name the limit max_tokens for older OpenAI-compatible servers", () => {
    const result = toChatRequest(asMessages({ max_tokens: 77, messages: [{ role: "user", content: "x" }] }), {
      model: "llama3",
      stream: false,
      maxTokensField: "max_tokens"
    })
    const chat = Either.getOrThrow(result)
    assert.strictEqual(chat.max_tokens, 77)
    assert.isUndefined(chat.max_completion_tokens)
  })

  it("turns any garbage into a Left, never a throw", () => {
    const garbage: ReadonlyArray<unknown> = [
      null,
      "x",
      { messages: {} },
      { messages: [1] },
      { messages: [{ role: "user", content: 3 }] },
      { messages: [{ role: "user", content: [null] }] },
      { messages: [{ role: "assistant", content: {} }] },
      { messages: [], tools: {} },
      { messages: [], tools: [{ name: "f", input_schema: {} }], tool_choice: { type: "maybe" } },
      { messages: [], tools: [{ name: "f", input_schema: {} }], tool_choice: { type: "tool" } },
      { messages: [], system: 5 }
    ]
    for (const body of garbage) {
      assert.isTrue(Either.isLeft(toChatRequest(asMessages(body), { model: "m", stream: true })), JSON.stringify(body))
    }
  })
})

describe("fromChatResponse", () => {
  for (const fixture of openaiResponses) {
    it(`translates: ${fixture.name}`, () => {
      const message = fromChatResponse(asChat(fixture.input), { model: "gpt-fallback" })
      assert.deepStrictEqual<unknown>(message, fixture.expected)
    })
  }

  it("never throws on a body that is not a chat completion", () => {
    const bodies = [null, [], { choices: "x" }, { choices: [{ message: { tool_calls: [null, { function: 1 }] } }] }]
    for (const body of bodies) {
      const message = fromChatResponse(asChat(body))
      assert.strictEqual(message.type, "message")
      assert.strictEqual(message.stop_reason, "end_turn")
    }
  })
})

describe("chatStreamToMessages", () => {
  const options: ChatStreamToMessagesOptions = { model: "configured-model", inputTokensHint: 321 }

  for (const fixture of openaiStreams) {
    it(`translates split-safely: ${fixture.name}`, async () => {
      const bytes = fixtureBytes(fixture.sse, fixture.crlf === true)
      const whole = await runTransform(chatStreamToMessages(options), [bytes])
      const random = seeded(fixture.name.length * 104729)
      const splits = [bytewise(bytes), ...Array.from({ length: 6 }, (_, k) => randomCuts(bytes, random, 1 + k * 8))]
      for (const chunks of splits) assert.strictEqual(runTranslator(chatStreamTranslator(options), chunks), whole)
      assert.strictEqual(await runTransform(chatStreamToMessages(options), splits[4]!), whole)

      const summary = checkMessagesStream(whole)
      const expected = fixture.expected
      assert.strictEqual(summary.id, expected.id)
      assert.strictEqual(summary.model, expected.model)
      assert.deepStrictEqual(summary.startUsage, {
        input_tokens: 321,
        output_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0
      })
      assert.deepStrictEqual(summary.blocks, expected.blocks)
      assert.strictEqual(summary.stopReason, expected.stopReason)
      assert.deepStrictEqual(summary.usage, expected.usage)
      assert.deepStrictEqual(summary.error, expected.error)
    })
  }

  it("emits exactly the Anthropic wire format for a plain text stream", () => {
    const out = runTranslator(chatStreamTranslator({}), [fixtureBytes(openaiStreams[0]!.sse)])
    const event = (type: string, data: string) => `event: ${type}\ndata: ${data}\n\n`
    const text = (t: string) =>
      event(
        "content_block_delta",
        `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${t}"}}`
      )
    assert.strictEqual(
      out,
      event(
        "message_start",
        `{"type":"message_start","message":{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","type":"message",` +
          `"role":"assistant","model":"gpt-4o-2024-08-06","content":[],"stop_reason":null,"stop_sequence":null,` +
          `"usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}`
      ) +
        event(
          "content_block_start",
          `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`
        ) +
        text("Hello") +
        text(" there") +
        text("!") +
        event("content_block_stop", `{"type":"content_block_stop","index":0}`) +
        event(
          "message_delta",
          `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},` +
            `"usage":{"input_tokens":19,"cache_read_input_tokens":0,"output_tokens":3}}`
        ) +
        event("message_stop", `{"type":"message_stop"}`)
    )
  })

  it("stops the text block before a tool block starts, with the next index", () => {
    const out = runTranslator(chatStreamTranslator({}), [fixtureBytes(openaiStreams[1]!.sse)])
    const events = parseAll(out).map((frame) => {
      const data = JSON.parse(frame.data) as { type: string; index?: number }
      return data.index === undefined ? data.type : `${data.type}:${data.index}`
    })
    assert.deepStrictEqual(events.filter((e) => !e.startsWith("content_block_delta")), [
      "message_start",
      "content_block_start:0",
      "content_block_stop:0",
      "content_block_start:1",
      "content_block_stop:1",
      "message_delta",
      "message_stop"
    ])
  })

  it("answers an empty upstream stream with an error event", () => {
    const summary = checkMessagesStream(runTranslator(chatStreamTranslator({}), []))
    assert.strictEqual(summary.error?.type, "api_error")
  })

  it("ends a stream of only [DONE] as an empty message", () => {
    const summary = checkMessagesStream(runTranslator(chatStreamTranslator({ model: "m" }), ["data: [DONE]\n\n"]))
    assert.deepStrictEqual(summary.blocks, [])
    assert.strictEqual(summary.stopReason, "end_turn")
    assert.strictEqual(summary.model, "m")
  })

  it("ends the stream on a named error frame even when its data is not JSON", () => {
    const out = runTranslator(chatStreamTranslator({}), [
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
      "event: error\ndata: upstream exploded\n\n",
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n"
    ])
    const summary = checkMessagesStream(out)
    assert.deepStrictEqual(summary.error, { type: "api_error", message: "upstream exploded" })
    assert.deepStrictEqual(summary.blocks, [{ type: "text", text: "a" }])
  })

  it("maps a rate-limit error chunk to rate_limit_error", () => {
    const out = runTranslator(chatStreamTranslator({}), [
      "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"tokens\",\"param\":null," +
      "\"code\":\"rate_limit_exceeded\"}}\n\n"
    ])
    assert.deepStrictEqual(checkMessagesStream(out).error, { type: "rate_limit_error", message: "Rate limit reached" })
  })
})

describe("toAnthropicErrorBody", () => {
  for (const fixture of errorBodies) {
    it(`translates: ${fixture.name}`, () => {
      assert.deepStrictEqual(JSON.parse(toAnthropicErrorBody(fixture.status, fixture.body)), fixture.anthropic)
      assert.deepStrictEqual(
        JSON.parse(toAnthropicErrorBody(fixture.status, Buffer.from(fixture.body, "utf8"))),
        fixture.anthropic,
        "a Buffer body reads the same"
      )
    })
  }
})
