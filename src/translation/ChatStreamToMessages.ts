import type * as Types from "effect/Types"
import type { Transform } from "node:stream"
import type { MessagesUsage } from "./AnthropicWire.js"
import { stopReasonOf, usageNumbers } from "./ChatResponseToMessages.js"
import type { UsageNumbers } from "./ChatResponseToMessages.js"
import { anthropicError, parseUpstreamError } from "./ErrorTranslation.js"
import { FrameTranslator } from "./FrameTranslator.js"
import { isRecord, nonEmpty, numberOr, present, stringOr } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"
import { toTransform } from "./SseParser.js"
import type { SseFrame, SseTranslator } from "./SseParser.js"
import { randomId } from "./WireIds.js"

/** Options of `chatStreamToMessages`. */
export interface ChatStreamToMessagesOptions {
  /** Reported when the upstream chunks name no model. */
  readonly model?: string
  /** `input_tokens` of `message_start` (the upstream only reports prompt tokens at the end). */
  readonly inputTokensHint?: number
}

interface OpenBlock {
  readonly kind: "text" | "tool" | "thinking"
  readonly index: number
  readonly key?: string
}

interface ToolRecord {
  readonly id: string
  readonly fromUpstream: boolean
  readonly index: number
}

const event = (type: string, data: string) => `event: ${type}\ndata: ${data}\n\n`

class ChatToMessagesStream extends FrameTranslator {
  private started = false
  private id = ""
  private model = ""
  private nextIndex = 0
  private open: OpenBlock | undefined = undefined
  private readonly tools = new Map<string, ToolRecord>()
  private lastToolKey: string | undefined = undefined
  private usedTools = false
  private refused = false
  private finishReason: unknown = undefined
  private usage: UsageNumbers | undefined = undefined
  private outputChars = 0

  constructor(private readonly opts: ChatStreamToMessagesOptions) {
    super()
  }

