import type * as Either from "effect/Either"
import { failTranslation, guardTranslation } from "./ErrorTranslation.js"
import type { TranslationError } from "./ErrorTranslation.js"
import { isRecord, numberOr, stringOr } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"
import type {
  ChatContentPart,
  ChatMessage,
  ChatRequest,
  ChatResponseFormat,
  ChatTextPart,
  ChatTool,
  ChatToolCall,
  ChatToolChoice
} from "./OpenAiWire.js"
import type { ResponsesEcho } from "./ResponsesWire.js"

/** Options of `toChatRequest`. */
export interface ResponsesToChatOptions {
  /** The upstream model id. */
  readonly model: string
}

/** A request's `input` as a list of items: a string becomes one user message. */
export const inputItems = (input: unknown): Array<unknown> =>
  typeof input === "string"
    ? [{ type: "message", role: "user", content: input }]
    : Array.isArray(input)
    ? input
    : []

const textOf = (part: JsonObject, at: string): string => {
  const text = stringOr(part.text)
  if (text === undefined) return failTranslation("A text part needs 'text'", at)
  return text
}

const userPart = (part: unknown, at: string): ChatContentPart => {
  if (!isRecord(part)) return failTranslation("A content part must be an object", at)
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
      return { type: "text", text: textOf(part, at) }
    case "input_image": {
      const url = stringOr(part.image_url)
      if (url === undefined) return failTranslation("Only images given by 'image_url' can be translated", at)
      const detail = part.detail === "low" || part.detail === "high" || part.detail === "auto" ? part.detail : undefined
      return { type: "image_url", image_url: detail === undefined ? { url } : { url, detail } }
    }
    default:
      return failTranslation(`Content part type '${String(part.type)}' cannot be translated`, at)
  }
}

const textParts = (content: unknown, at: string): string | Array<ChatTextPart> => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return failTranslation("'content' must be a string or an array", at)
  return content.map((part, i) => {
    const p = userPart(part, `${at}[${i}]`)
    if (p.type !== "text") return failTranslation("Only text parts can appear here", `${at}[${i}]`)
    return p
  })
}

const outputString = (output: unknown, at: string): string => {
  if (typeof output === "string") return output
  if (Array.isArray(output)) {
    return output.map((part, i) => {
      const p = userPart(part, `${at}[${i}]`)
      return p.type === "text" ? p.text : ""
    }).join("")
  }
  return failTranslation("'output' must be a string or an array", at)
}

/** Builds the chat messages; consecutive function calls become one assistant message with several tool calls. */
const toMessages = (items: ReadonlyArray<unknown>, instructions: unknown): Array<ChatMessage> => {
  const messages: Array<ChatMessage> = []
  if (typeof instructions === "string" && instructions.length > 0) messages.push({ role: "system", content: instructions })
  let pendingCalls: Array<ChatToolCall> = []
  let pendingText: string | null = null
  const flush = () => {
    if (pendingCalls.length === 0 && pendingText === null) return
    messages.push(
      pendingCalls.length > 0
        ? { role: "assistant", content: pendingText, tool_calls: pendingCalls }
        : { role: "assistant", content: pendingText }
    )
    pendingCalls = []
    pendingText = null
  }
  items.forEach((item, i) => {
    const at = `input[${i}]`
    if (!isRecord(item)) return failTranslation("An input item must be an object", at)
    const type = item.type ?? "message"
    if (type === "function_call") {
      const name = stringOr(item.name)
      const callId = stringOr(item.call_id)
      if (name === undefined || callId === undefined) {
        return failTranslation("A function_call item needs 'name' and 'call_id'", at)
      }
      pendingCalls.push({
        id: callId,
        type: "function",
        function: { name, arguments: stringOr(item.arguments) ?? "{}" }
      })
      return
    }
    if (type === "function_call_output") {
      flush()
      const callId = stringOr(item.call_id)
      if (callId === undefined) return failTranslation("A function_call_output item needs 'call_id'", at)
      messages.push({ role: "tool", tool_call_id: callId, content: outputString(item.output, `${at}.output`) })
      return
    }
    // Reasoning items only mean something to the provider that produced them.
    if (type === "reasoning") return
    if (type !== "message") return failTranslation(`Input item type '${String(type)}' cannot be translated`, at)
    const role = item.role
    if (role === "assistant") {
      const content = textParts(item.content, `${at}.content`)
      const text = typeof content === "string" ? content : content.map((p) => p.text).join("")
      if (pendingCalls.length > 0) flush()
      pendingText = (pendingText ?? "") + text
      return
    }
    flush()
    if (role === "system" || role === "developer") {
      messages.push({ role, content: textParts(item.content, `${at}.content`) })
    } else if (role === "user") {
      const content = item.content
      messages.push({
        role: "user",
        content: typeof content === "string"
          ? content
          : Array.isArray(content)
          ? content.map((part, j) => userPart(part, `${at}.content[${j}]`))
          : failTranslation("'content' must be a string or an array", `${at}.content`)
      })
    } else return failTranslation(`Message role '${String(role)}' cannot be translated`, `${at}.role`)
  })
  flush()
  return messages
}

