import { isRecord, nonEmpty, numberOr, stringOr } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"
import type {
  ResponsesEcho,
  ResponsesFunctionCallItem,
  ResponsesMessageItem,
  ResponsesOutputItem,
  ResponsesReasoningItem,
  ResponsesResponse,
  ResponsesUsage
} from "./ResponsesWire.js"
import { nowSeconds, randomId } from "./WireIds.js"

/** Chat usage → Responses usage (`prompt_tokens` → `input_tokens`, …); null when absent. */
export const responsesUsage = (usage: unknown): ResponsesUsage | null => {
  if (!isRecord(usage)) return null
  const input = numberOr(usage.prompt_tokens) ?? 0
  const output = numberOr(usage.completion_tokens) ?? 0
  const cached = isRecord(usage.prompt_tokens_details) ? numberOr(usage.prompt_tokens_details.cached_tokens) ?? 0 : 0
  const reasoning = isRecord(usage.completion_tokens_details)
    ? numberOr(usage.completion_tokens_details.reasoning_tokens) ?? 0
    : 0
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: numberOr(usage.total_tokens) ?? input + output
  }
}

/** An assistant text item. */
export const messageItem = (id: string, text: string, status: ResponsesMessageItem["status"]): ResponsesMessageItem => ({
  type: "message",
  id,
  status,
  role: "assistant",
  content: [{ type: "output_text", text, annotations: [] }]
})

/** A function call item. */
export const functionCallItem = (
  id: string,
  callId: string,
  name: string,
  args: string,
  status: ResponsesFunctionCallItem["status"]
): ResponsesFunctionCallItem => ({ type: "function_call", id, call_id: callId, name, arguments: args, status })

/** A reasoning item: the reasoning text as its summary; Anthropic's signature as `encrypted_content` when given. */
export const reasoningItem = (id: string, text: string, signature?: string): ResponsesReasoningItem =>
  signature === undefined
    ? { type: "reasoning", id, summary: [{ type: "summary_text", text }] }
    : { type: "reasoning", id, summary: [{ type: "summary_text", text }], encrypted_content: signature }

/** Anthropic `thinking` blocks of a Messages answer as reasoning items (redacted thinking has no text to show). */
export const thinkingItems = (message: unknown): Array<ResponsesReasoningItem> => {
  if (!isRecord(message) || !Array.isArray(message.content)) return []
  return message.content.flatMap((block: unknown) =>
    isRecord(block) && block.type === "thinking" && typeof block.thinking === "string"
      ? [reasoningItem(randomId("rs_"), block.thinking, stringOr(block.signature))]
      : []
  )
}

/** How a finished chat completion maps to a response status. */
export const statusOf = (finish: unknown): Pick<ResponsesResponse, "status" | "incomplete_details"> =>
  finish === "length"
    ? { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } }
    : finish === "content_filter"
    ? { status: "incomplete", incomplete_details: { reason: "content_filter" } }
    : { status: "completed", incomplete_details: null }

/** The fields of a response object that identify it. */
export interface ResponseHead {
  readonly id: string
  readonly createdAt: number
  readonly model: string
}

/** Assembles a response object. */
export const responseObject = (
  head: ResponseHead,
  echo: ResponsesEcho,
  state: Pick<ResponsesResponse, "status" | "incomplete_details" | "error" | "output" | "usage">
): ResponsesResponse => ({
  id: head.id,
  object: "response",
  created_at: head.createdAt,
  status: state.status,
  error: state.error,
  incomplete_details: state.incomplete_details,
  instructions: echo.instructions,
  max_output_tokens: echo.max_output_tokens,
  model: head.model,
  output: state.output,
  parallel_tool_calls: echo.parallel_tool_calls,
  previous_response_id: echo.previous_response_id,
  reasoning: echo.reasoning,
  store: echo.store,
  temperature: echo.temperature,
  text: echo.text,
  tool_choice: echo.tool_choice,
  tools: echo.tools,
  top_p: echo.top_p,
  truncation: "disabled",
  usage: state.usage,
  user: echo.user,
  metadata: echo.metadata
})

/** Options of `fromChatResponse`. */
export interface ChatToResponsesOptions {
  readonly echo: ResponsesEcho
  /** Reported when the upstream names no model. */
  readonly model: string
  /** The response id; a fresh `resp_…` by default. */
  readonly id?: string
  /** Reasoning items to put first (Anthropic thinking read from the Messages answer). */
  readonly reasoning?: ReadonlyArray<ResponsesReasoningItem>
}

/**
 * A chat.completion → a Responses `response`: `reasoning_content` becomes a reasoning item (summary text), the first
 * choice's text one assistant message item, each tool
 * call a `function_call` item (the chat call id is the `call_id`); finish `length` → `incomplete`
 * (`max_output_tokens`). Never throws: a body without choices gives an empty `output`.
 */
export const fromChatResponse = (chat: unknown, opts: ChatToResponsesOptions): ResponsesResponse => {
  const record: JsonObject = isRecord(chat) ? chat : {}
  const choice = Array.isArray(record.choices) && isRecord(record.choices[0]) ? record.choices[0] : {}
  const message = isRecord(choice.message) ? choice.message : {}
  const output: Array<ResponsesOutputItem> = []
  // DeepSeek-style `reasoning_content` (and Anthropic thinking, via `opts.reasoning`) comes first, as in OpenAI's own.
  if (opts.reasoning !== undefined) output.push(...opts.reasoning)
  // With `opts.reasoning` the chat message's reasoning_content is the same thinking again (with signatures lost).
  const thought = opts.reasoning === undefined ? nonEmpty(message.reasoning_content) : undefined
  if (thought !== undefined) output.push(reasoningItem(randomId("rs_"), thought))
  const text = stringOr(message.content) ?? ""
  if (text.length > 0) output.push(messageItem(randomId("msg_"), text, "completed"))
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isRecord(call) || !isRecord(call.function)) continue
      output.push(functionCallItem(
        randomId("fc_"),
        stringOr(call.id) ?? randomId("call_"),
        stringOr(call.function.name) ?? "",
        nonEmpty(call.function.arguments) ?? "{}",
        "completed"
      ))
    }
  }
  if (output.length === 0) output.push(messageItem(randomId("msg_"), "", "completed"))
  return responseObject(
    {
      id: opts.id ?? randomId("resp_"),
      createdAt: numberOr(record.created) ?? nowSeconds(),
      model: stringOr(record.model) ?? opts.model
    },
    opts.echo,
    { ...statusOf(choice.finish_reason), error: null, output, usage: responsesUsage(record.usage) }
  )
}
