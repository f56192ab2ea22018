import { assert } from "@effect/vitest"
import { readFileSync } from "node:fs"
import type { Transform } from "node:stream"
import { parseAll } from "../../src/translation/SseParser.js"
import type { SseTranslator } from "../../src/translation/SseParser.js"

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A small deterministic PRNG (mulberry32), so random splits are reproducible. */
export const seeded = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Cuts bytes at the given positions (taken modulo the length, deduplicated). */
export const cutAt = (bytes: Buffer, positions: ReadonlyArray<number>): Array<Buffer> => {
  if (bytes.length === 0) return [bytes]
  const cuts = [...new Set(positions.map((p) => p % bytes.length))].filter((p) => p > 0).sort((a, b) => a - b)
  const pieces: Array<Buffer> = []
  let start = 0
  for (const cut of cuts) {
    pieces.push(bytes.subarray(start, cut))
    start = cut
  }
  pieces.push(bytes.subarray(start))
  return pieces
}

/** Cuts bytes at `count` random positions drawn from `random`. */
export const randomCuts = (bytes: Buffer, random: () => number, count: number): Array<Buffer> =>
  cutAt(bytes, Array.from({ length: count }, () => Math.floor(random() * bytes.length)))

/** Every single byte as its own chunk. */
export const bytewise = (bytes: Buffer): Array<Buffer> => Array.from(bytes, (b) => Buffer.from([b]))

/** Feeds chunks through a translator synchronously. */
export const runTranslator = (translator: SseTranslator, chunks: ReadonlyArray<Buffer | string>): string => {
  let out = ""
  for (const chunk of chunks) out += translator.push(chunk)
  return out + translator.end()
}

/** Writes chunks into a Node Transform and collects everything it emits. */
export const runTransform = (transform: Transform, chunks: ReadonlyArray<Buffer | string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const out: Array<Buffer> = []
    transform.on("data", (chunk: Buffer) => out.push(chunk))
    transform.once("end", () => resolve(Buffer.concat(out).toString("utf8")))
    transform.once("error", reject)
    for (const chunk of chunks) transform.write(chunk)
    transform.end()
  })

/** An SSE fixture (lines) as wire bytes. */
export const fixtureBytes = (lines: ReadonlyArray<string>, crlf = false): Buffer =>
  Buffer.from(lines.join(crlf ? "\r\n" : "\n") + (crlf ? "\r\n" : "\n"), "utf8")

/** What an OpenAI chunk stream said, after its grammar was checked. */
export interface ChatStreamSummary {
  readonly id: string | undefined
  readonly model: string | undefined
  readonly created: number | undefined
  readonly content: string
  /** `delta.reasoning_content` joined. */
  readonly reasoning: string
  readonly toolCalls: Array<{ index: number; id: string; name: string; arguments: string }>
  readonly finishReason: string | null
  readonly usage: Json | null
  readonly error: Json | null
  readonly chunks: ReadonlyArray<Json>
}

/**
 * Checks an OpenAI `chat.completion.chunk` SSE stream: plain `data:` frames; JSON chunks then exactly one
 * `[DONE]`, last; the first chunk carries the assistant role; id/model/created constant; tool-call indices appear in
 * order 0,1,2… and each first appearance carries id, type and name; one finish chunk with nothing but the usage chunk
 * (`choices: []`) after it; an error payload only right before `[DONE]`.
 */
