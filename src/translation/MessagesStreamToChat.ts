import type { Transform } from "node:stream"
import { openAIError, parseUpstreamError, statusForAnthropicType } from "./ErrorTranslation.js"
import { FrameTranslator } from "./FrameTranslator.js"
import { isRecord, numberOr, stringOr } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"
import { chatUsage, finishReasonOf, readUsage } from "./MessagesResponseToChat.js"
import type { TokenCounts } from "./MessagesResponseToChat.js"
import type { ChatFinishReason } from "./OpenAiWire.js"
import { toTransform } from "./SseParser.js"
import type { SseFrame, SseTranslator } from "./SseParser.js"
import { nowSeconds, randomId } from "./WireIds.js"

/** Options of `messagesStreamToChat`. */
export interface MessagesStreamToChatOptions {
  /** Emit the final usage chunk (`choices: []`), as `stream_options.include_usage` asks. */
  readonly includeUsage: boolean
  /** Reported when the upstream names no model. */
  readonly model?: string
  /** `created` (Unix seconds) of every chunk; defaults to now. */
  readonly created?: number
}

type BlockKind =
  | { readonly kind: "text" }
  | { readonly kind: "thinking" }
  | { readonly kind: "tool"; readonly ordinal: number }
  | { readonly kind: "other" }

