import * as Either from "effect/Either"
import type * as Types from "effect/Types"
import type { MessagesRequest } from "./AnthropicWire.js"
import { failTranslation, guardTranslation, TranslationError } from "./ErrorTranslation.js"
import { isRecord, numberOr, stringOr } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"
import type { ChatContentPart, ChatMessage, ChatRequest, ChatTool, ChatToolCall, ChatToolChoice } from "./OpenAiWire.js"
import { effortOfThinking } from "./Reasoning.js"

/** Options of `toChatRequest`. */
export interface ToChatRequestOptions {
  /** The upstream model id. */
  readonly model: string
  /** Stream the answer (adds `stream_options.include_usage`, so usage can be reported). */
  readonly stream: boolean
  /** Which field carries the token limit; older OpenAI-compatible servers only know `max_tokens`. */
  readonly maxTokensField?: "max_completion_tokens" | "max_tokens"
  /**
   * Map `thinking` to `reasoning_effort` (default false: a routed request may land on a model that rejects the
   * parameter, e.g. gpt-4o, so the client's thinking setting is dropped unless the caller knows the target reasons).
   */
  readonly reasoningParams?: boolean | undefined
}

const textOfBlocks = (content: unknown, at: string): string => {
  if (typeof content === "string") return content
  if (content === undefined || content === null) return ""
  if (!Array.isArray(content)) return failTranslation("expected a string or an array of text blocks", at)
  const texts: Array<string> = []
  for (const block of content) {
    if (isRecord(block) && block.type === "text" && typeof block.text === "string") texts.push(block.text)
  }
  return texts.join("\n")
}

const imagePart = (source: unknown, at: string): ChatContentPart => {
  if (!isRecord(source)) return failTranslation("an image needs a 'source' object", `${at}.source`)
  if (source.type === "base64") {
    const mediaType = stringOr(source.media_type)
    const data = stringOr(source.data)
    if (mediaType === undefined || data === undefined) {
      return failTranslation("a base64 image needs 'media_type' and 'data'", `${at}.source`)
    }
    return { type: "image_url", image_url: { url: `data:${mediaType};base64,${data}` } }
  }
  if (source.type === "url" && typeof source.url === "string") {
    return { type: "image_url", image_url: { url: source.url } }
  }
  return failTranslation(
    `image source type '${String(source.type)}' cannot be sent to an OpenAI-compatible model`,
    `${at}.source`
  )
}

const documentPart = (block: JsonObject, at: string): ChatContentPart => {
  const source = block.source
  if (isRecord(source) && source.type === "base64" && typeof source.data === "string") {
    const mediaType = stringOr(source.media_type) ?? "application/pdf"
    const filename = stringOr(block.title) ?? "document.pdf"
    return { type: "file", file: { filename, file_data: `data:${mediaType};base64,${source.data}` } }
  }
  if (isRecord(source) && source.type === "text" && typeof source.data === "string") {
    return { type: "text", text: source.data }
  }
  return failTranslation("only base64 and text documents can be sent to an OpenAI-compatible model", `${at}.source`)
}

interface ToolResultParts {
  readonly text: string
  readonly images: ReadonlyArray<ChatContentPart>
}

const toolResultParts = (block: JsonObject, at: string): ToolResultParts => {
  const content = block.content
  const images: Array<ChatContentPart> = []
  let text: string
  if (typeof content === "string") text = content
  else if (Array.isArray(content)) {
    const texts: Array<string> = []
    content.forEach((part: unknown, k) => {
      if (!isRecord(part)) return
      if (part.type === "text" && typeof part.text === "string") texts.push(part.text)
      // A tool message holds text only, so a tool's images travel in the user message that follows the results.
      else if (part.type === "image") images.push(imagePart(part.source, `${at}.content[${k}]`))
    })
    text = texts.join("\n")
  } else text = ""
  if (block.is_error === true) text = text.length > 0 ? `Error: ${text}` : "Error"
  return { text, images }
}

