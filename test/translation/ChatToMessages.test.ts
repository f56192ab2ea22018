import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import type { MessagesResponse } from "../../src/translation/AnthropicWire.js"
import { defaultMaxTokens, toMessagesRequest } from "../../src/translation/ChatToMessages.js"
import type { ToMessagesRequestOptions } from "../../src/translation/ChatToMessages.js"
import { toOpenAIErrorBody } from "../../src/translation/ErrorTranslation.js"
import { fromMessagesResponse } from "../../src/translation/MessagesResponseToChat.js"
import { messagesStreamToChat, messagesStreamTranslator } from "../../src/translation/MessagesStreamToChat.js"
import type { MessagesStreamToChatOptions } from "../../src/translation/MessagesStreamToChat.js"
import type { ChatRequest } from "../../src/translation/OpenAiWire.js"
import { parseAll } from "../../src/translation/SseParser.js"
import type {
  AnthropicStreamFixture,
  ErrorBodyFixture,
  RequestFixtures,
  ResponseFixture
} from "../support/WireChecks.js"
import {
  bytewise,
  checkChatStream,
  fixtureBytes,
  loadFixture,
  randomCuts,
  runTransform,
  runTranslator,
  seeded
} from "../support/WireChecks.js"

const chatRequests = loadFixture<RequestFixtures>("chat-requests.json")
const anthropicResponses = loadFixture<ReadonlyArray<ResponseFixture>>("anthropic-responses.json")
const anthropicStreams = loadFixture<ReadonlyArray<AnthropicStreamFixture>>("anthropic-streams.json")
const errorBodies = loadFixture<ReadonlyArray<ErrorBodyFixture>>("error-bodies.json")

// Fixtures stay untyped JSON on purpose: the translators must cope with whatever arrives on the wire.
const asChat = (value: unknown) => value as ChatRequest
const asMessage = (value: unknown) => value as MessagesResponse

describe("toMessagesRequest", () => {
  for (const fixture of chatRequests.cases) {
    it(`translates: ${fixture.name}`, () => {
      const result = toMessagesRequest(asChat(fixture.input), fixture.options as ToMessagesRequestOptions)
      assert.isTrue(Either.isRight(result), Either.isLeft(result) ? result.left.message : "")
      assert.deepStrictEqual<unknown>(Either.getOrThrow(result), fixture.expected)
    })
  }

  for (const fixture of chatRequests.errors) {
    it(`rejects: ${fixture.name}`, () => {
      const result = toMessagesRequest(asChat(fixture.input), { model: "claude-sonnet-4-5" })
      assert.isTrue(Either.isLeft(result), "expected a TranslationError")
      const error = Either.getOrThrow(Either.flip(result))
      assert.strictEqual(error._tag, "TranslationError")
      assert.strictEqual(error.param, fixture.param)
      assert.include(error.message, fixture.param)
    })
  }

  it("defaults max_tokens to the documented constant", () => {
    const result = toMessagesRequest(asChat({ messages: [{ role: "user", content: "x" }] }), { model: "m" })
    assert.strictEqual(defaultMaxTokens, 4096)
    assert.strictEqual(Either.getOrThrow(result).max_tokens, defaultMaxTokens)
  })

  it("turns any garbage into a Left, never a throw", () => {
    const garbage: ReadonlyArray<unknown> = [
      null,
      42,
      "messages",
      [],
      { messages: [null] },
      { messages: [{ role: "user", content: 5 }] },
      { messages: [{ role: "user", content: [7] }] },
      { messages: [{ role: "assistant", tool_calls: "x" }] },
      { messages: [{ role: "assistant", tool_calls: [{ id: "a", function: { name: "f", arguments: 3 } }] }] },
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64" } }] }] },
      { messages: [], tools: "all" },
      { messages: [], response_format: { type: "yaml" } },
      { messages: [], temperature: "hot" }
    ]
    for (const body of garbage) {
      const result = toMessagesRequest(asChat(body), { model: "m" })
      assert.isTrue(Either.isLeft(result), JSON.stringify(body))
    }
  })

  it("does not mutate its input", () => {
    const chat = chatRequests.cases[2]!.input
    const before = JSON.stringify(chat)
    toMessagesRequest(asChat(chat), { model: "m" })
    assert.strictEqual(JSON.stringify(chat), before)
  })
})

describe("fromMessagesResponse", () => {
  for (const fixture of anthropicResponses) {
    it(`translates: ${fixture.name}`, () => {
      const response = fromMessagesResponse(asMessage(fixture.input), {
        model: "claude-fallback",
        created: 1_700_000_000
      })
      assert.deepStrictEqual<unknown>(response, fixture.expected)
    })
  }

  it("never throws on a body that is not a Message", () => {
    for (const body of [null, 3, "x", { content: "text" }, { content: [null, { type: "tool_use" }] }]) {
      const response = fromMessagesResponse(asMessage(body), { created: 1 })
      assert.strictEqual(response.object, "chat.completion")
      assert.strictEqual(response.choices.length, 1)
    }
  })
})