class MessagesToChatStream extends FrameTranslator {
  private started = false
  private id = ""
  private model = ""
  private created: number
  private prefix = ""
  private suffix = ""
  private readonly blocks = new Map<number, BlockKind>()
  private toolCount = 0
  private stopReason: unknown = undefined
  private readonly counts: TokenCounts = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 }

  constructor(private readonly opts: MessagesStreamToChatOptions) {
    super()
    this.created = opts.created ?? 0
  }

  protected frame(frame: SseFrame): void {
    if (this.done) return
    if (frame.data.length === 0) return
    this.sawData = true
    let event: unknown
    try {
      event = JSON.parse(frame.data)
    } catch {
      // One malformed frame must not abort an otherwise good stream; a named error frame still ends it.
      if (frame.event === "error") this.emitError(500, parseUpstreamError(500, frame.data))
      return
    }
    if (!isRecord(event)) return
    const type = stringOr(event.type) ?? frame.event
    switch (type) {
      case "message_start": {
        const message = isRecord(event.message) ? event.message : {}
        if (!this.started) {
          this.id = stringOr(message.id) ?? ""
          this.model = stringOr(message.model) ?? ""
        }
        readUsage(message.usage, this.counts)
        return this.start()
      }
      case "content_block_start":
        return this.blockStart(event)
      case "content_block_delta":
        return this.blockDelta(event)
      case "message_delta":
        if (isRecord(event.delta) && typeof event.delta.stop_reason === "string") {
          this.stopReason = event.delta.stop_reason
        }
        return readUsage(event.usage, this.counts)
      case "message_stop":
        return this.finishStream()
      case "error": {
        const error = isRecord(event.error) ? event.error : {}
        const status = statusForAnthropicType(stringOr(error.type))
        return this.emitError(status, parseUpstreamError(status, frame.data))
      }
      default:
        // ping, content_block_stop and event types added later carry nothing an OpenAI client can use.
        return
    }
  }

  private start(): void {
    if (this.started) return
    this.started = true
    if (this.id.length === 0) this.id = randomId("chatcmpl-")
    if (this.model.length === 0) this.model = this.opts.model ?? "unknown"
    if (this.opts.created === undefined) this.created = nowSeconds()
    this.prefix = `{"id":${JSON.stringify(this.id)},"object":"chat.completion.chunk","created":${this.created},` +
      `"model":${JSON.stringify(this.model)},"choices":[{"index":0,"delta":`
    this.suffix = this.opts.includeUsage ? `,"usage":null}` : "}"
    this.chunk(`{"role":"assistant","content":""}`)
  }

  private chunk(delta: string, finishReason?: ChatFinishReason): void {
    const finish = finishReason === undefined ? "null" : `"${finishReason}"`
    this.out.push(`data: ${this.prefix}${delta},"logprobs":null,"finish_reason":${finish}}]${this.suffix}\n\n`)
  }

  private blockStart(event: JsonObject): void {
    const index = numberOr(event.index)
    const block = isRecord(event.content_block) ? event.content_block : {}
    if (index === undefined) return
    this.start()
    if (block.type === "text") {
      this.blocks.set(index, { kind: "text" })
      if (typeof block.text === "string" && block.text.length > 0) {
        this.chunk(`{"content":${JSON.stringify(block.text)}}`)
      }
    } else if (block.type === "tool_use") {
      const ordinal = this.toolCount++
      this.blocks.set(index, { kind: "tool", ordinal })
      const id = stringOr(block.id) ?? randomId("call_")
      const name = stringOr(block.name) ?? ""
      const input = isRecord(block.input) && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : ""
      this.chunk(JSON.stringify({
        tool_calls: [{ index: ordinal, id, type: "function", function: { name, arguments: input } }]
      }))
    } else if (block.type === "thinking") {
      this.blocks.set(index, { kind: "thinking" })
      if (typeof block.thinking === "string" && block.thinking.length > 0) {
        this.chunk(`{"reasoning_content":${JSON.stringify(block.thinking)}}`)
      }
    } else {
      // redacted_thinking, server_tool_use and server results: the client did not ask for them.
      this.blocks.set(index, { kind: "other" })
    }
  }

  private blockDelta(event: JsonObject): void {
    const index = numberOr(event.index)
    const delta = isRecord(event.delta) ? event.delta : {}
    if (index === undefined) return
    const block = this.blocks.get(index) ?? (delta.type === "text_delta" ? { kind: "text" as const } : undefined)
    if (block === undefined) return
    if (block.kind === "text" && delta.type === "text_delta" && typeof delta.text === "string") {
      if (delta.text.length === 0) return
      this.start()
      this.chunk(`{"content":${JSON.stringify(delta.text)}}`)
    } else if (block.kind === "thinking" && delta.type === "thinking_delta" && typeof delta.thinking === "string") {
      // signature_delta has no chat counterpart: dropped (the relay sends `x-switchyard-reasoning: dropped`).
      if (delta.thinking.length === 0) return
      this.chunk(`{"reasoning_content":${JSON.stringify(delta.thinking)}}`)
    } else if (block.kind === "tool" && delta.type === "input_json_delta" && typeof delta.partial_json === "string") {
      if (delta.partial_json.length === 0) return
      const args = JSON.stringify(delta.partial_json)
      this.chunk(`{"tool_calls":[{"index":${block.ordinal},"function":{"arguments":${args}}}]}`)
    }
  }

  protected finishStream(): void {
    if (this.done) return
    this.start()
    this.chunk("{}", finishReasonOf(this.stopReason, this.toolCount > 0))
    if (this.opts.includeUsage) {
      this.out.push(`data: ${
        JSON.stringify({
          id: this.id,
          object: "chat.completion.chunk",
          created: this.created,
          model: this.model,
          choices: [],
          usage: chatUsage(this.counts)
        })
      }\n\n`)
    }
    this.out.push("data: [DONE]\n\n")
    this.done = true
  }

  protected failStream(status: number, message: string): void {
    this.emitError(status, { shape: "other", message })
  }

  private emitError(status: number, info: Parameters<typeof openAIError>[1]): void {
    this.out.push(`data: ${JSON.stringify({ error: openAIError(status, info) })}\n\n`, "data: [DONE]\n\n")
    this.done = true
  }
}

/** The translator behind `messagesStreamToChat`, without the Node stream (for callers that move chunks themselves). */
export const messagesStreamTranslator = (opts: MessagesStreamToChatOptions): SseTranslator =>
  new MessagesToChatStream(opts)

/**
 * Anthropic Messages SSE bytes in → OpenAI `chat.completion.chunk` SSE bytes out, ending with `data: [DONE]`. The
 * first chunk carries the role; thinking deltas become `delta.reasoning_content` (signatures dropped); tool calls
 * are numbered 0,1,2… in order of their tool_use blocks (independent of text blocks); the finish chunk follows the
 * last content; with `includeUsage` a usage chunk (`choices: []`) precedes `[DONE]`. An upstream
 * `error` event becomes `data: {"error":{…}}` then `[DONE]`. Malformed frames are skipped; a stream that ends
 * without `message_stop` still ends well-formed.
 */
export const messagesStreamToChat = (opts: MessagesStreamToChatOptions): Transform =>
  toTransform(messagesStreamTranslator(opts))