  protected frame(frame: SseFrame): void {
    if (this.done) return
    const data = frame.data.trim()
    if (data.length === 0) return
    this.sawData = true
    if (data === "[DONE]") return this.finishStream()
    let chunk: unknown
    try {
      chunk = JSON.parse(data)
    } catch {
      // One malformed frame must not abort an otherwise good stream; a named error frame still ends it.
      if (frame.event === "error") this.emitError(anthropicError(500, parseUpstreamError(500, data)))
      return
    }
    if (!isRecord(chunk)) return
    if (frame.event === "error" || (present(chunk.error) && chunk.choices === undefined)) {
      const error = isRecord(chunk.error) ? chunk.error : {}
      const status = numberOr(error.status) ?? numberOr(error.code)
      const known = status !== undefined && status >= 400 && status < 600 ? status : 500
      return this.emitError(anthropicError(known, parseUpstreamError(known, data)))
    }
    const hasUsage = isRecord(chunk.usage)
    // Azure opens with a `choices: []` chunk of prompt filter results and empty id/model: nothing to say yet.
    if (!hasUsage && Array.isArray(chunk.choices) && chunk.choices.length === 0) return
    this.start(chunk)
    if (hasUsage) this.usage = usageNumbers(chunk.usage)
    if (!Array.isArray(chunk.choices)) return
    const choice: unknown = chunk.choices.find((c: unknown) => isRecord(c) && (c.index === 0 || c.index === undefined))
    if (!isRecord(choice)) return
    const delta = choice.delta
    if (isRecord(delta)) {
      const thought = delta.reasoning_content
      if (typeof thought === "string" && thought.length > 0) this.thinking(thought)
      if (typeof delta.content === "string" && delta.content.length > 0) this.text(delta.content)
      if (typeof delta.refusal === "string" && delta.refusal.length > 0) {
        this.refused = true
        this.text(delta.refusal)
      }
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) if (isRecord(call)) this.toolDelta(call)
      } else if (isRecord(delta.function_call)) this.toolDelta({ index: -1, function: delta.function_call })
    }
    if (typeof choice.finish_reason === "string") {
      this.finishReason = choice.finish_reason
      this.closeOpen()
    }
  }

  private start(chunk: JsonObject): void {
    if (this.started) return
    this.started = true
    this.id = nonEmpty(chunk.id) ?? randomId("msg_")
    this.model = nonEmpty(chunk.model) ?? this.opts.model ?? "unknown"
    this.out.push(event(
      "message_start",
      JSON.stringify({
        type: "message_start",
        message: {
          id: this.id,
          type: "message",
          role: "assistant",
          model: this.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: this.opts.inputTokensHint ?? 0,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0
          }
        }
      })
    ))
  }

  private closeOpen(): void {
    if (this.open === undefined) return
    this.out.push(event("content_block_stop", `{"type":"content_block_stop","index":${this.open.index}}`))
    this.open = undefined
  }

  private thinking(text: string): void {
    if (this.open?.kind !== "thinking") {
      this.closeOpen()
      const index = this.nextIndex++
      this.open = { kind: "thinking", index }
      // Chat completions carry no signature: the block is unsigned (see `x-switchyard-reasoning`).
      this.out.push(event(
        "content_block_start",
        `{"type":"content_block_start","index":${index},` +
          `"content_block":{"type":"thinking","thinking":"","signature":""}}`
      ))
    }
    this.outputChars += text.length
    this.out.push(event(
      "content_block_delta",
      `{"type":"content_block_delta","index":${this.open.index},"delta":{"type":"thinking_delta","thinking":${
        JSON.stringify(text)
      }}}`
    ))
  }

  private text(text: string): void {
    if (this.open?.kind !== "text") {
      this.closeOpen()
      const index = this.nextIndex++
      this.open = { kind: "text", index }
      this.out.push(event(
        "content_block_start",
        `{"type":"content_block_start","index":${index},"content_block":{"type":"text","text":""}}`
      ))
    }
    this.outputChars += text.length
    this.out.push(event(
      "content_block_delta",
      `{"type":"content_block_delta","index":${this.open.index},"delta":{"type":"text_delta","text":${
        JSON.stringify(text)
      }}}`
    ))
  }

  private toolDelta(call: JsonObject): void {
    const fn = isRecord(call.function) ? call.function : {}
    const upstreamId = stringOr(call.id)
    const key = typeof call.index === "number"
      ? `#${call.index}`
      : upstreamId !== undefined
      ? `id:${upstreamId}`
      : this.lastToolKey ?? "#0"
    let tool = this.tools.get(key)
    // A known index with a different id is a new call from a server that reuses indices.
    if (tool === undefined || (upstreamId !== undefined && tool.fromUpstream && tool.id !== upstreamId)) {
      this.closeOpen()
      const index = this.nextIndex++
      tool = { id: upstreamId ?? randomId("toolu_"), fromUpstream: upstreamId !== undefined, index }
      this.tools.set(key, tool)
      this.open = { kind: "tool", index, key }
      this.usedTools = true
      this.out.push(event(
        "content_block_start",
        JSON.stringify({
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: tool.id, name: stringOr(fn.name) ?? "", input: {} }
        })
      ))
    }
    this.lastToolKey = key
    const args = fn.arguments
    // Arguments for a call whose block is already closed cannot be delivered in Anthropic's grammar; they are dropped.
    if (typeof args !== "string" || args.length === 0 || this.open?.index !== tool.index) return
    this.outputChars += args.length
    this.out.push(event(
      "content_block_delta",
      `{"type":"content_block_delta","index":${tool.index},"delta":{"type":"input_json_delta","partial_json":${
        JSON.stringify(args)
      }}}`
    ))
  }

  protected finishStream(): void {
    if (this.done) return
    if (!this.started) this.start({})
    this.closeOpen()
    const usage: Types.Mutable<Partial<MessagesUsage>> = {}
    if (this.usage !== undefined) {
      usage.input_tokens = Math.max(0, this.usage.input - this.usage.cached)
      usage.cache_read_input_tokens = this.usage.cached
      usage.output_tokens = this.usage.output
    } else {
      // No usage from the upstream (it ignored include_usage): an estimate beats reporting zero.
      usage.output_tokens = Math.ceil(this.outputChars / 4)
    }
    this.out.push(event(
      "message_delta",
      JSON.stringify({
        type: "message_delta",
        delta: { stop_reason: stopReasonOf(this.finishReason, this.refused, this.usedTools), stop_sequence: null },
        usage
      })
    ))
    this.out.push(event("message_stop", `{"type":"message_stop"}`))
    this.done = true
  }

  protected failStream(status: number, message: string): void {
    this.emitError(anthropicError(status, { shape: "other", message }))
  }

  private emitError(error: { readonly type: string; readonly message: string }): void {
    this.out.push(event("error", JSON.stringify({ type: "error", error })))
    this.done = true
  }
}

/** The translator behind `chatStreamToMessages`, without the Node stream (for callers that move chunks themselves). */
export const chatStreamTranslator = (opts: ChatStreamToMessagesOptions = {}): SseTranslator =>
  new ChatToMessagesStream(opts)

/**
 * OpenAI chat.completion.chunk SSE bytes in → an Anthropic Messages event stream out: `message_start`, then content
 * blocks (each started, delta'd and stopped before the next; indices 0,1,2… across thinking, text and tool_use;
 * `reasoning_content` becomes an unsigned thinking block), one
 * `message_delta` (stop_reason, usage) and one `message_stop`. An upstream error becomes `event: error` and ends the
 * stream. Malformed frames are skipped.
 */
export const chatStreamToMessages = (opts: ChatStreamToMessagesOptions = {}): Transform =>
  toTransform(chatStreamTranslator(opts))