const userMessages = (content: unknown, at: string): Array<ChatMessage> => {
  if (typeof content === "string") return [{ role: "user", content }]
  if (!Array.isArray(content)) {
    return failTranslation("expected a string or an array of content blocks", `${at}.content`)
  }
  const tools: Array<ChatMessage> = []
  const parts: Array<ChatContentPart> = []
  content.forEach((block: unknown, j) => {
    const here = `${at}.content[${j}]`
    if (!isRecord(block)) return failTranslation("expected a content block object", here)
    switch (block.type) {
      case "text":
        if (typeof block.text !== "string") return failTranslation("a text block needs 'text'", here)
        parts.push({ type: "text", text: block.text })
        return
      case "image":
        parts.push(imagePart(block.source, here))
        return
      case "document":
        parts.push(documentPart(block, here))
        return
      case "tool_result": {
        const id = stringOr(block.tool_use_id)
        if (id === undefined) return failTranslation("a tool_result needs 'tool_use_id'", here)
        const result = toolResultParts(block, here)
        tools.push({ role: "tool", tool_call_id: id, content: result.text })
        parts.push(...result.images)
        return
      }
      case "thinking":
      case "redacted_thinking":
        return
      default:
        return failTranslation(
          `content block type '${String(block.type)}' cannot be sent to an OpenAI-compatible model`,
          here
        )
    }
  })
  if (parts.length === 0) return tools
  const only = parts[0]!
  const user: ChatMessage = parts.length === 1 && only.type === "text"
    ? { role: "user", content: only.text }
    : { role: "user", content: parts }
  return [...tools, user]
}

const assistantMessage = (content: unknown, at: string): ChatMessage | undefined => {
  if (typeof content === "string") return content.length === 0 ? undefined : { role: "assistant", content }
  if (!Array.isArray(content)) {
    return failTranslation("expected a string or an array of content blocks", `${at}.content`)
  }
  const texts: Array<string> = []
  const calls: Array<ChatToolCall> = []
  content.forEach((block: unknown, j) => {
    const here = `${at}.content[${j}]`
    if (!isRecord(block)) return failTranslation("expected a content block object", here)
    if (block.type === "text" && typeof block.text === "string") texts.push(block.text)
    else if (block.type === "tool_use") {
      const id = stringOr(block.id)
      const name = stringOr(block.name)
      if (id === undefined || name === undefined) return failTranslation("a tool_use block needs 'id' and 'name'", here)
      calls.push({ id, type: "function", function: { name, arguments: JSON.stringify(block.input ?? {}) } })
    }
    // thinking, redacted_thinking and server-tool blocks have no Chat Completions counterpart and are dropped.
  })
  const text = texts.join("")
  if (calls.length === 0) return text.length === 0 ? undefined : { role: "assistant", content: text }
  return { role: "assistant", content: text.length === 0 ? null : text, tool_calls: calls }
}

const chatTools = (tools: unknown): Array<ChatTool> => {
  if (tools === undefined || tools === null) return []
  if (!Array.isArray(tools)) return failTranslation("expected an array", "tools")
  const out: Array<ChatTool> = []
  tools.forEach((tool: unknown, i) => {
    if (!isRecord(tool)) return failTranslation("expected a tool object", `tools[${i}]`)
    // Server tools (web_search, bash, …) run at Anthropic and have no input_schema; an OpenAI upstream cannot run them.
    if (!isRecord(tool.input_schema)) return
    const name = stringOr(tool.name)
    if (name === undefined) return failTranslation("a tool needs 'name'", `tools[${i}].name`)
    const description = stringOr(tool.description)
    out.push({
      type: "function",
      function: description === undefined
        ? { name, parameters: tool.input_schema }
        : { name, description, parameters: tool.input_schema }
    })
  })
  return out
}

