import { Transform } from "node:stream"
import {
  functionCallItem,
  messageItem,
  reasoningItem,
  responseObject,
  responsesUsage,
  statusOf
} from "./ChatResponseToResponses.js"
import type { ResponseHead } from "./ChatResponseToResponses.js"
import { openAIError, parseUpstreamError } from "./ErrorTranslation.js"
import { FrameTranslator } from "./FrameTranslator.js"
import { isRecord, nonEmpty, numberOr, present, stringOr } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"
import type { SseFrame, SseTranslator } from "./SseParser.js"
import type { ResponsesEcho, ResponsesOutputItem, ResponsesResponse, ResponsesUsage } from "./ResponsesWire.js"
import { nowSeconds, randomId } from "./WireIds.js"

/** Options of a chat-stream-to-Responses translator. */
export interface ChatStreamToResponsesOptions {
  readonly echo: ResponsesEcho
  /** Reported when the upstream names no model. */
  readonly model: string
  /** The response id; a fresh `resp_…` by default. */
  readonly id?: string
  /** `created_at` (Unix seconds); defaults to now. */
  readonly createdAt?: number
}

interface OpenText {
  readonly kind: "text"
  readonly id: string
  readonly outputIndex: number
  text: string
}

interface OpenReasoning {
  readonly id: string
  readonly outputIndex: number
  text: string
}

interface OpenCall {
  readonly kind: "call"
  readonly id: string
  readonly outputIndex: number
  readonly callId: string
  readonly name: string
  args: string
}

/**
 * OpenAI chat.completion.chunk SSE in → the Responses event grammar out: `response.created`, `response.in_progress`,
 * per item `response.output_item.added` (+ `response.content_part.added`), deltas, the matching `…done` events, and
 * `response.completed` (with usage) held back until `release` so a caller can store the response first.
 * An upstream error becomes `response.failed`. Malformed frames are skipped.
 */
export class ChatToResponsesStream extends FrameTranslator {
  private head: ResponseHead | undefined = undefined
  private sequence = 0
  private text: OpenText | undefined = undefined
  private reasoning: OpenReasoning | undefined = undefined
  private readonly calls = new Map<number, OpenCall>()
  private readonly output: Array<ResponsesOutputItem | undefined> = []
  private finish: unknown = undefined
  private usage: ResponsesUsage | null = null
  private held: ResponsesResponse | undefined = undefined

  constructor(private readonly opts: ChatStreamToResponsesOptions) {
    super()
  }

  /** The finished response, once the upstream stream completed (its `response.completed` is held until `release`). */
  get completed(): ResponsesResponse | undefined {
    return this.held
  }

  /** The held `response.completed` event, or `response.failed` with `failure` when it could not be kept. */
  release(failure?: { readonly code: string; readonly message: string }): string {
    const response = this.held
    if (response === undefined) return ""
    this.held = undefined
    if (failure === undefined) return this.emit("response.completed", { response })
    return this.emit("response.failed", { response: { ...response, status: "failed", error: failure } })
  }

  // The same bytes as `JSON.stringify({ type, sequence_number, ...fields })` without copying `fields` (the event
  // types are fixed ASCII names): building events was half of a translated stream's CPU.
  private emit(type: string, fields: JsonObject): string {
    return this.emitJson(type, JSON.stringify(fields).slice(1))
  }

  /** An event from its fields' JSON without the opening brace (`"key":value,…}`). */
  private emitJson(type: string, rest: string): string {
    return `event: ${type}\ndata: {"type":"${type}","sequence_number":${this.sequence++},${rest}\n\n`
  }

