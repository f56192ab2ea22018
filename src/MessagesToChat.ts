import { Either } from "effect"
import type { Types } from "effect"
import { randomBytes } from "node:crypto"
import type { Transform } from "node:stream"
import type {
  ChatContentPart,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  ChatTool,
  ChatToolCall,
  ChatToolChoice
} from "./ChatToMessages.js"
import { anthropicError, parseUpstreamError, TranslationError } from "./ErrorTranslation.js"
import { SseParser, toTransform } from "./SseParser.js"
import type { SseFrame, SseTranslator } from "./SseParser.js"

// ---------------------------------------------------------------------------------------------------------------------
// Anthropic Messages wire types (the subset the gateway reads or writes)

/** `cache_control` of a block. */
export interface MessagesCacheControl {
  readonly type: "ephemeral"
  readonly ttl?: "5m" | "1h"
}

/** A text block. */
export interface MessagesTextBlock {
  readonly type: "text"
  readonly text: string
  readonly cache_control?: MessagesCacheControl
}

/** Where an image comes from. */
export type MessagesImageSource =
  | { readonly type: "base64"; readonly media_type: string; readonly data: string }
  | { readonly type: "url"; readonly url: string }

/** An image block. */
export interface MessagesImageBlock {
  readonly type: "image"
  readonly source: MessagesImageSource
  readonly cache_control?: MessagesCacheControl
}

/** A document (PDF or plain text) block. */
export interface MessagesDocumentBlock {
  readonly type: "document"
  readonly source:
    | { readonly type: "base64"; readonly media_type: "application/pdf"; readonly data: string }
    | { readonly type: "text"; readonly media_type: "text/plain"; readonly data: string }
    | { readonly type: "url"; readonly url: string }
  readonly title?: string
  readonly cache_control?: MessagesCacheControl
}

/** A tool call made by the assistant. */
export interface MessagesToolUseBlock {
  readonly type: "tool_use"
  readonly id: string
  readonly name: string
  readonly input: Readonly<Record<string, unknown>>
}

/** The result of a tool call, sent by the user. */
export interface MessagesToolResultBlock {
  readonly type: "tool_result"
  readonly tool_use_id: string
  readonly content?: string | ReadonlyArray<MessagesTextBlock | MessagesImageBlock>
  readonly is_error?: boolean
  readonly cache_control?: MessagesCacheControl
}

/** Extended thinking output. */
export interface MessagesThinkingBlock {
  readonly type: "thinking"
  readonly thinking: string
  readonly signature: string
}

/** Any content block the gateway reads or writes. */
export type MessagesContentBlock =
  | MessagesTextBlock
  | MessagesImageBlock
  | MessagesDocumentBlock
  | MessagesToolUseBlock
  | MessagesToolResultBlock
  | MessagesThinkingBlock

/** One message of a Messages request. */
export interface MessagesMessage {
  readonly role: "user" | "assistant"
  readonly content: string | ReadonlyArray<MessagesContentBlock>
}

/** A client tool. */
export interface MessagesTool {
  readonly name: string
  readonly description?: string
  readonly input_schema: Readonly<Record<string, unknown>>
}

/** `tool_choice` of a Messages request. */
export type MessagesToolChoice =
  | { readonly type: "auto" | "any"; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "tool"; readonly name: string; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "none" }

/** A `POST /v1/messages` body. */
export type MessagesRequest = {
  readonly model: string
  readonly messages: ReadonlyArray<MessagesMessage>
  readonly max_tokens: number
  readonly system?: string | ReadonlyArray<MessagesTextBlock>
  readonly stop_sequences?: ReadonlyArray<string>
  readonly temperature?: number
  readonly top_p?: number
  readonly top_k?: number
  readonly stream?: boolean
  readonly tools?: ReadonlyArray<MessagesTool>
  readonly tool_choice?: MessagesToolChoice
  readonly metadata?: { readonly user_id?: string }
  readonly output_config?: {
    readonly format?: { readonly type: "json_schema"; readonly schema: Readonly<Record<string, unknown>> }
  }
}

/** Why the model stopped. */
export type MessagesStopReason =
  | "end_turn"
  | "max_tokens"
  | "stop_sequence"
  | "tool_use"
  | "pause_turn"
  | "refusal"
  | "model_context_window_exceeded"

/** Token usage of a Messages response. */
export interface MessagesUsage {
  readonly input_tokens: number
  readonly output_tokens: number
  readonly cache_creation_input_tokens?: number | null
  readonly cache_read_input_tokens?: number | null
}