const chatToolChoice = (choice: unknown): { choice?: ChatToolChoice; parallel?: false } => {
  if (choice === undefined || choice === null) return {}
  if (!isRecord(choice)) return failTranslation("expected an object", "tool_choice")
  const parallel = choice.disable_parallel_tool_use === true ? { parallel: false as const } : {}
  switch (choice.type) {
    case "auto":
      return { choice: "auto", ...parallel }
    case "any":
      return { choice: "required", ...parallel }
    case "none":
      return { choice: "none" }
    case "tool": {
      const name = stringOr(choice.name)
      if (name === undefined) return failTranslation("tool_choice of type 'tool' needs 'name'", "tool_choice.name")
      return { choice: { type: "function", function: { name } }, ...parallel }
    }
    default:
      return failTranslation(`unknown tool_choice type '${String(choice.type)}'`, "tool_choice.type")
  }
}

const translateRequest = (body: unknown, opts: ToChatRequestOptions): ChatRequest => {
  if (!isRecord(body)) return failTranslation("the request body must be a JSON object")
  if (!Array.isArray(body.messages)) return failTranslation("expected an array", "messages")
  const messages: Array<ChatMessage> = []
  const system = textOfBlocks(body.system, "system")
  if (system.length > 0) messages.push({ role: "system", content: system })
  body.messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`
    if (!isRecord(message)) return failTranslation("expected a message object", at)
    if (message.role === "user") messages.push(...userMessages(message.content, at))
    else if (message.role === "assistant") {
      const assistant = assistantMessage(message.content, at)
      if (assistant !== undefined) messages.push(assistant)
    } else return failTranslation(`unknown role '${String(message.role)}'`, `${at}.role`)
  })
  const out: Types.Mutable<ChatRequest> = { model: opts.model, messages }
  const maxTokens = numberOr(body.max_tokens)
  if (maxTokens !== undefined) {
    if (opts.maxTokensField === "max_tokens") out.max_tokens = maxTokens
    else out.max_completion_tokens = maxTokens
  }
  const temperature = numberOr(body.temperature)
  if (temperature !== undefined) out.temperature = temperature
  const topP = numberOr(body.top_p)
  if (topP !== undefined) out.top_p = topP
  if (body.stop_sequences !== undefined && body.stop_sequences !== null) {
    const stops = body.stop_sequences
    if (!Array.isArray(stops) || !stops.every((s) => typeof s === "string")) {
      return failTranslation("expected an array of strings", "stop_sequences")
    }
    if (stops.length > 0) out.stop = stops
  }
  const tools = chatTools(body.tools)
  if (tools.length > 0) {
    out.tools = tools
    const { choice, parallel } = chatToolChoice(body.tool_choice)
    if (choice !== undefined) out.tool_choice = choice
    if (parallel !== undefined) out.parallel_tool_calls = parallel
  }
  if (isRecord(body.metadata) && typeof body.metadata.user_id === "string") out.user = body.metadata.user_id
  const format = isRecord(body.output_config) ? body.output_config.format : undefined
  if (isRecord(format) && format.type === "json_schema" && isRecord(format.schema)) {
    out.response_format = { type: "json_schema", json_schema: { name: "response", schema: format.schema } }
  }
  const effort = opts.reasoningParams === true ? effortOfThinking(body.thinking) : undefined
  if (effort !== undefined) out.reasoning_effort = effort
  if (opts.stream) {
    out.stream = true
    out.stream_options = { include_usage: true }
  }
  return out
}

/**
 * An Anthropic Messages request → an OpenAI Chat Completions request for `opts.model`. `system` becomes one system
 * message; `tool_result` blocks become `tool` messages in order (before the rest of their user message, whose images
 * from tool results follow them); thinking blocks and server tools are dropped; `top_k` is dropped; `thinking`
 * becomes `reasoning_effort` (`effortOfThinking`); `output_config.format` becomes `response_format`.
 * Anything untranslatable is a `TranslationError`.
 */
export const toChatRequest = (
  msg: MessagesRequest,
  opts: ToChatRequestOptions
): Either.Either<ChatRequest, TranslationError> => guardTranslation(() => translateRequest(msg, opts))