export const checkChatStream = (text: string): ChatStreamSummary => {
  const frames = parseAll(text)
  assert.isAbove(frames.length, 0, "no frames")
  assert.strictEqual(frames[frames.length - 1]!.data, "[DONE]", "the stream must end with [DONE]")
  let id: string | undefined
  let model: string | undefined
  let created: number | undefined
  let content = ""
  let reasoning = ""
  const toolCalls: Array<{ index: number; id: string; name: string; arguments: string }> = []
  let finishReason: string | null = null
  let usage: Json | null = null
  let error: Json | null = null
  const chunks: Array<Json> = []
  frames.forEach((frame, i) => {
    assert.isUndefined(frame.event, "OpenAI streams carry no event names")
    if (i === frames.length - 1) return
    assert.notStrictEqual(frame.data, "[DONE]", "[DONE] only once, at the end")
    const value: unknown = JSON.parse(frame.data)
    assert.isTrue(isRecord(value), "a chunk is a JSON object")
    const chunk = value as Json
    if (chunk.error !== undefined) {
      assert.strictEqual(i, frames.length - 2, "an error payload is followed only by [DONE]")
      assert.isTrue(isRecord(chunk.error) && typeof chunk.error.message === "string", "error.message")
      error = chunk.error as Json
      return
    }
    chunks.push(chunk)
    assert.strictEqual(chunk.object, "chat.completion.chunk")
    if (id === undefined) {
      id = chunk.id as string
      model = chunk.model as string
      created = chunk.created as number
      assert.isString(id)
      assert.isString(model)
      assert.isNumber(created)
    } else {
      assert.strictEqual(chunk.id, id, "constant id")
      assert.strictEqual(chunk.model, model, "constant model")
      assert.strictEqual(chunk.created, created, "constant created")
    }
    assert.isTrue(Array.isArray(chunk.choices), "choices is an array")
    const choices = chunk.choices as Array<Json>
    if (choices.length === 0) {
      assert.isNull(usage, "one usage chunk")
      assert.isNotNull(finishReason, "the usage chunk follows the finish chunk")
      assert.isTrue(isRecord(chunk.usage), "the usage chunk has usage")
      assert.strictEqual(i, frames.length - 2, "the usage chunk is the last before [DONE]")
      usage = chunk.usage as Json
      return
    }
    assert.strictEqual(choices.length, 1)
    const choice = choices[0]!
    assert.strictEqual(choice.index, 0)
    assert.isNull(finishReason, "nothing but usage after the finish chunk")
    const delta = choice.delta as Json
    assert.isTrue(isRecord(delta), "delta is an object")
    if (chunks.length === 1) assert.strictEqual(delta.role, "assistant", "the first chunk carries the role")
    else assert.isUndefined(delta.role, "only the first chunk carries the role")
    if (typeof delta.content === "string") content += delta.content
    if (typeof delta.reasoning_content === "string") reasoning += delta.reasoning_content
    if (delta.tool_calls !== undefined) {
      for (const call of delta.tool_calls as Array<Json>) {
        const index = call.index as number
        assert.isTrue(Number.isInteger(index), "tool call index is an integer")
        const fn = call.function as Json
        if (index === toolCalls.length) {
          assert.isString(call.id, "a new tool call carries its id")
          assert.strictEqual(call.type, "function")
          assert.isString(fn.name, "a new tool call carries its name")
          toolCalls.push({ index, id: call.id as string, name: fn.name as string, arguments: "" })
        } else {
          assert.isBelow(index, toolCalls.length, "tool call indices appear in order 0,1,2…")
          assert.isUndefined(call.id, "only the first fragment carries the id")
        }
        if (typeof fn.arguments === "string") toolCalls[index]!.arguments += fn.arguments
      }
    }
    if (choice.finish_reason !== null) {
      assert.isString(choice.finish_reason)
      finishReason = choice.finish_reason as string
    }
  })
  if (error === null) assert.isNotNull(finishReason, "a finish chunk before [DONE]")
  return { id, model, created, content, reasoning, toolCalls, finishReason, usage, error, chunks }
}

/** A content block as reassembled from an Anthropic event stream (tool input kept as the raw JSON text). */
export type SummaryBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "tool_use"; id: string; name: string; input: string }

/** What an Anthropic event stream said, after its grammar was checked. */
export interface MessagesStreamSummary {
  readonly id: string | undefined
  readonly model: string | undefined
  readonly startUsage: Json | undefined
  readonly blocks: Array<SummaryBlock>
  readonly stopReason: string | null
  readonly usage: Json | null
  readonly error: Json | null
}

/**
 * Checks an Anthropic Messages event stream: `event:` names equal `data.type`; `message_start` first;
 * `(content_block_start → deltas → content_block_stop)*` with indices 0,1,2… and delta types matching the block;
 * exactly one `message_delta` (no block open) then exactly one `message_stop`, last. An `error` event ends the stream.
 */
