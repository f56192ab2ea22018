import type { MessagesResponse } from "./AnthropicWire.js"
import { isRecord, numberOr, stringOr } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"
import type { ChatFinishReason, ChatResponse, ChatResponseMessage, ChatToolCall, ChatUsage } from "./OpenAiWire.js"
import { nowSeconds, randomId } from "./WireIds.js"

/** An Anthropic stop reason → an OpenAI finish reason (unknown ones by whether tools were called). */
export const finishReasonOf = (stopReason: unknown, usedTools: boolean): ChatFinishReason => {
  switch (stopReason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
      return "stop"
    default:
      return usedTools ? "tool_calls" : "stop"
  }
}

/** Anthropic token counts, accumulated as usage arrives. */
export interface TokenCounts {
  input: number
  output: number
  cacheRead: number
  cacheCreation: number
}

/** Overwrites `into` with the counts an Anthropic `usage` object carries. */
export const readUsage = (usage: unknown, into: TokenCounts): void => {
  if (!isRecord(usage)) return
  into.input = numberOr(usage.input_tokens) ?? into.input
  into.output = numberOr(usage.output_tokens) ?? into.output
  into.cacheRead = numberOr(usage.cache_read_input_tokens) ?? into.cacheRead
  into.cacheCreation = numberOr(usage.cache_creation_input_tokens) ?? into.cacheCreation
}

/** Anthropic token counts → OpenAI usage (prompt = input + cache read + cache creation). */
export const chatUsage = (counts: TokenCounts): ChatUsage => {
  const prompt = counts.input + counts.cacheRead + counts.cacheCreation
  return {
    prompt_tokens: prompt,
    completion_tokens: counts.output,
    total_tokens: prompt + counts.output,
    prompt_tokens_details: { cached_tokens: counts.cacheRead }
  }
}

/** Options of `fromMessagesResponse`. */
export interface FromMessagesResponseOptions {
  /** Reported when the upstream body names no model. */
  readonly model?: string
  /** `created` (Unix seconds); defaults to now. */
  readonly created?: number
}

/**
 * An Anthropic Message → an OpenAI chat.completion: text blocks joined into `content`, `tool_use` blocks into
 * `tool_calls`, thinking text joined into `reasoning_content` (signatures, redacted thinking and server-tool blocks
 * dropped); stop reasons end_turn/stop_sequence/pause_turn→stop,
 * max_tokens→length, tool_use→tool_calls, refusal→content_filter; `prompt_tokens` = input + cache read + cache
 * creation, `cached_tokens` = cache read. Never throws.
 */
export const fromMessagesResponse = (msg: MessagesResponse, opts: FromMessagesResponseOptions = {}): ChatResponse => {
  const body: unknown = msg
  const record: JsonObject = isRecord(body) ? body : {}
  const texts: Array<string> = []
  const thoughts: Array<string> = []
  const calls: Array<ChatToolCall> = []
  if (Array.isArray(record.content)) {
    for (const block of record.content) {
      if (!isRecord(block)) continue
      if (block.type === "text" && typeof block.text === "string") texts.push(block.text)
      else if (block.type === "thinking" && typeof block.thinking === "string") thoughts.push(block.thinking)
      else if (block.type === "tool_use") {
        calls.push({
          id: stringOr(block.id) ?? randomId("call_"),
          type: "function",
          function: { name: stringOr(block.name) ?? "", arguments: JSON.stringify(block.input ?? {}) }
        })
      }
    }
  }
  const counts: TokenCounts = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 }
  readUsage(record.usage, counts)
  const text = texts.join("")
  const plain: ChatResponseMessage = calls.length > 0
    ? { role: "assistant", content: text.length > 0 ? text : null, refusal: null, tool_calls: calls }
    : { role: "assistant", content: text, refusal: null }
  const thought = thoughts.join("")
  // Signatures and redacted thinking have no chat counterpart (`messagesResponseDropsReasoning` tells the relay).
  const message: ChatResponseMessage = thought.length > 0 ? { ...plain, reasoning_content: thought } : plain
  return {
    id: stringOr(record.id) ?? randomId("chatcmpl-"),
    object: "chat.completion",
    created: opts.created ?? nowSeconds(),
    model: stringOr(record.model) ?? opts.model ?? "unknown",
    choices: [{
      index: 0,
      message,
      logprobs: null,
      finish_reason: finishReasonOf(record.stop_reason, calls.length > 0)
    }],
    usage: chatUsage(counts)
  }
}