describe("messagesStreamToChat", () => {
  const options = (fixture: { includeUsage: boolean }): MessagesStreamToChatOptions => ({
    includeUsage: fixture.includeUsage,
    model: "configured-model",
    created: 1_700_000_000
  })

  for (const fixture of anthropicStreams) {
    it(`translates split-safely: ${fixture.name}`, async () => {
      const bytes = fixtureBytes(fixture.sse, fixture.crlf === true)
      const whole = await runTransform(messagesStreamToChat(options(fixture)), [bytes])
      const random = seeded(fixture.name.length * 7919)
      const splits = [bytewise(bytes), ...Array.from({ length: 6 }, (_, k) => randomCuts(bytes, random, 1 + k * 8))]
      for (const chunks of splits) {
        assert.strictEqual(runTranslator(messagesStreamTranslator(options(fixture)), chunks), whole)
      }
      assert.strictEqual(await runTransform(messagesStreamToChat(options(fixture)), splits[3]!), whole)

      const summary = checkChatStream(whole)
      const expected = fixture.expected
      assert.strictEqual(summary.id, expected.id)
      assert.strictEqual(summary.model, expected.model)
      assert.strictEqual(summary.created, 1_700_000_000)
      assert.strictEqual(summary.content, expected.content)
      assert.strictEqual(summary.reasoning, expected.reasoning ?? "")
      assert.deepStrictEqual(summary.toolCalls, expected.toolCalls)
      assert.strictEqual(summary.finishReason, expected.finishReason)
      assert.deepStrictEqual(summary.usage, expected.usage)
      assert.deepStrictEqual(summary.error, expected.error)
      if (!fixture.includeUsage) assert.notInclude(whole, "\"usage\"")
      else for (const chunk of summary.chunks) assert.isTrue("usage" in chunk, "include_usage: every chunk has usage")
    })
  }

  it("emits exactly the OpenAI wire format for the docs example", () => {
    const out = runTranslator(messagesStreamTranslator(options({ includeUsage: true })), [
      fixtureBytes(anthropicStreams[0]!.sse)
    ])
    const head = `{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","object":"chat.completion.chunk",` +
      `"created":1700000000,"model":"claude-sonnet-4-5","choices":`
    const chunk = (delta: string, finish = "null") =>
      `data: ${head}[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish}}],"usage":null}\n\n`
    assert.strictEqual(
      out,
      chunk(`{"role":"assistant","content":""}`) +
        chunk(`{"content":"Hello"}`) +
        chunk(`{"content":"!"}`) +
        chunk("{}", "\"stop\"") +
        `data: ${head}[],"usage":{"prompt_tokens":25,"completion_tokens":15,"total_tokens":40,` +
        `"prompt_tokens_details":{"cached_tokens":0}}}\n\n` +
        "data: [DONE]\n\n"
    )
  })

  it("numbers tool calls by tool_use order, not by content block index", () => {
    const translator = messagesStreamTranslator(options({ includeUsage: false }))
    const summary = checkChatStream(runTranslator(translator, [fixtureBytes(anthropicStreams[2]!.sse)]))
    assert.deepStrictEqual(summary.toolCalls.map((call) => call.index), [0, 1])
  })

  it("ends an empty upstream stream with an error chunk and [DONE]", () => {
    const summary = checkChatStream(runTranslator(messagesStreamTranslator(options({ includeUsage: true })), []))
    assert.strictEqual(summary.chunks.length, 0)
    assert.strictEqual(summary.error?.type, "server_error")
  })

  it("closes a stream cut before message_delta with a finish chunk", () => {
    const sse = anthropicStreams[0]!.sse.slice(0, 12)
    const summary = checkChatStream(
      runTranslator(messagesStreamTranslator(options({ includeUsage: false })), [fixtureBytes(sse)])
    )
    assert.strictEqual(summary.content, "Hello")
    assert.strictEqual(summary.finishReason, "stop")
  })

  it("reports the configured model when the upstream names none", () => {
    const out = runTranslator(messagesStreamTranslator(options({ includeUsage: false })), [
      "event: content_block_delta\ndata: " +
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    ])
    const summary = checkChatStream(out)
    assert.strictEqual(summary.model, "configured-model")
    assert.match(summary.id ?? "", /^chatcmpl-/)
    assert.strictEqual(summary.content, "x")
  })

  it("ends the stream on a named error frame even when its data is not JSON", () => {
    const out = runTranslator(messagesStreamTranslator(options({ includeUsage: true })), [
      fixtureBytes(anthropicStreams[0]!.sse.slice(0, 6)),
      "event: error\ndata: Internal server error\n\n"
    ])
    const summary = checkChatStream(out)
    assert.deepStrictEqual(summary.error, {
      message: "Internal server error",
      type: "server_error",
      param: null,
      code: "api_error"
    })
  })

  it("ignores everything after message_stop", () => {
    const bytes = fixtureBytes([...anthropicStreams[0]!.sse, ...anthropicStreams[0]!.sse])
    const out = runTranslator(messagesStreamTranslator(options({ includeUsage: false })), [bytes])
    assert.strictEqual(parseAll(out).filter((frame) => frame.data === "[DONE]").length, 1)
    assert.strictEqual(checkChatStream(out).content, "Hello!")
  })
})

describe("toOpenAIErrorBody", () => {
  for (const fixture of errorBodies) {
    it(`translates: ${fixture.name}`, () => {
      assert.deepStrictEqual(JSON.parse(toOpenAIErrorBody(fixture.status, fixture.body)), fixture.openai)
      assert.deepStrictEqual(
        JSON.parse(toOpenAIErrorBody(fixture.status, Buffer.from(fixture.body, "utf8"))),
        fixture.openai,
        "a Buffer body reads the same"
      )
    })
  }

  it("clips a huge text body", () => {
    const body = JSON.parse(toOpenAIErrorBody(500, "x".repeat(100_000))) as { error: { message: string } }
    assert.isBelow(body.error.message.length, 2100)
  })
})
