import { isRecord, numberOr } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"

/** The response header that says reasoning could not be carried across APIs. */
export const reasoningHeader = "x-switchyard-reasoning"

/** OpenAI `reasoning_effort` values that ask for reasoning. */
export type ReasoningEffort = "low" | "medium" | "high"

/** Anthropic's smallest thinking budget. */
export const minThinkingBudget = 1024

/** `thinking.budget_tokens` → `reasoning_effort`: below 4096 low, below 16384 medium, else high. */
export const effortForBudget = (budget: number): ReasoningEffort =>
  budget < 4096 ? "low" : budget < 16384 ? "medium" : "high"

/** `reasoning_effort` → `thinking.budget_tokens` (minimal/none ask for no thinking). */
export const budgetForEffort = (effort: unknown): number | undefined => {
  switch (effort) {
    case "low":
      return 2048
    case "medium":
      return 8192
    case "high":
      return 24576
    default:
      return undefined
  }
}

/** The `reasoning_effort` an Anthropic `thinking` field asks for (adaptive thinking reads as medium). */
export const effortOfThinking = (thinking: unknown): ReasoningEffort | undefined => {
  if (!isRecord(thinking)) return undefined
  if (thinking.type === "adaptive") return "medium"
  if (thinking.type !== "enabled") return undefined
  return effortForBudget(numberOr(thinking.budget_tokens) ?? minThinkingBudget)
}

/**
 * The Anthropic `thinking` field for a `reasoning_effort`, its budget kept below `max_tokens` as Anthropic requires;
 * undefined when no thinking is asked for or `max_tokens` leaves no room for the minimum budget.
 */
export const thinkingOfEffort = (
  effort: unknown,
  maxTokens: number
): { readonly type: "enabled"; readonly budget_tokens: number } | undefined => {
  const budget = budgetForEffort(effort)
  if (budget === undefined) return undefined
  const fitted = Math.min(budget, maxTokens - 1)
  return fitted < minThinkingBudget ? undefined : { type: "enabled", budget_tokens: fitted }
}

const thinkingBlock = (block: unknown): boolean =>
  isRecord(block) && (block.type === "thinking" || block.type === "redacted_thinking")

/** Whether an Anthropic Message carries reasoning a chat completion cannot hold (any signature or redacted block). */
export const messagesResponseDropsReasoning = (content: unknown): boolean => {
  if (!Array.isArray(content)) return false
  for (const block of content) {
    if (!isRecord(block)) continue
    if (block.type === "redacted_thinking") return true
    if (block.type === "thinking" && typeof block.signature === "string" && block.signature.length > 0) return true
  }
  return false
}

const historyDropsThinking = (messages: unknown): boolean =>
  Array.isArray(messages) &&
  messages.some((m: unknown) =>
    isRecord(m) && m.role === "assistant" && Array.isArray(m.content) && m.content.some(thinkingBlock)
  )

const historyDropsReasoning = (messages: unknown): boolean =>
  Array.isArray(messages) &&
  messages.some((m: unknown) =>
    isRecord(m) && m.role === "assistant" && typeof m.reasoning_content === "string" &&
    m.reasoning_content.length > 0 && typeof m.reasoning_signature !== "string"
  )

/** Response headers being built (node's `OutgoingHttpHeaders` fits). */
export type Headers = { [name: string]: unknown }

/** What `x-switchyard-reasoning` reports: reasoning lost, or thinking handed to the client without a signature. */
export type ReasoningMark = "dropped" | "unsigned"

/** Adds a mark to the `x-switchyard-reasoning` header (a comma-separated list, each mark once). */
export const markReasoning = (headers: Headers, mark: ReasoningMark): void => {
  const now = headers[reasoningHeader]
  if (typeof now !== "string") headers[reasoningHeader] = mark
  else if (!now.split(", ").includes(mark)) headers[reasoningHeader] = `${now}, ${mark}`
}

/**
 * Marks a request translated across APIs, before any answer is seen: thinking in a Messages history sent to a chat
 * upstream and unsigned `reasoning_content` in a chat history sent to Anthropic are dropped; a streamed request that
 * asks for reasoning is marked up front, since stream headers precede the body (an OpenAI client loses Anthropic's
 * signatures; an Anthropic client gets unsigned thinking).
 */
export const markReasoningRequest = (
  headers: Headers,
  client: "openai" | "anthropic",
  body: JsonObject
): void => {
  if (client === "anthropic") {
    if (historyDropsThinking(body.messages)) markReasoning(headers, "dropped")
    if (body.stream === true && effortOfThinking(body.thinking) !== undefined) markReasoning(headers, "unsigned")
  } else {
    if (historyDropsReasoning(body.messages)) markReasoning(headers, "dropped")
    if (body.stream === true && budgetForEffort(body.reasoning_effort) !== undefined) markReasoning(headers, "dropped")
  }
}

/** Marks a translated non-streaming answer (`parsed` is the upstream body) by what its reasoning lost. */
export const markReasoningResponse = (
  headers: Headers,
  client: "openai" | "anthropic",
  parsed: unknown
): void => {
  if (!isRecord(parsed)) return
  if (client === "openai") {
    if (messagesResponseDropsReasoning(parsed.content)) markReasoning(headers, "dropped")
    return
  }
  const choice = Array.isArray(parsed.choices) ? parsed.choices[0] : undefined
  const message = isRecord(choice) ? choice.message : undefined
  if (isRecord(message) && typeof message.reasoning_content === "string" && message.reasoning_content.length > 0) {
    markReasoning(headers, "unsigned")
  }
}

/**
 * The thinking block of an assistant chat message, only when it carries a signature (`reasoning_signature`, not part
 * of the chat API: a client that kept Anthropic's signature may send it); Anthropic rejects unsigned thinking.
 */
export const signedThinking = (
  message: JsonObject
): { readonly type: "thinking"; readonly thinking: string; readonly signature: string } | undefined => {
  const thinking = message.reasoning_content
  const signature = message.reasoning_signature
  return typeof thinking === "string" && thinking.length > 0 && typeof signature === "string" && signature.length > 0
    ? { type: "thinking", thinking, signature }
    : undefined
}