export const checkMessagesStream = (text: string): MessagesStreamSummary => {
  const frames = parseAll(text)
  assert.isAbove(frames.length, 0, "no frames")
  let started = false
  let open: number | undefined
  const blocks: Array<SummaryBlock> = []
  let stopReason: string | null = null
  let usage: Json | null = null
  let stopped = false
  let error: Json | null = null
  let id: string | undefined
  let model: string | undefined
  let startUsage: Json | undefined
  frames.forEach((frame, i) => {
    assert.isFalse(stopped, "nothing after message_stop")
    assert.isNull(error, "nothing after an error event")
    const event = JSON.parse(frame.data) as Json
    assert.strictEqual(frame.event, event.type, "event name equals data.type")
    switch (event.type) {
      case "error":
        assert.strictEqual(i, frames.length - 1, "an error event is the last")
        error = event.error as Json
        assert.isString(error.type)
        assert.isString(error.message)
        return
      case "message_start": {
        assert.strictEqual(i, 0, "message_start first")
        started = true
        const message = event.message as Json
        assert.strictEqual(message.type, "message")
        assert.strictEqual(message.role, "assistant")
        assert.deepStrictEqual(message.content, [])
        id = message.id as string
        model = message.model as string
        startUsage = message.usage as Json
        return
      }
      case "ping":
        return
      case "content_block_start": {
        assert.isTrue(started, "message_start before blocks")
        assert.isUndefined(open, "the previous block is stopped before the next starts")
        assert.isNull(stopReason, "no block after message_delta")
        assert.strictEqual(event.index, blocks.length, "block indices are 0,1,2…")
        open = event.index as number
        const block = event.content_block as Json
        if (block.type === "text") {
          assert.strictEqual(block.text, "")
          blocks.push({ type: "text", text: "" })
        } else if (block.type === "thinking") {
          assert.strictEqual(block.thinking, "")
          assert.isString(block.signature, "a thinking block carries a signature field")
          blocks.push({ type: "thinking", thinking: "", signature: block.signature as string })
        } else {
          assert.strictEqual(block.type, "tool_use")
          assert.isString(block.id)
          assert.isString(block.name)
          assert.deepStrictEqual(block.input, {})
          blocks.push({ type: "tool_use", id: block.id as string, name: block.name as string, input: "" })
        }
        return
      }
      case "content_block_delta": {
        assert.strictEqual(event.index, open, "a delta belongs to the open block")
        const block = blocks[open!]!
        const delta = event.delta as Json
        if (block.type === "text") {
          assert.strictEqual(delta.type, "text_delta")
          block.text += delta.text as string
        } else if (block.type === "thinking") {
          if (delta.type === "signature_delta") block.signature += delta.signature as string
          else {
            assert.strictEqual(delta.type, "thinking_delta")
            block.thinking += delta.thinking as string
          }
        } else {
          assert.strictEqual(delta.type, "input_json_delta")
          block.input += delta.partial_json as string
        }
        return
      }
      case "content_block_stop":
        assert.strictEqual(event.index, open, "content_block_stop closes the open block")
        open = undefined
        return
      case "message_delta": {
        assert.isTrue(started)
        assert.isUndefined(open, "every block is stopped before message_delta")
        assert.isNull(stopReason, "exactly one message_delta")
        const delta = event.delta as Json
        assert.isString(delta.stop_reason)
        stopReason = delta.stop_reason as string
        usage = event.usage as Json
        assert.isNumber(usage.output_tokens)
        return
      }
      case "message_stop":
        assert.isNotNull(stopReason, "message_delta before message_stop")
        stopped = true
        return
      default:
        assert.fail(`unexpected event ${String(event.type)}`)
    }
  })
  if (error === null) assert.isTrue(stopped, "exactly one message_stop, last")
  return { id, model, startUsage, blocks, stopReason, usage, error }
}

/** Reads a JSON fixture from test/fixtures. */
export const loadFixture = <A>(name: string): A =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8")) as A

/** `chat-requests.json` / `messages-requests.json`: translations and the `param` of each rejection. */
export interface RequestFixtures {
  readonly cases: ReadonlyArray<
    { readonly name: string; readonly options: unknown; readonly input: unknown; readonly expected: unknown }
  >
  readonly errors: ReadonlyArray<{ readonly name: string; readonly input: unknown; readonly param: string }>
}

/** `anthropic-responses.json` / `openai-responses.json`. */
export interface ResponseFixture {
  readonly name: string
  readonly input: unknown
  readonly expected: unknown
}

/** `anthropic-streams.json`: upstream SSE lines and what the OpenAI client must see. */
export interface AnthropicStreamFixture {
  readonly name: string
  readonly includeUsage: boolean
  readonly crlf?: boolean
  readonly sse: ReadonlyArray<string>
  readonly expected: {
    readonly id: string
    readonly model: string
    readonly content: string
    readonly reasoning?: string
    readonly toolCalls: ReadonlyArray<unknown>
    readonly finishReason: string | null
    readonly usage: unknown
    readonly error: unknown
  }
}

/** `openai-streams.json`: upstream SSE lines and what the Anthropic client must see. */
export interface OpenAIStreamFixture {
  readonly name: string
  readonly crlf?: boolean
  readonly sse: ReadonlyArray<string>
  readonly expected: {
    readonly id: string
    readonly model: string
    readonly blocks: ReadonlyArray<unknown>
    readonly stopReason: string | null
    readonly usage: unknown
    readonly error: unknown
  }
}

/** `error-bodies.json`: an upstream error body and its rendering in each API's shape. */
export interface ErrorBodyFixture {
  readonly name: string
  readonly status: number
  readonly body: string
  readonly openai: unknown
  readonly anthropic: unknown
}