/** A non-streaming Messages response. */
export type MessagesResponse = {
  readonly id: string
  readonly type: "message"
  readonly role: "assistant"
  readonly model: string
  readonly content: ReadonlyArray<MessagesContentBlock>
  readonly stop_reason: MessagesStopReason | null
  readonly stop_sequence: string | null
  readonly usage: MessagesUsage
}

// ---------------------------------------------------------------------------------------------------------------------
// Narrowing helpers

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const stringOr = (value: unknown): string | undefined => typeof value === "string" ? value : undefined

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === "string" && value.length > 0 ? value : undefined

const present = (value: unknown): boolean => value !== undefined && value !== null

const numberOr = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined

const fail = (reason: string, param?: string): never => {
  throw param === undefined ? new TranslationError({ reason }) : new TranslationError({ reason, param })
}

const guard = <A>(translate: () => A): Either.Either<A, TranslationError> => {
  try {
    return Either.right(translate())
  } catch (error) {
    if (error instanceof TranslationError) return Either.left(error)
    return Either.left(new TranslationError({ reason: `Request could not be translated: ${String(error)}` }))
  }
}

const randomId = (prefix: string) => `${prefix}${randomBytes(12).toString("hex")}`

// ---------------------------------------------------------------------------------------------------------------------
// Request: Messages → Chat Completions

/** Options of `toChatRequest`. */
export interface ToChatRequestOptions {
  /** The upstream model id. */
  readonly model: string
  /** Stream the answer (adds `stream_options.include_usage`, so usage can be reported). */
  readonly stream: boolean
  /** Which field carries the token limit; older OpenAI-compatible servers only know `max_tokens`. */
  readonly maxTokensField?: "max_completion_tokens" | "max_tokens"
}

const textOfBlocks = (content: unknown, at: string): string => {
  if (typeof content === "string") return content
  if (content === undefined || content === null) return ""
  if (!Array.isArray(content)) return fail("expected a string or an array of text blocks", at)
  const texts: Array<string> = []
  for (const block of content) {
    if (isRecord(block) && block.type === "text" && typeof block.text === "string") texts.push(block.text)
  }
  return texts.join("\n")
}

const imagePart = (source: unknown, at: string): ChatContentPart => {
  if (!isRecord(source)) return fail("an image needs a 'source' object", `${at}.source`)
  if (source.type === "base64") {
    const mediaType = stringOr(source.media_type)
    const data = stringOr(source.data)
    if (mediaType === undefined || data === undefined) {
      return fail("a base64 image needs 'media_type' and 'data'", `${at}.source`)
    }
    return { type: "image_url", image_url: { url: `data:${mediaType};base64,${data}` } }
  }
  if (source.type === "url" && typeof source.url === "string") {
    return { type: "image_url", image_url: { url: source.url } }
  }
  return fail(`image source type '${String(source.type)}' cannot be sent to an OpenAI-compatible model`, `${at}.source`)
}

const documentPart = (block: Json, at: string): ChatContentPart => {
  const source = block.source
  if (isRecord(source) && source.type === "base64" && typeof source.data === "string") {
    const mediaType = stringOr(source.media_type) ?? "application/pdf"
    const filename = stringOr(block.title) ?? "document.pdf"
    return { type: "file", file: { filename, file_data: `data:${mediaType};base64,${source.data}` } }
  }
  if (isRecord(source) && source.type === "text" && typeof source.data === "string") {
    return { type: "text", text: source.data }
  }
  return fail("only base64 and text documents can be sent to an OpenAI-compatible model", `${at}.source`)
}

interface ToolResultParts {
  readonly text: string
  readonly images: ReadonlyArray<ChatContentPart>
}