  private push1(type: string, fields: JsonObject): void {
    this.out.push(this.emit(type, fields))
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
      if (frame.event === "error") this.failWith(500, parseUpstreamError(500, data).message)
      return
    }
    if (!isRecord(chunk)) return
    if (frame.event === "error" || (present(chunk.error) && chunk.choices === undefined)) {
      const error = isRecord(chunk.error) ? chunk.error : {}
      const status = numberOr(error.status) ?? numberOr(error.code)
      const known = status !== undefined && status >= 400 && status < 600 ? status : 500
      return this.failWith(known, parseUpstreamError(known, data).message)
    }
    if (isRecord(chunk.usage)) this.usage = responsesUsage(chunk.usage)
    if (!Array.isArray(chunk.choices) || chunk.choices.length === 0) return
    this.start(chunk)
    const choice: unknown = chunk.choices.find((c: unknown) => isRecord(c) && (c.index === 0 || c.index === undefined))
    if (!isRecord(choice)) return
    const delta = choice.delta
    if (isRecord(delta)) {
      const thought = delta.reasoning_content
      if (typeof thought === "string" && thought.length > 0) this.reasoningDelta(thought)
      if (typeof delta.content === "string" && delta.content.length > 0) this.textDelta(delta.content)
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) if (isRecord(call)) this.toolDelta(call)
      }
    }
    if (typeof choice.finish_reason === "string") this.finish = choice.finish_reason
  }

  private snapshot(status: "in_progress", output: ReadonlyArray<ResponsesOutputItem>): ResponsesResponse {
    return responseObject(this.head!, this.opts.echo, {
      status,
      incomplete_details: null,
      error: null,
      output,
      usage: null
    })
  }

  private start(chunk: JsonObject): void {
    if (this.head !== undefined) return
    this.head = {
      id: this.opts.id ?? randomId("resp_"),
      createdAt: this.opts.createdAt ?? numberOr(chunk.created) ?? nowSeconds(),
      model: nonEmpty(chunk.model) ?? this.opts.model
    }
    const response = `"response":${JSON.stringify(this.snapshot("in_progress", []))}}`
    this.out.push(this.emitJson("response.created", response))
    this.out.push(this.emitJson("response.in_progress", response))
  }

  private reasoningDelta(delta: string): void {
    if (this.reasoning === undefined) {
      this.closeText()
      const open: OpenReasoning = { id: randomId("rs_"), outputIndex: this.output.length, text: "" }
      this.output.push(undefined)
      this.reasoning = open
      this.push1("response.output_item.added", {
        output_index: open.outputIndex,
        item: { type: "reasoning", id: open.id, summary: [] }
      })
      this.push1("response.reasoning_summary_part.added", {
        item_id: open.id,
        output_index: open.outputIndex,
        summary_index: 0,
        part: { type: "summary_text", text: "" }
      })
    }
    this.reasoning.text += delta
    this.push1("response.reasoning_summary_text.delta", {
      item_id: this.reasoning.id,
      output_index: this.reasoning.outputIndex,
      summary_index: 0,
      delta
    })
  }

  private closeReasoning(): void {
    const open = this.reasoning
    if (open === undefined) return
    this.reasoning = undefined
    const at = { item_id: open.id, output_index: open.outputIndex, summary_index: 0 }
    this.push1("response.reasoning_summary_text.done", { ...at, text: open.text })
    this.push1("response.reasoning_summary_part.done", { ...at, part: { type: "summary_text", text: open.text } })
    const item = reasoningItem(open.id, open.text)
    this.output[open.outputIndex] = item
    this.push1("response.output_item.done", { output_index: open.outputIndex, item })
  }

  private textDelta(delta: string): void {
    this.closeReasoning()
    if (this.text === undefined) {
      const text: OpenText = { kind: "text", id: randomId("msg_"), outputIndex: this.output.length, text: "" }
      this.output.push(undefined)
      this.text = text
      this.push1("response.output_item.added", {
        output_index: text.outputIndex,
        item: { type: "message", id: text.id, status: "in_progress", role: "assistant", content: [] }
      })
      this.push1("response.content_part.added", {
        item_id: text.id,
        output_index: text.outputIndex,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [] }
      })
    }
    this.text.text += delta
    // The most frequent event, built by hand: the item id is our own `msg_` + hex, so it needs no escaping.
    this.out.push(this.emitJson(
      "response.output_text.delta",
      `"item_id":"${this.text.id}","output_index":${this.text.outputIndex},"content_index":0,` +
        `"delta":${JSON.stringify(delta)},"logprobs":[]}`
    ))
  }

  private closeText(): void {
    const text = this.text
    if (text === undefined) return
    this.text = undefined
    const at = { item_id: text.id, output_index: text.outputIndex, content_index: 0 }
    this.push1("response.output_text.done", { ...at, text: text.text, logprobs: [] })
    this.push1("response.content_part.done", { ...at, part: { type: "output_text", text: text.text, annotations: [] } })
    const item = messageItem(text.id, text.text, "completed")
    this.output[text.outputIndex] = item
    this.push1("response.output_item.done", { output_index: text.outputIndex, item })
  }

  private toolDelta(call: JsonObject): void {
    const index = numberOr(call.index) ?? 0
    const fn = isRecord(call.function) ? call.function : {}
    let open = this.calls.get(index)
    if (open === undefined) {
      // Responses items are not interleaved with text: the message so far is finished before the first call.
      this.closeReasoning()
      this.closeText()
      open = {
        kind: "call",
        id: randomId("fc_"),
        outputIndex: this.output.length,
        callId: nonEmpty(call.id) ?? randomId("call_"),
        name: stringOr(fn.name) ?? "",
        args: ""
      }
      this.output.push(undefined)
      this.calls.set(index, open)
      this.push1("response.output_item.added", {
        output_index: open.outputIndex,
        item: functionCallItem(open.id, open.callId, open.name, "", "in_progress")
      })
    }
    const args = stringOr(fn.arguments)
    if (args === undefined || args.length === 0) return
    open.args += args
    this.push1("response.function_call_arguments.delta", {
      item_id: open.id,
      output_index: open.outputIndex,
      delta: args
    })
  }

  private closeCalls(): void {
    for (const call of this.calls.values()) {
      // A call without arguments would leave clients JSON-parsing an empty string.
      if (call.args.length === 0) {
        call.args = "{}"
        this.push1("response.function_call_arguments.delta", { item_id: call.id, output_index: call.outputIndex, delta: "{}" })
      }
      const item = functionCallItem(call.id, call.callId, call.name, call.args, "completed")
      this.output[call.outputIndex] = item
      this.push1("response.function_call_arguments.done", {
        item_id: call.id,
        output_index: call.outputIndex,
        name: call.name,
        arguments: call.args
      })
      this.push1("response.output_item.done", { output_index: call.outputIndex, item })
    }
    this.calls.clear()
  }

  protected finishStream(): void {
    if (this.done) return
    if (this.head === undefined) this.start({})
    this.closeReasoning()
    this.closeText()
    this.closeCalls()
    this.held = responseObject(this.head!, this.opts.echo, {
      ...statusOf(this.finish),
      error: null,
      output: this.output.filter((item): item is ResponsesOutputItem => item !== undefined),
      usage: this.usage
    })
    this.done = true
  }

  protected failStream(status: number, message: string): void {
    this.failWith(status, message)
  }

  private failWith(status: number, message: string): void {
    if (this.head === undefined) this.start({})
    const error = openAIError(status, { shape: "other", message })
    this.push1("response.failed", {
      response: responseObject(this.head!, this.opts.echo, {
        status: "failed",
        incomplete_details: null,
        error: { code: stringOr(error.code) ?? error.type, message: error.message },
        output: this.output.filter((item): item is ResponsesOutputItem => item !== undefined),
        usage: this.usage
      })
    })
    this.done = true
  }
}

