import { createHash } from "node:crypto"
import { isRecord } from "../JsonValue.js"

/** Where a request stands in its conversation turn. */
export interface TurnState {
  /** A hash of the conversation up to and including the turn's last user message (and the system prompt). */
  readonly key: string
  /**
   * True when the request only continues the turn: its last message is a tool result (`tool`, `function`, Anthropic
   * `tool_result` blocks, Responses `function_call_output`) or an assistant prefill. False when a user message is last.
   */
  readonly continues: boolean
}

const hashOf = (api: string, system: unknown, messages: ReadonlyArray<unknown>): string =>
  createHash("sha256").update(api).update("\0").update(JSON.stringify(system ?? null)).update("\0").update(
    JSON.stringify(messages)
  ).digest("base64url")

const isToolResultOnly = (content: unknown): boolean =>
  Array.isArray(content) && content.length > 0 &&
  content.every((block) =>
    isRecord(block) && (block.type === "tool_result" || block.type === "function_call_output")
  )

const roleOf = (message: unknown): string | undefined =>
  isRecord(message) && typeof message.role === "string" ? message.role : undefined

/** The turn of a Chat Completions `messages` array; undefined without a user message. */
export const ofChat = (messages: unknown): TurnState | undefined => {
  if (!Array.isArray(messages) || messages.length === 0) return undefined
  let lastUser = -1
  for (let i = messages.length - 1; i >= 0; i--) {
    const message: unknown = messages[i]
    if (roleOf(message) === "user" && !(isRecord(message) && isToolResultOnly(message.content))) {
      lastUser = i
      break
    }
  }
  if (lastUser < 0) return undefined
  return { key: hashOf("chat", null, messages.slice(0, lastUser + 1)), continues: lastUser < messages.length - 1 }
}

/** The turn of a Messages request: a user message of only `tool_result` blocks continues the turn. */
export const ofMessages = (body: Record<string, unknown>): TurnState | undefined => {
  const messages = body.messages
  if (!Array.isArray(messages) || messages.length === 0) return undefined
  let lastUser = -1
  for (let i = messages.length - 1; i >= 0; i--) {
    const message: unknown = messages[i]
    if (roleOf(message) === "user" && isRecord(message) && !isToolResultOnly(message.content)) {
      lastUser = i
      break
    }
  }
  if (lastUser < 0) return undefined
  return {
    key: hashOf("messages", body.system, messages.slice(0, lastUser + 1)),
    continues: lastUser < messages.length - 1
  }
}

/** The turn of a Responses `input` (a string, or items where `function_call_output` continues the turn). */
export const ofResponses = (input: unknown): TurnState | undefined => {
  // A string input is shorthand for one user message: the turn's later requests send it as that item.
  if (typeof input === "string") {
    return { key: hashOf("responses", null, [{ role: "user", content: input }]), continues: false }
  }
  if (!Array.isArray(input)) return undefined
  let lastUser = -1
  for (let i = input.length - 1; i >= 0; i--) {
    const item: unknown = input[i]
    if (isRecord(item) && item.role === "user") {
      lastUser = i
      break
    }
  }
  if (lastUser < 0) return undefined
  return { key: hashOf("responses", null, input.slice(0, lastUser + 1)), continues: lastUser < input.length - 1 }
}