const toolResultParts = (block: Json, at: string): ToolResultParts => {
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
  if (!Array.isArray(content)) return fail("expected a string or an array of content blocks", `${at}.content`)
  const tools: Array<ChatMessage> = []
  const parts: Array<ChatContentPart> = []
  content.forEach((block: unknown, j) => {
    const here = `${at}.content[${j}]`
    if (!isRecord(block)) return fail("expected a content block object", here)
    switch (block.type) {
      case "text":
        if (typeof block.text !== "string") return fail("a text block needs 'text'", here)
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
        if (id === undefined) return fail("a tool_result needs 'tool_use_id'", here)
        const result = toolResultParts(block, here)
        tools.push({ role: "tool", tool_call_id: id, content: result.text })
        parts.push(...result.images)
        return
      }
      case "thinking":
      case "redacted_thinking":
        return
      default:
        return fail(`content block type '${String(block.type)}' cannot be sent to an OpenAI-compatible model`, here)
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
  if (!Array.isArray(content)) return fail("expected a string or an array of content blocks", `${at}.content`)
  const texts: Array<string> = []
  const calls: Array<ChatToolCall> = []
  content.forEach((block: unknown, j) => {
    const here = `${at}.content[${j}]`
    if (!isRecord(block)) return fail("expected a content block object", here)
    if (block.type === "text" && typeof block.text === "string") texts.push(block.text)
    else if (block.type === "tool_use") {
      const id = stringOr(block.id)
      const name = stringOr(block.name)
      if (id === undefined || name === undefined) return fail("a tool_use block needs 'id' and 'name'", here)
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
  if (!Array.isArray(tools)) return fail("expected an array", "tools")
  const out: Array<ChatTool> = []
  tools.forEach((tool: unknown, i) => {
    if (!isRecord(tool)) return fail("expected a tool object", `tools[${i}]`)
    // Server tools (web_search, bash, …) run at Anthropic and have no input_schema; an OpenAI upstream cannot run them.
    if (!isRecord(tool.input_schema)) return
    const name = stringOr(tool.name)
    if (name === undefined) return fail("a tool needs 'name'", `tools[${i}].name`)
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
  if (!isRecord(choice)) return fail("expected an object", "tool_choice")
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
      if (name === undefined) return fail("tool_choice of type 'tool' needs 'name'", "tool_choice.name")
      return { choice: { type: "function", function: { name } }, ...parallel }
    }
    default:
      return fail(`unknown tool_choice type '${String(choice.type)}'`, "tool_choice.type")
  }
}

const translateRequest = (body: unknown, opts: ToChatRequestOptions): ChatRequest => {
  if (!isRecord(body)) return fail("the request body must be a JSON object")
  if (!Array.isArray(body.messages)) return fail("expected an array", "messages")
  const messages: Array<ChatMessage> = []
  const system = textOfBlocks(body.system, "system")
  if (system.length > 0) messages.push({ role: "system", content: system })
  body.messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`
    if (!isRecord(message)) return fail("expected a message object", at)
    if (message.role === "user") messages.push(...userMessages(message.content, at))
    else if (message.role === "assistant") {
      const assistant = assistantMessage(message.content, at)
      if (assistant !== undefined) messages.push(assistant)
    } else return fail(`unknown role '${String(message.role)}'`, `${at}.role`)
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
      return fail("expected an array of strings", "stop_sequences")
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
  if (opts.stream) {
    out.stream = true
    out.stream_options = { include_usage: true }
  }
  return out
}

/**
 * An Anthropic Messages request → an OpenAI Chat Completions request for `opts.model`. `system` becomes one system
 * message; `tool_result` blocks become `tool` messages in order (before the rest of their user message, whose images
 * from tool results follow them); thinking blocks and server tools are dropped; `top_k` and `thinking` are dropped;
 * `output_config.format` becomes `response_format`. Anything untranslatable is a `TranslationError`.
 */
export const toChatRequest = (
  msg: MessagesRequest,
  opts: ToChatRequestOptions
): Either.Either<ChatRequest, TranslationError> => guard(() => translateRequest(msg, opts))

// ---------------------------------------------------------------------------------------------------------------------
// Response: Chat Completions → Messages

const stopReasonOf = (finish: unknown, refused: boolean, usedTools: boolean): MessagesStopReason => {
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

interface UsageNumbers {
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

const usageNumbers = (usage: unknown): UsageNumbers => {
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
 * An OpenAI chat.completion → an Anthropic Message (first choice). `prompt_tokens` is split into `input_tokens`
 * (uncached) and `cache_read_input_tokens`; finish reasons map stop→end_turn, length→max_tokens,
 * tool_calls→tool_use, content_filter (or a refusal)→refusal. Tool arguments that are not a JSON object are kept
 * as `{"_invalid_arguments": raw}`. Never throws.
 */
export const fromChatResponse = (chat: ChatResponse, opts: FromChatResponseOptions = {}): MessagesResponse => {
  const body: unknown = chat
  const record: Json = isRecord(body) ? body : {}
  const choices = Array.isArray(record.choices) ? record.choices : []
  const choice: unknown = choices.find((c: unknown) => isRecord(c) && (c.index === 0 || c.index === undefined)) ??
    choices[0]
  const message: Json = isRecord(choice) && isRecord(choice.message) ? choice.message : {}
  const content: Array<MessagesContentBlock> = []
  let refused = false
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

// ---------------------------------------------------------------------------------------------------------------------
// Stream: Chat Completions chunks → Messages events

/** Options of `chatStreamToMessages`. */
export interface ChatStreamToMessagesOptions {
  /** Reported when the upstream chunks name no model. */
  readonly model?: string
  /** `input_tokens` of `message_start` (the upstream only reports prompt tokens at the end). */
  readonly inputTokensHint?: number
}

interface OpenBlock {
  readonly kind: "text" | "tool"
  readonly index: number
  readonly key?: string
}

interface ToolRecord {
  readonly id: string
  readonly fromUpstream: boolean
  readonly index: number
}

const event = (type: string, data: string) => `event: ${type}\ndata: ${data}\n\n`

class ChatToMessagesStream implements SseTranslator {
  private readonly parser = new SseParser()
  private out: Array<string> = []
  private started = false
  private done = false
  private sawData = false
  private id = ""
  private model = ""
  private nextIndex = 0
  private open: OpenBlock | undefined = undefined
  private readonly tools = new Map<string, ToolRecord>()
  private lastToolKey: string | undefined = undefined
  private usedTools = false
  private refused = false
  private finish: unknown = undefined
  private usage: UsageNumbers | undefined = undefined
  private outputChars = 0

  constructor(private readonly opts: ChatStreamToMessagesOptions) {}

  readonly push = (chunk: Buffer | Uint8Array | string): string => {
    for (const frame of this.parser.push(chunk)) this.frame(frame)
    return this.drain()
  }

  readonly end = (): string => {
    for (const frame of this.parser.end()) this.frame(frame)
    if (!this.done) {
      if (this.sawData) this.finishMessage()
      else this.error(502, "The provider's stream ended without sending any data")
    }
    return this.drain()
  }

  private drain(): string {
    if (this.out.length === 0) return ""
    const text = this.out.length === 1 ? this.out[0]! : this.out.join("")
    this.out = []
    return text
  }

  private frame(frame: SseFrame): void {
    if (this.done) return
    const data = frame.data.trim()
    if (data.length === 0) return
    this.sawData = true
    if (data === "[DONE]") return this.finishMessage()
    let chunk: unknown
    try {
      chunk = JSON.parse(data)
    } catch {
      // One malformed frame must not abort an otherwise good stream; a named error frame still ends it.
      if (frame.event === "error") this.emitError(anthropicError(500, parseUpstreamError(500, data)))
      return
    }
    if (!isRecord(chunk)) return
    if (frame.event === "error" || (present(chunk.error) && chunk.choices === undefined)) {
      const error = isRecord(chunk.error) ? chunk.error : {}
      const status = numberOr(error.status) ?? numberOr(error.code)
      const known = status !== undefined && status >= 400 && status < 600 ? status : 500
      return this.emitError(anthropicError(known, parseUpstreamError(known, data)))
    }
    const hasUsage = isRecord(chunk.usage)
    // Azure opens with a `choices: []` chunk of prompt filter results and empty id/model: nothing to say yet.
    if (!hasUsage && Array.isArray(chunk.choices) && chunk.choices.length === 0) return
    this.start(chunk)
    if (hasUsage) this.usage = usageNumbers(chunk.usage)
    if (!Array.isArray(chunk.choices)) return
    const choice: unknown = chunk.choices.find((c: unknown) => isRecord(c) && (c.index === 0 || c.index === undefined))
    if (!isRecord(choice)) return
    const delta = choice.delta
    if (isRecord(delta)) {
      if (typeof delta.content === "string" && delta.content.length > 0) this.text(delta.content)
      if (typeof delta.refusal === "string" && delta.refusal.length > 0) {
        this.refused = true
        this.text(delta.refusal)
      }
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) if (isRecord(call)) this.toolDelta(call)
      } else if (isRecord(delta.function_call)) this.toolDelta({ index: -1, function: delta.function_call })
    }
    if (typeof choice.finish_reason === "string") {
      this.finish = choice.finish_reason
      this.closeOpen()
    }
  }

  private start(chunk: Json): void {
    if (this.started) return
    this.started = true
    this.id = nonEmpty(chunk.id) ?? randomId("msg_")
    this.model = nonEmpty(chunk.model) ?? this.opts.model ?? "unknown"
    this.out.push(event(
      "message_start",
      JSON.stringify({
        type: "message_start",
        message: {
          id: this.id,
          type: "message",
          role: "assistant",
          model: this.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: this.opts.inputTokensHint ?? 0,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0
          }
        }
      })
    ))
  }

  private closeOpen(): void {
    if (this.open === undefined) return
    this.out.push(event("content_block_stop", `{"type":"content_block_stop","index":${this.open.index}}`))
    this.open = undefined
  }

  private text(text: string): void {
    if (this.open?.kind !== "text") {
      this.closeOpen()
      const index = this.nextIndex++
      this.open = { kind: "text", index }
      this.out.push(event(
        "content_block_start",
        `{"type":"content_block_start","index":${index},"content_block":{"type":"text","text":""}}`
      ))
    }
    this.outputChars += text.length
    this.out.push(event(
      "content_block_delta",
      `{"type":"content_block_delta","index":${this.open.index},"delta":{"type":"text_delta","text":${
        JSON.stringify(text)
      }}}`
    ))
  }

  private toolDelta(call: Json): void {
    const fn = isRecord(call.function) ? call.function : {}
    const upstreamId = stringOr(call.id)
    const key = typeof call.index === "number"
      ? `#${call.index}`
      : upstreamId !== undefined
      ? `id:${upstreamId}`
      : this.lastToolKey ?? "#0"
    let tool = this.tools.get(key)
    // A known index with a different id is a new call from a server that reuses indices.
    if (tool === undefined || (upstreamId !== undefined && tool.fromUpstream && tool.id !== upstreamId)) {
      this.closeOpen()
      const index = this.nextIndex++
      tool = { id: upstreamId ?? randomId("toolu_"), fromUpstream: upstreamId !== undefined, index }
      this.tools.set(key, tool)
      this.open = { kind: "tool", index, key }
      this.usedTools = true
      this.out.push(event(
        "content_block_start",
        JSON.stringify({
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: tool.id, name: stringOr(fn.name) ?? "", input: {} }
        })
      ))
    }
    this.lastToolKey = key
    const args = fn.arguments
    // Arguments for a call whose block is already closed cannot be delivered in Anthropic's grammar; they are dropped.
    if (typeof args !== "string" || args.length === 0 || this.open?.index !== tool.index) return
    this.outputChars += args.length
    this.out.push(event(
      "content_block_delta",
      `{"type":"content_block_delta","index":${tool.index},"delta":{"type":"input_json_delta","partial_json":${
        JSON.stringify(args)
      }}}`
    ))
  }

  private finishMessage(): void {
    if (this.done) return
    if (!this.started) this.start({})
    this.closeOpen()
    const usage: Types.Mutable<Partial<MessagesUsage>> = {}
    if (this.usage !== undefined) {
      usage.input_tokens = Math.max(0, this.usage.input - this.usage.cached)
      usage.cache_read_input_tokens = this.usage.cached
      usage.output_tokens = this.usage.output
    } else {
      // No usage from the upstream (it ignored include_usage): an estimate beats reporting zero.
      usage.output_tokens = Math.ceil(this.outputChars / 4)
    }
    this.out.push(event(
      "message_delta",
      JSON.stringify({
        type: "message_delta",
        delta: { stop_reason: stopReasonOf(this.finish, this.refused, this.usedTools), stop_sequence: null },
        usage
      })
    ))
    this.out.push(event("message_stop", `{"type":"message_stop"}`))
    this.done = true
  }

  private error(status: number, message: string): void {
    this.emitError(anthropicError(status, { shape: "other", message }))
  }

  private emitError(error: { readonly type: string; readonly message: string }): void {
    this.out.push(event("error", JSON.stringify({ type: "error", error })))
    this.done = true
  }
}

/** The translator behind `chatStreamToMessages`, without the Node stream (for callers that move chunks themselves). */
export const chatStreamTranslator = (opts: ChatStreamToMessagesOptions = {}): SseTranslator =>
  new ChatToMessagesStream(opts)

/**
 * OpenAI chat.completion.chunk SSE bytes in → an Anthropic Messages event stream out: `message_start`, then content
 * blocks (each started, delta'd and stopped before the next; indices 0,1,2… across text and tool_use), one
 * `message_delta` (stop_reason, usage) and one `message_stop`. An upstream error becomes `event: error` and ends the
 * stream. Malformed frames are skipped.
 */
export const chatStreamToMessages = (opts: ChatStreamToMessagesOptions = {}): Transform =>
  toTransform(chatStreamTranslator(opts))