/** Runs `inner` (e.g. Anthropic → chat) before `outer`, so one stream passes through both translations. */
const chained = (inner: SseTranslator | undefined, outer: ChatToResponsesStream): SseTranslator =>
  inner === undefined ? outer : {
    push: (chunk) => outer.push(inner.push(chunk)),
    end: () => {
      const rest = inner.end()
      return outer.push(rest) + outer.end()
    }
  }

/**
 * A Node `Transform` around a Responses stream translator. When the upstream finishes, `beforeComplete` (if given)
 * runs with the final response before `response.completed` is written; if it fails, `response.failed` is written.
 */
export const responsesStreamTransform = (
  outer: ChatToResponsesStream,
  inner?: SseTranslator,
  beforeComplete?: (response: ResponsesResponse) => Promise<void>
): Transform => {
  const translator = chained(inner, outer)
  const settle = (self: Transform, text: string, callback: (error?: Error | null) => void) => {
    if (text.length > 0) self.push(text, "utf8")
    const response = outer.completed
    if (response === undefined) return callback()
    if (beforeComplete === undefined) {
      self.push(outer.release(), "utf8")
      return callback()
    }
    beforeComplete(response).then(
      () => {
        self.push(outer.release(), "utf8")
        callback()
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : "The response could not be stored"
        self.push(outer.release({ code: "state_unavailable", message }), "utf8")
        callback()
      }
    )
  }
  return new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      settle(this, translator.push(chunk), callback)
    },
    flush(callback) {
      settle(this, translator.end(), callback)
    }
  })
}
