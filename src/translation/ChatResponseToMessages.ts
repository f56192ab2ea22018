import type { MessagesContentBlock, MessagesResponse, MessagesStopReason, MessagesUsage } from "./AnthropicWire.js"
import { isRecord, numberOr, stringOr } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"
import type { ChatResponse } from "./OpenAiWire.js"
import { randomId } from "./WireIds.js"

/** An OpenAI finish reason → an Anthropic stop reason (a refusal wins; tool calls win over "stop"). */
export const stopReasonOf = (finish: unknown, refused: boolean, usedTools: boolean): MessagesStopReason => {
  if (refused || finish === "content_filter") return "refusal"
  switch (finish) {
    case "length":
      return "max_tokens"
    case "tool_calls":
    case "function_call":
      return "tool_use"
    default:
      // Several OpenAI-compatible servers (Ollama, Gemini) finish a tool-calling turn with "stop".
      return usedTools ? "tool_use" : "end_turn"
  }
}

const parseArguments = (raw: unknown): Record<string, unknown> => {
  if (typeof raw !== "string" || raw.trim().length === 0) return isRecord(raw) ? raw : {}
  try {
    const value: unknown = JSON.parse(raw)
    if (isRecord(value)) return value
  } catch {
    // fall through: the model produced arguments that are not a JSON object
  }
  // Kept visible (rather than {}) so the client's schema check tells the model what it sent.
  return { _invalid_arguments: raw }
}

/** The token counts of an OpenAI `usage` object. */
export interface UsageNumbers {
  readonly input: number
  readonly output: number
  readonly cached: number
}

const messagesUsage = (usage: UsageNumbers): MessagesUsage => ({
  input_tokens: Math.max(0, usage.input - usage.cached),
  output_tokens: usage.output,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: usage.cached
})

/** Reads an OpenAI `usage` object (missing counts are 0). */
export const usageNumbers = (usage: unknown): UsageNumbers => {
  if (!isRecord(usage)) return { input: 0, output: 0, cached: 0 }
  const details = usage.prompt_tokens_details
  return {
    input: numberOr(usage.prompt_tokens) ?? 0,
    output: numberOr(usage.completion_tokens) ?? 0,
    cached: isRecord(details) ? numberOr(details.cached_tokens) ?? 0 : 0
  }
}

/** Options of `fromChatResponse`. */
export interface FromChatResponseOptions {
  /** Reported when the upstream body names no model. */
  readonly model?: string
}

/**
 * An OpenAI chat.completion → an Anthropic Message (first choice). `reasoning_content` becomes a leading thinking
 * block with an empty signature. `prompt_tokens` is split into `input_tokens`
 * (uncached) and `cache_read_input_tokens`; finish reasons map stop→end_turn, length→max_tokens,
 * tool_calls→tool_use, content_filter (or a refusal)→refusal. Tool arguments that are not a JSON object are kept
 * as `{"_invalid_arguments": raw}`. Never throws.
 */
export const fromChatResponse = (chat: ChatResponse, opts: FromChatResponseOptions = {}): MessagesResponse => {
  const body: unknown = chat
  const record: JsonObject = isRecord(body) ? body : {}
  const choices = Array.isArray(record.choices) ? record.choices : []
  const choice: unknown = choices.find((c: unknown) => isRecord(c) && (c.index === 0 || c.index === undefined)) ??
    choices[0]
  const message: JsonObject = isRecord(choice) && isRecord(choice.message) ? choice.message : {}
  const content: Array<MessagesContentBlock> = []
  let refused = false
  const thought = message.reasoning_content
  // Chat completions carry no signature: the block is unsigned (the relay marks it with `x-switchyard-reasoning`).
  if (typeof thought === "string" && thought.length > 0) {
    content.push({ type: "thinking", thinking: thought, signature: "" })
  }
  if (typeof message.content === "string" && message.content.length > 0) {
    content.push({ type: "text", text: message.content })
  } else if (Array.isArray(message.content)) {
    for (const part of message.content) {
      if (isRecord(part) && part.type === "text" && typeof part.text === "string" && part.text.length > 0) {
        content.push({ type: "text", text: part.text })
      }
    }
  }
  if (typeof message.refusal === "string" && message.refusal.length > 0) {
    refused = true
    content.push({ type: "text", text: message.refusal })
  }
  let usedTools = false
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      if (!isRecord(call) || !isRecord(call.function)) continue
      usedTools = true
      content.push({
        type: "tool_use",
        id: stringOr(call.id) ?? randomId("toolu_"),
        name: stringOr(call.function.name) ?? "",
        input: parseArguments(call.function.arguments)
      })
    }
  } else if (isRecord(message.function_call)) {
    usedTools = true
    content.push({
      type: "tool_use",
      id: randomId("toolu_"),
      name: stringOr(message.function_call.name) ?? "",
      input: parseArguments(message.function_call.arguments)
    })
  }
  return {
    id: stringOr(record.id) ?? randomId("msg_"),
    type: "message",
    role: "assistant",
    model: stringOr(record.model) ?? opts.model ?? "unknown",
    content,
    stop_reason: stopReasonOf(isRecord(choice) ? choice.finish_reason : undefined, refused, usedTools),
    stop_sequence: null,
    usage: messagesUsage(usageNumbers(record.usage))
  }
}
