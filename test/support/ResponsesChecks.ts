import { ChatToResponsesStream } from "../../src/translation/ChatStreamToResponses.js"
import type { ChatStreamToResponsesOptions } from "../../src/translation/ChatStreamToResponses.js"
import { parseAll } from "../../src/translation/SseParser.js"
import type { SseTranslator } from "../../src/translation/SseParser.js"

/** What a well-formed Responses event stream said, item by item. */
export interface ResponsesStreamSummary {
  readonly status: string
  readonly responseId: string
  readonly items: ReadonlyArray<
    { readonly type: "message" | "reasoning"; readonly text: string } | {
      readonly type: "function_call"
      readonly name: string
      readonly callId: string
      readonly args: string
    }
  >
  readonly usage: Record<string, unknown> | null
  readonly error: Record<string, unknown> | null
}

const fail = (message: string): never => {
  throw new Error(`Responses grammar: ${message}`)
}

interface EventData {
  readonly type: string
  readonly sequence_number: number
  readonly output_index: number
  readonly item_id?: string
  readonly delta: string
  readonly text: string
  readonly arguments: string
  readonly part: { readonly text: string }
  readonly item: {
    readonly type: string
    readonly id: string
    readonly name?: string
    readonly call_id?: string
    readonly arguments: string
    readonly content?: ReadonlyArray<{ readonly text: string }>
    readonly summary?: ReadonlyArray<{ readonly text: string }>
  }
  readonly response: {
    readonly id: string
    readonly status: string
    readonly output: ReadonlyArray<{ readonly id: string }>
    readonly usage?: Record<string, unknown> | null
    readonly error?: Record<string, unknown> | null
  }
}

interface Open {
  readonly type: string
  readonly id: string
  text: string
  partOpen: boolean
  done: boolean
  name: string
  callId: string
}

/**
 * Checks a Responses event stream against the grammar: event name = data.type, sequence numbers 0,1,2…;
 * `response.created` first; every delta belongs to an added, unfinished item (text after its content part);
 * `…done` texts and arguments equal the deltas; every item done before `response.completed`, which is last and
 * lists exactly the items in order. `response.failed` may end the stream at any point.
 */
export const checkResponsesStream = (text: string): ResponsesStreamSummary => {
  const frames = parseAll(text)
  if (frames.length === 0) fail("no events")
  const items: Array<Open> = []
  let responseId = ""
  let ended = false
  let result: ResponsesStreamSummary | undefined
  frames.forEach((frame, i) => {
    if (ended) fail(`event after the terminal event: ${frame.event}`)
    const data = JSON.parse(frame.data) as EventData
    if (data.type !== frame.event) fail(`event ${frame.event} carries type ${data.type}`)
    if (data.sequence_number !== i) fail(`sequence_number ${data.sequence_number} at position ${i}`)
    if (i === 0 && data.type !== "response.created") fail(`first event is ${data.type}`)
    const item = (): Open => {
      const found = items[data.output_index]
      if (found === undefined) return fail(`${data.type} for unknown output_index ${data.output_index}`)
      if (found.done) return fail(`${data.type} after the item is done`)
      if (data.item_id !== undefined && data.item_id !== found.id) fail(`${data.type} item_id mismatch`)
      return found
    }
    switch (data.type) {
      case "response.created":
        responseId = data.response.id
        if (!/^resp_/.test(responseId)) fail(`response id ${responseId}`)
        return
      case "response.in_progress":
        if (data.response.id !== responseId) fail("in_progress id differs")
        return
      case "response.output_item.added": {
        if (data.output_index !== items.length) fail(`output_index ${data.output_index}, expected ${items.length}`)
        const open = items.filter((o) => !o.done && o.type === "message")
        if (data.item.type === "message" && open.length > 0) fail("two message items open at once")
        if (items.some((o) => o.id === data.item.id)) fail(`duplicate item id ${data.item.id}`)
        items.push({
          type: data.item.type,
          id: data.item.id,
          text: "",
          partOpen: false,
          done: false,
          name: data.item.name ?? "",
          callId: data.item.call_id ?? ""
        })
        return
      }
      case "response.content_part.added": {
        const it = item()
        if (it.partOpen) fail("content part added twice")
        it.partOpen = true
        return
      }
      case "response.reasoning_summary_part.added": {
        const it = item()
        if (it.type !== "reasoning" || it.partOpen) fail("reasoning summary part on a wrong item or twice")
        it.partOpen = true
        return
      }
      case "response.reasoning_summary_text.delta": {
        const it = item()
        if (!it.partOpen) fail("reasoning delta before its summary part")
        it.text += data.delta
        return
      }
      case "response.reasoning_summary_text.done":
        if (item().text !== data.text) fail("reasoning_summary_text.done differs from the deltas")
        return
      case "response.reasoning_summary_part.done": {
        const it = item()
        if (data.part.text !== it.text) fail("reasoning_summary_part.done text differs")
        it.partOpen = false
        return
      }
      case "response.output_text.delta": {
        const it = item()
        if (!it.partOpen) fail("text delta before content_part.added")
        it.text += data.delta
        return
      }
      case "response.output_text.done":
        if (item().text !== data.text) fail("output_text.done text differs from the deltas")
        return
      case "response.content_part.done": {
        const it = item()
        if (data.part.text !== it.text) fail("content_part.done text differs")
        it.partOpen = false
        return
      }
      case "response.function_call_arguments.delta":
        if (item().type !== "function_call") fail("arguments delta on a message")
        item().text += data.delta
        return
      case "response.function_call_arguments.done":
        if (item().text !== data.arguments) fail("arguments.done differs from the deltas")
        return
      case "response.output_item.done": {
        const it = item()
        if (it.partOpen) fail("item done with its content part open")
        const doneText = it.type === "message"
          ? data.item.content?.[0]?.text ?? ""
          : it.type === "reasoning"
          ? data.item.summary?.[0]?.text ?? ""
          : data.item.arguments
        if (doneText !== it.text) fail("output_item.done differs from the deltas")
        it.done = true
        return
      }
      case "response.completed":
      case "response.failed": {
        ended = true
        const response = data.response
        if (response.id !== responseId) fail("terminal response id differs")
        if (data.type === "response.completed") {
          if (items.some((o) => !o.done)) fail("completed with an unfinished item")
          const ids = response.output.map((o) => o.id)
          if (JSON.stringify(ids) !== JSON.stringify(items.map((o) => o.id))) fail("completed output differs")
        }
        result = {
          status: response.status,
          responseId,
          items: items.map((o) =>
            o.type === "message" || o.type === "reasoning"
              ? { type: o.type, text: o.text }
              : { type: "function_call" as const, name: o.name, callId: o.callId, args: o.text }
          ),
          usage: response.usage ?? null,
          error: response.error ?? null
        }
        return
      }
      default:
        return fail(`unknown event ${data.type}`)
    }
  })
  if (result === undefined) return fail("no response.completed or response.failed")
  return result
}

/** Runs chunks through a Responses stream translator (optionally behind another), releasing the held completion. */
export const runResponses = (
  chunks: ReadonlyArray<Buffer | string>,
  opts: ChatStreamToResponsesOptions,
  inner?: SseTranslator
): string => {
  const outer = new ChatToResponsesStream(opts)
  let out = ""
  for (const chunk of chunks) out += outer.push(inner === undefined ? chunk : inner.push(chunk))
  if (inner !== undefined) out += outer.push(inner.end())
  out += outer.end()
  return out + outer.release()
}
