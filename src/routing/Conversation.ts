import { isRecord } from "../JsonValue.js"

/** A conversation turn as the router sees it: a role and its plain text. */
export interface Turn {
  readonly role: "system" | "developer" | "user" | "assistant" | "tool"
  readonly content: string
}

type Role = Turn["role"]

const chatRoles: Readonly<Record<string, Role>> = {
  system: "system",
  developer: "developer",
  user: "user",
  assistant: "assistant",
  tool: "tool",
  function: "tool"
}

/** Text of a content value: a string as is, text blocks joined with "\n", anything else (images, null) dropped. */
const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  const texts: Array<string> = []
  for (const part of content) {
    if (isRecord(part) && part.type === "text" && typeof part.text === "string") texts.push(part.text)
  }
  return texts.join("\n")
}

/** Turns of an OpenAI Chat Completions `messages` array; malformed entries are skipped, never thrown on. */
export const fromChatMessages = (messages: unknown): ReadonlyArray<Turn> => {
  if (!Array.isArray(messages)) return []
  const turns: Array<Turn> = []
  for (const message of messages) {
    if (!isRecord(message) || typeof message.role !== "string") continue
    const role = Object.hasOwn(chatRoles, message.role) ? chatRoles[message.role] : undefined
    if (role === undefined) continue
    turns.push({ role, content: textOf(message.content) })
  }
  return turns
}

const messagesTurns = (message: Record<string, unknown>): ReadonlyArray<Turn> => {
  const { content, role } = message
  if (role === "assistant") return [{ role: "assistant", content: textOf(content) }]
  if (role !== "user") return []
  if (!Array.isArray(content)) return [{ role: "user", content: textOf(content) }]
  const turns: Array<Turn> = []
  for (const block of content) {
    if (isRecord(block) && block.type === "tool_result") turns.push({ role: "tool", content: textOf(block.content) })
  }
  const text = textOf(content)
  // A message that only carries tool results is not a user utterance; keep the turn list free of empty user turns.
  if (text.length > 0 || turns.length === 0) turns.push({ role: "user", content: text })
  return turns
}

/** Turns of an Anthropic Messages request (`system` first, tool results as `tool` turns); never throws. */
export const fromMessagesRequest = (body: unknown): ReadonlyArray<Turn> => {
  if (!isRecord(body)) return []
  const turns: Array<Turn> = []
  if (body.system !== undefined && body.system !== null) turns.push({ role: "system", content: textOf(body.system) })
  if (Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (isRecord(message)) turns.push(...messagesTurns(message))
    }
  }
  return turns
}

/** The text of the latest user turn that has any, or "" when there is none. */
export const lastUserText = (turns: ReadonlyArray<Turn>): string => {
  for (let i = turns.length - 1; i >= 0; i--) {
    const turn = turns[i]!
    if (turn.role === "user" && turn.content.length > 0) return turn.content
  }
  return ""
}