const toTools = (tools: unknown): Array<ChatTool> | undefined => {
  if (!Array.isArray(tools) || tools.length === 0) return undefined
  return tools.map((tool, i) => {
    const at = `tools[${i}]`
    if (!isRecord(tool) || tool.type !== "function") {
      return failTranslation("Only function tools can be translated for this provider", at)
    }
    const name = stringOr(tool.name)
    if (name === undefined) return failTranslation("A function tool needs 'name'", at)
    const fn: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null } = {
      name
    }
    if (typeof tool.description === "string") fn.description = tool.description
    if (isRecord(tool.parameters)) fn.parameters = tool.parameters
    if (typeof tool.strict === "boolean") fn.strict = tool.strict
    return { type: "function", function: fn }
  })
}

const toToolChoice = (choice: unknown): ChatToolChoice | undefined => {
  if (choice === "auto" || choice === "none" || choice === "required") return choice
  if (isRecord(choice) && choice.type === "function" && typeof choice.name === "string") {
    return { type: "function", function: { name: choice.name } }
  }
  return undefined
}

const toResponseFormat = (text: unknown): ChatResponseFormat | undefined => {
  if (!isRecord(text) || !isRecord(text.format)) return undefined
  const format = text.format
  if (format.type === "json_object") return { type: "json_object" }
  if (format.type !== "json_schema") return undefined
  const schema: {
    name: string
    description?: string
    schema?: Record<string, unknown>
    strict?: boolean | null
  } = { name: stringOr(format.name) ?? "response" }
  if (typeof format.description === "string") schema.description = format.description
  if (isRecord(format.schema)) schema.schema = format.schema
  if (typeof format.strict === "boolean") schema.strict = format.strict
  return { type: "json_schema", json_schema: schema }
}

const translate = (body: JsonObject, opts: ResponsesToChatOptions): ChatRequest => {
  const request: {
    -readonly [K in keyof ChatRequest]: ChatRequest[K]
  } = { model: opts.model, messages: toMessages(inputItems(body.input), body.instructions) }
  const max = numberOr(body.max_output_tokens)
  if (max !== undefined) request.max_tokens = max
  const temperature = numberOr(body.temperature)
  if (temperature !== undefined) request.temperature = temperature
  const topP = numberOr(body.top_p)
  if (topP !== undefined) request.top_p = topP
  const tools = toTools(body.tools)
  if (tools !== undefined) request.tools = tools
  const choice = toToolChoice(body.tool_choice)
  if (choice !== undefined && tools !== undefined) request.tool_choice = choice
  if (typeof body.parallel_tool_calls === "boolean" && tools !== undefined) {
    request.parallel_tool_calls = body.parallel_tool_calls
  }
  const format = toResponseFormat(body.text)
  if (format !== undefined) request.response_format = format
  if (typeof body.user === "string") request.user = body.user
  if (body.stream === true) {
    request.stream = true
    request.stream_options = { include_usage: true }
  }
  return request
}

/**
 * An OpenAI Responses request → a Chat Completions request for `opts.model`: `instructions` becomes the first system
 * message, `input` items become messages (consecutive `function_call` items one assistant message with tool calls,
 * `function_call_output` a tool message, `input_image` URLs image parts), `max_output_tokens` → `max_tokens`,
 * `text.format` → `response_format`, streams ask for usage. Reasoning items are dropped; built-in tools, file ids and
 * unknown item types are a `TranslationError`. `previous_response_id` must already be resolved by the caller.
 */
export const toChatRequest = (
  body: JsonObject,
  opts: ResponsesToChatOptions
): Either.Either<ChatRequest, TranslationError> => guardTranslation(() => translate(body, opts))

/** The chat messages of a Responses request, for the router (never fails: untranslatable items are skipped). */
export const routingMessages = (body: JsonObject): ReadonlyArray<ChatMessage> => {
  const items = inputItems(body.input).filter((item) => {
    try {
      toMessages([item], undefined)
      return true
    } catch {
      return false
    }
  })
  return toMessages(items, body.instructions)
}

const stringMap = (value: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  if (isRecord(value)) for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v
  return out
}

/** The request fields a response object repeats back. */
export const echoOf = (body: JsonObject): ResponsesEcho => ({
  instructions: body.instructions ?? null,
  max_output_tokens: numberOr(body.max_output_tokens) ?? null,
  parallel_tool_calls: body.parallel_tool_calls !== false,
  previous_response_id: stringOr(body.previous_response_id) ?? null,
  reasoning: {
    effort: isRecord(body.reasoning) ? stringOr(body.reasoning.effort) ?? null : null,
    summary: isRecord(body.reasoning) ? stringOr(body.reasoning.summary) ?? null : null
  },
  store: body.store !== false,
  temperature: numberOr(body.temperature) ?? null,
  text: { format: isRecord(body.text) && isRecord(body.text.format) ? body.text.format : { type: "text" } },
  tool_choice: body.tool_choice ?? "auto",
  tools: Array.isArray(body.tools) ? body.tools : [],
  top_p: numberOr(body.top_p) ?? null,
  user: stringOr(body.user) ?? null,
  metadata: stringMap(body.metadata)
})
