import { Either } from "effect"
import type { Types } from "effect"
import { randomBytes } from "node:crypto"
import type { Transform } from "node:stream"
import { openAIError, parseUpstreamError, statusForAnthropicType, TranslationError } from "./ErrorTranslation.js"
import type {
  MessagesCacheControl,
  MessagesContentBlock,
  MessagesImageBlock,
  MessagesMessage,
  MessagesRequest,
  MessagesResponse,
  MessagesTextBlock,
  MessagesTool,
  MessagesToolChoice
} from "./MessagesToChat.js"
import { SseParser, toTransform } from "./SseParser.js"
import type { SseFrame, SseTranslator } from "./SseParser.js"

// ---------------------------------------------------------------------------------------------------------------------
// OpenAI Chat Completions wire types (the subset the gateway reads or writes)

/** A text part. */
export interface ChatTextPart {
  readonly type: "text"
  readonly text: string
}

/** An image part: an http(s) URL or a `data:` URL. */
export interface ChatImagePart {
  readonly type: "image_url"
  readonly image_url: { readonly url: string; readonly detail?: "auto" | "low" | "high" }
}

/** A file part (a PDF as a `data:` URL in `file_data`, or an uploaded `file_id`). */
export interface ChatFilePart {
  readonly type: "file"
  readonly file: { readonly file_data?: string; readonly file_id?: string; readonly filename?: string }
}

/** A refusal part of an assistant message. */
export interface ChatRefusalPart {
  readonly type: "refusal"
  readonly refusal: string
}

/** Any content part the gateway reads or writes. */
export type ChatContentPart = ChatTextPart | ChatImagePart | ChatFilePart | ChatRefusalPart

/** A tool call of an assistant message. */
export interface ChatToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

/** One message of a Chat Completions request. */
export type ChatMessage =
  | {
    readonly role: "system" | "developer"
    readonly content: string | ReadonlyArray<ChatTextPart>
    readonly name?: string
  }
  | { readonly role: "user"; readonly content: string | ReadonlyArray<ChatContentPart>; readonly name?: string }
  | {
    readonly role: "assistant"
    readonly content?: string | ReadonlyArray<ChatTextPart | ChatRefusalPart> | null
    readonly refusal?: string | null
    readonly tool_calls?: ReadonlyArray<ChatToolCall>
    readonly function_call?: { readonly name: string; readonly arguments: string } | null
  }
  | { readonly role: "tool"; readonly content: string | ReadonlyArray<ChatTextPart>; readonly tool_call_id: string }
  | { readonly role: "function"; readonly name: string; readonly content: string | null }

/** A function tool. */
export interface ChatTool {
  readonly type: "function"
  readonly function: {
    readonly name: string
    readonly description?: string
    readonly parameters?: Readonly<Record<string, unknown>>
    readonly strict?: boolean | null
  }
}

/** `tool_choice` of a Chat Completions request. */
export type ChatToolChoice =
  | "none"
  | "auto"
  | "required"
  | { readonly type: "function"; readonly function: { readonly name: string } }

/** `response_format` of a Chat Completions request. */
export type ChatResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | {
    readonly type: "json_schema"
    readonly json_schema: {
      readonly name: string
      readonly description?: string
      readonly schema?: Readonly<Record<string, unknown>>
      readonly strict?: boolean | null
    }
  }

/** A `POST /v1/chat/completions` body. */
export type ChatRequest = {
  readonly model?: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly max_tokens?: number | null
  readonly max_completion_tokens?: number | null
  readonly temperature?: number | null
  readonly top_p?: number | null
  readonly n?: number | null
  readonly stop?: string | ReadonlyArray<string> | null
  readonly stream?: boolean | null
  readonly stream_options?: { readonly include_usage?: boolean } | null
  readonly tools?: ReadonlyArray<ChatTool>
  readonly tool_choice?: ChatToolChoice
  readonly parallel_tool_calls?: boolean
  readonly response_format?: ChatResponseFormat
  readonly user?: string
  readonly safety_identifier?: string
}

/** Why the model stopped. */
export type ChatFinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call"

/** Token usage of a chat completion. */
export interface ChatUsage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
  readonly prompt_tokens_details?: { readonly cached_tokens: number }
}

/** The assistant message of a chat completion. */
export interface ChatResponseMessage {
  readonly role: "assistant"
  readonly content: string | null
  readonly refusal: string | null
  readonly tool_calls?: ReadonlyArray<ChatToolCall>
}

/** A non-streaming chat completion. */
export type ChatResponse = {
  readonly id: string
  readonly object: "chat.completion"
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly message: ChatResponseMessage
    readonly logprobs: null
    readonly finish_reason: ChatFinishReason | null
  }>
  readonly usage?: ChatUsage
}

/** A tool-call fragment of a streamed delta. */
export interface ChatToolCallDelta {
  readonly index: number
  readonly id?: string
  readonly type?: "function"
  readonly function?: { readonly name?: string; readonly arguments?: string }
}

/** A chat.completion.chunk. */
export interface ChatCompletionChunk {
  readonly id: string
  readonly object: "chat.completion.chunk"
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly delta: {
      readonly role?: "assistant"
      readonly content?: string | null
      readonly refusal?: string | null
      readonly tool_calls?: ReadonlyArray<ChatToolCallDelta>
    }
    readonly logprobs?: null
    readonly finish_reason: ChatFinishReason | null
  }>
  readonly usage?: ChatUsage | null
}

// ---------------------------------------------------------------------------------------------------------------------
// Narrowing helpers

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const stringOr = (value: unknown): string | undefined => typeof value === "string" ? value : undefined

const numberOr = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined

const present = (value: unknown): boolean => value !== undefined && value !== null

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

const nowSeconds = () => Math.floor(Date.now() / 1000)

// ---------------------------------------------------------------------------------------------------------------------
// Request: Chat Completions → Messages

/** The `max_tokens` sent to Anthropic (where it is required) when the client set no limit. */
export const defaultMaxTokens = 4096

/** Options of `toMessagesRequest`. */
export interface ToMessagesRequestOptions {
  /** The upstream model id. */
  readonly model: string
  /** `max_tokens` when the request has neither `max_completion_tokens` nor `max_tokens` (default 4096). */
  readonly defaultMaxTokens?: number
  /**
   * How `response_format: json_schema` is expressed: as an instruction appended to `system` (default; every model
   * understands it), or as Anthropic's `output_config.format` (enforced, but only models with structured outputs
   * accept it).
   */
  readonly jsonSchema?: "instruction" | "output_config"
}

const imageMediaTypes = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"])

interface DataUrl {
  readonly mediaType: string
  readonly data: string
}

const parseDataUrl = (url: string, at: string): DataUrl => {
  // indexOf rather than a regex: data URLs are megabytes long.
  const comma = url.indexOf(",")
  if (comma < 0) return fail("a data: URL needs a ',' before its payload", at)
  const meta = url.slice(5, comma).split(";")
  if (!meta.includes("base64")) return fail("only base64 data: URLs can be translated", at)
  const mediaType = meta[0]!.toLowerCase()
  return { mediaType: mediaType === "image/jpg" ? "image/jpeg" : mediaType, data: url.slice(comma + 1) }
}

const cacheControlOf = (part: Json): { cache_control?: MessagesCacheControl } => {
  const control = part.cache_control
  if (!isRecord(control) || control.type !== "ephemeral") return {}
  const ttl = control.ttl
  return { cache_control: ttl === "5m" || ttl === "1h" ? { type: "ephemeral", ttl } : { type: "ephemeral" } }
}

const imageBlock = (part: Json, at: string): MessagesImageBlock => {
  const image = part.image_url
  const url = typeof image === "string" ? image : isRecord(image) ? stringOr(image.url) : undefined
  if (url === undefined) return fail("an image_url part needs 'image_url.url'", `${at}.image_url`)
  if (url.startsWith("data:")) {
    const { data, mediaType } = parseDataUrl(url, `${at}.image_url.url`)
    if (!imageMediaTypes.has(mediaType)) {
      return fail(`image type '${mediaType}' is not supported (jpeg, png, gif, webp are)`, `${at}.image_url.url`)
    }
    return { type: "image", source: { type: "base64", media_type: mediaType, data }, ...cacheControlOf(part) }
  }
  if (url.startsWith("https://") || url.startsWith("http://")) {
    return { type: "image", source: { type: "url", url }, ...cacheControlOf(part) }
  }
  return fail("an image URL must be http(s) or a base64 data: URL", `${at}.image_url.url`)
}

const fileBlock = (part: Json, at: string): MessagesContentBlock => {
  const file = isRecord(part.file) ? part.file : {}
  const fileData = stringOr(file.file_data)
  if (fileData === undefined) {
    return fail("only inline files (file.file_data) can be translated; uploaded file ids cannot", `${at}.file`)
  }
  const { data, mediaType } = fileData.startsWith("data:")
    ? parseDataUrl(fileData, `${at}.file.file_data`)
    : { data: fileData, mediaType: "application/pdf" }
  if (mediaType === "application/pdf") {
    const title = stringOr(file.filename)
    return {
      type: "document",
      source: { type: "base64", media_type: "application/pdf", data },
      ...(title === undefined ? {} : { title }),
      ...cacheControlOf(part)
    }
  }
  if (mediaType === "text/plain") {
    const text = Buffer.from(data, "base64").toString("utf8")
    return { type: "document", source: { type: "text", media_type: "text/plain", data: text } }
  }
  return fail(`file type '${mediaType}' is not supported (application/pdf and text/plain are)`, `${at}.file`)
}

const textBlocks = (content: unknown, at: string, allowRefusal: boolean): Array<MessagesTextBlock> => {
  if (typeof content === "string") return content.length === 0 ? [] : [{ type: "text", text: content }]
  if (!present(content)) return []
  if (!Array.isArray(content)) return fail("expected a string or an array of content parts", at)
  const blocks: Array<MessagesTextBlock> = []
  content.forEach((part: unknown, k) => {
    if (!isRecord(part)) return fail("expected a content part object", `${at}[${k}]`)
    const text = part.type === "text"
      ? stringOr(part.text)
      : part.type === "refusal" && allowRefusal
      ? stringOr(part.refusal)
      : fail(`a '${String(part.type)}' part is not allowed here`, `${at}[${k}].type`)
    if (text === undefined) return fail("a text part needs 'text'", `${at}[${k}]`)
    // Anthropic rejects empty text blocks.
    if (text.length > 0) blocks.push({ type: "text", text, ...cacheControlOf(part) })
  })
  return blocks
}

const userBlocks = (content: unknown, at: string): Array<MessagesContentBlock> => {
  if (typeof content === "string") return [{ type: "text", text: content }]
  if (!Array.isArray(content)) return fail("expected a string or an array of content parts", at)
  const blocks: Array<MessagesContentBlock> = []
  content.forEach((part: unknown, k) => {
    const here = `${at}[${k}]`
    if (!isRecord(part)) return fail("expected a content part object", here)
    switch (part.type) {
      case "text": {
        const text = stringOr(part.text)
        if (text === undefined) return fail("a text part needs 'text'", here)
        if (text.length > 0) blocks.push({ type: "text", text, ...cacheControlOf(part) })
        return
      }
      case "image_url":
        blocks.push(imageBlock(part, here))
        return
      case "file":
        blocks.push(fileBlock(part, here))
        return
      case "input_audio":
        return fail("audio input cannot be sent to an Anthropic model", here)
      default:
        return fail(`content part type '${String(part.type)}' is not supported`, `${here}.type`)
    }
  })
  return blocks
}

const parseToolInput = (raw: unknown, at: string): Record<string, unknown> => {
  if (isRecord(raw)) return raw
  if (raw === undefined || raw === null) return {}
  if (typeof raw !== "string") return fail("tool call arguments must be a JSON string", at)
  if (raw.trim().length === 0) return {}
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (error) {
    return fail(`tool call arguments are not valid JSON: ${error instanceof Error ? error.message : "parse error"}`, at)
  }
  return isRecord(value) ? value : fail("tool call arguments must be a JSON object", at)
}

const toolResult = (id: string, content: unknown, at: string): MessagesContentBlock => {
  if (typeof content === "string") {
    return content.length === 0
      ? { type: "tool_result", tool_use_id: id }
      : { type: "tool_result", tool_use_id: id, content }
  }
  const blocks = textBlocks(content, at, false)
  return blocks.length === 0
    ? { type: "tool_result", tool_use_id: id }
    : { type: "tool_result", tool_use_id: id, content: blocks }
}

const instructionFor = (format: unknown): string | undefined => {
  if (!present(format)) return undefined
  if (!isRecord(format)) return fail("expected an object", "response_format")
  switch (format.type) {
    case "text":
      return undefined
    case "json_object":
      return "Respond with a single valid JSON object and nothing else: no prose, no code fences."
    case "json_schema": {
      const spec = isRecord(format.json_schema) ? format.json_schema : {}
      const name = stringOr(spec.name) ?? "response"
      const description = stringOr(spec.description)
      const schema = isRecord(spec.schema) ? JSON.stringify(spec.schema) : "{}"
      return `Respond with a single JSON value and nothing else (no prose, no code fences) that conforms to the JSON ` +
        `Schema "${name}"${description === undefined ? "" : ` (${description})`}: ${schema}`
    }
    default:
      return fail(`unknown response_format type '${String(format.type)}'`, "response_format.type")
  }
}

const messagesTools = (tools: unknown): Array<MessagesTool> => {
  if (!present(tools)) return []
  if (!Array.isArray(tools)) return fail("expected an array", "tools")
  return tools.map((tool: unknown, i): MessagesTool => {
    const at = `tools[${i}]`
    if (!isRecord(tool)) return fail("expected a tool object", at)
    if (tool.type !== "function" || !isRecord(tool.function)) {
      return fail(`tool type '${String(tool.type)}' is not supported (function is)`, `${at}.type`)
    }
    const name = stringOr(tool.function.name)
    if (name === undefined) return fail("a function tool needs 'name'", `${at}.function.name`)
    const description = stringOr(tool.function.description)
    const parameters = tool.function.parameters
    const schema: Record<string, unknown> = isRecord(parameters)
      ? "type" in parameters ? parameters : { type: "object", ...parameters }
      : { type: "object", properties: {} }
    return description === undefined
      ? { name, input_schema: schema }
      : { name, description, input_schema: schema }
  })
}

const messagesToolChoice = (choice: unknown, parallel: unknown): MessagesToolChoice | undefined => {
  const disable = parallel === false ? { disable_parallel_tool_use: true } : {}
  if (!present(choice)) return parallel === false ? { type: "auto", disable_parallel_tool_use: true } : undefined
  if (choice === "auto") return { type: "auto", ...disable }
  if (choice === "required") return { type: "any", ...disable }
  if (choice === "none") return { type: "none" }
  if (isRecord(choice) && choice.type === "function" && isRecord(choice.function)) {
    const name = stringOr(choice.function.name)
    if (name === undefined) return fail("a function tool_choice needs 'function.name'", "tool_choice.function.name")
    return { type: "tool", name, ...disable }
  }
  return fail("expected 'none', 'auto', 'required' or {type:'function', function:{name}}", "tool_choice")
}

interface Turn {
  readonly role: "user" | "assistant"
  readonly content: Array<MessagesContentBlock>
}

const translateRequest = (body: unknown, opts: ToMessagesRequestOptions): MessagesRequest => {
  if (!isRecord(body)) return fail("the request body must be a JSON object")
  if (!Array.isArray(body.messages)) return fail("expected an array", "messages")
  const system: Array<MessagesTextBlock> = []
  const turns: Array<Turn> = []
  // Legacy `function` messages name their call; remember the id given to each name's latest call.
  const legacyIds = new Map<string, string>()
  const add = (role: Turn["role"], blocks: Array<MessagesContentBlock>) => {
    if (blocks.length === 0) return
    const last = turns[turns.length - 1]
    // Anthropic merges consecutive same-role turns anyway; merging here keeps tool results in one user turn.
    if (last !== undefined && last.role === role) last.content.push(...blocks)
    else turns.push({ role, content: blocks })
  }
  body.messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`
    if (!isRecord(message)) return fail("expected a message object", at)
    switch (message.role) {
      case "system":
      case "developer": {
        const blocks = textBlocks(message.content, `${at}.content`, false)
        if (blocks.length > 0) system.push(...blocks)
        return
      }
      case "user":
        return add("user", userBlocks(message.content, `${at}.content`))
      case "assistant": {
        const blocks: Array<MessagesContentBlock> = textBlocks(message.content, `${at}.content`, true)
        if (blocks.length === 0 && typeof message.refusal === "string" && message.refusal.length > 0) {
          blocks.push({ type: "text", text: message.refusal })
        }
        if (present(message.tool_calls)) {
          if (!Array.isArray(message.tool_calls)) return fail("expected an array", `${at}.tool_calls`)
          message.tool_calls.forEach((call: unknown, j) => {
            const here = `${at}.tool_calls[${j}]`
            if (!isRecord(call) || !isRecord(call.function)) return fail("expected a function tool call", here)
            const id = stringOr(call.id)
            const name = stringOr(call.function.name)
            if (id === undefined || name === undefined) return fail("a tool call needs 'id' and 'function.name'", here)
            blocks.push({
              type: "tool_use",
              id,
              name,
              input: parseToolInput(call.function.arguments, `${here}.function.arguments`)
            })
          })
        } else if (isRecord(message.function_call)) {
          const name = stringOr(message.function_call.name)
          if (name === undefined) return fail("a function_call needs 'name'", `${at}.function_call.name`)
          const id = `toolu_legacy_${i}`
          legacyIds.set(name, id)
          blocks.push({
            type: "tool_use",
            id,
            name,
            input: parseToolInput(message.function_call.arguments, `${at}.function_call.arguments`)
          })
        }
        return add("assistant", blocks)
      }
      case "tool": {
        const id = stringOr(message.tool_call_id)
        if (id === undefined) return fail("a tool message needs 'tool_call_id'", `${at}.tool_call_id`)
        return add("user", [toolResult(id, message.content, `${at}.content`)])
      }
      case "function": {
        const name = stringOr(message.name)
        const id = name === undefined ? undefined : legacyIds.get(name)
        if (id === undefined) return fail("a function message must follow an assistant function_call", `${at}.name`)
        return add("user", [toolResult(id, message.content, `${at}.content`)])
      }
      default:
        return fail(`unknown role '${String(message.role)}'`, `${at}.role`)
    }
  })

  const n = numberOr(body.n)
  if (n !== undefined && n > 1) return fail("n > 1 is not supported by Anthropic models", "n")
  if (present(body.audio)) return fail("audio output is not supported by Anthropic models", "audio")

  const maxField = present(body.max_completion_tokens) ? "max_completion_tokens" : "max_tokens"
  const maxRaw = body[maxField]
  let maxTokens = opts.defaultMaxTokens ?? defaultMaxTokens
  if (present(maxRaw)) {
    if (typeof maxRaw !== "number" || !Number.isInteger(maxRaw) || maxRaw < 1) {
      return fail("expected a positive integer", maxField)
    }
    maxTokens = maxRaw
  }

  const format = body.response_format
  const nativeSchema = opts.jsonSchema === "output_config" && isRecord(format) && format.type === "json_schema" &&
    isRecord(format.json_schema) && isRecord(format.json_schema.schema)
    ? format.json_schema.schema
    : undefined
  const instruction = nativeSchema === undefined ? instructionFor(format) : undefined
  if (instruction !== undefined) system.push({ type: "text", text: instruction })

  const out: Types.Mutable<MessagesRequest> = {
    model: opts.model,
    messages: turns.map((turn): MessagesMessage => {
      const only = turn.content[0]
      return turn.content.length === 1 && only!.type === "text" && only.cache_control === undefined
        ? { role: turn.role, content: only.text }
        : turn
    }),
    max_tokens: maxTokens
  }
  if (system.length > 0) {
    out.system = system.some((block) => block.cache_control !== undefined)
      ? system
      : system.map((block) => block.text).join("\n\n")
  }
  if (nativeSchema !== undefined) out.output_config = { format: { type: "json_schema", schema: nativeSchema } }

  const stop = body.stop
  if (typeof stop === "string") out.stop_sequences = [stop]
  else if (Array.isArray(stop)) {
    if (!stop.every((s) => typeof s === "string")) return fail("expected a string or an array of strings", "stop")
    if (stop.length > 0) out.stop_sequences = stop
  } else if (present(stop)) return fail("expected a string or an array of strings", "stop")

  const temperature = body.temperature
  if (present(temperature)) {
    if (typeof temperature !== "number") return fail("expected a number", "temperature")
    // OpenAI's range is 0–2, Anthropic's 0–1.
    out.temperature = Math.min(1, Math.max(0, temperature))
  }
  const topP = body.top_p
  if (present(topP)) {
    if (typeof topP !== "number") return fail("expected a number", "top_p")
    // Recent Claude models reject temperature and top_p together; temperature is the one clients mean.
    if (out.temperature === undefined) out.top_p = topP
  }

  const tools = messagesTools(body.tools)
  if (tools.length > 0) {
    out.tools = tools
    const choice = messagesToolChoice(body.tool_choice, body.parallel_tool_calls)
    if (choice !== undefined) out.tool_choice = choice
  }
  if (body.stream === true) out.stream = true
  const user = stringOr(body.user) ?? stringOr(body.safety_identifier)
  if (user !== undefined && user.length > 0) out.metadata = { user_id: user }
  return out
}

/**
 * An OpenAI Chat Completions request → an Anthropic Messages request for `opts.model`. Every system and developer
 * message (in order, wherever it appears) is joined into `system` with blank lines; consecutive `tool` messages form
 * one user turn of `tool_result` blocks; `max_tokens` defaults to 4096; `temperature` is clamped to 0–1 and `top_p`
 * is dropped when `temperature` is set; `response_format` json_object/json_schema becomes a system instruction (or
 * `output_config.format`, see `jsonSchema`); `frequency_penalty`, `presence_penalty`, `seed`, `logprobs`,
 * `logit_bias` and `reasoning_effort` are dropped. Anything untranslatable (invalid tool-call JSON, audio, n > 1,
 * uploaded file ids) is a `TranslationError`.
 */
export const toMessagesRequest = (
  chat: ChatRequest,
  opts: ToMessagesRequestOptions
): Either.Either<MessagesRequest, TranslationError> => guard(() => translateRequest(chat, opts))

// ---------------------------------------------------------------------------------------------------------------------
// Response: Messages → Chat Completions

const finishReasonOf = (stopReason: unknown, usedTools: boolean): ChatFinishReason => {
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

interface TokenCounts {
  input: number
  output: number
  cacheRead: number
  cacheCreation: number
}

const readUsage = (usage: unknown, into: TokenCounts): void => {
  if (!isRecord(usage)) return
  into.input = numberOr(usage.input_tokens) ?? into.input
  into.output = numberOr(usage.output_tokens) ?? into.output
  into.cacheRead = numberOr(usage.cache_read_input_tokens) ?? into.cacheRead
  into.cacheCreation = numberOr(usage.cache_creation_input_tokens) ?? into.cacheCreation
}

const chatUsage = (counts: TokenCounts): ChatUsage => {
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
 * `tool_calls`, thinking and server-tool blocks dropped; stop reasons end_turn/stop_sequence/pause_turn→stop,
 * max_tokens→length, tool_use→tool_calls, refusal→content_filter; `prompt_tokens` = input + cache read + cache
 * creation, `cached_tokens` = cache read. Never throws.
 */
export const fromMessagesResponse = (msg: MessagesResponse, opts: FromMessagesResponseOptions = {}): ChatResponse => {
  const body: unknown = msg
  const record: Json = isRecord(body) ? body : {}
  const texts: Array<string> = []
  const calls: Array<ChatToolCall> = []
  if (Array.isArray(record.content)) {
    for (const block of record.content) {
      if (!isRecord(block)) continue
      if (block.type === "text" && typeof block.text === "string") texts.push(block.text)
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
  const message: ChatResponseMessage = calls.length > 0
    ? { role: "assistant", content: text.length > 0 ? text : null, refusal: null, tool_calls: calls }
    : { role: "assistant", content: text, refusal: null }
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

// ---------------------------------------------------------------------------------------------------------------------
// Stream: Messages events → Chat Completions chunks

/** Options of `messagesStreamToChat`. */
export interface MessagesStreamToChatOptions {
  /** Emit the final usage chunk (`choices: []`), as `stream_options.include_usage` asks. */
  readonly includeUsage: boolean
  /** Reported when the upstream names no model. */
  readonly model?: string
  /** `created` (Unix seconds) of every chunk; defaults to now. */
  readonly created?: number
}

type BlockKind = { readonly kind: "text" } | { readonly kind: "tool"; readonly ordinal: number } | {
  readonly kind: "other"
}

class MessagesToChatStream implements SseTranslator {
  private readonly parser = new SseParser()
  private out: Array<string> = []
  private started = false
  private done = false
  private sawData = false
  private id = ""
  private model = ""
  private created: number
  private prefix = ""
  private suffix = ""
  private readonly blocks = new Map<number, BlockKind>()
  private toolCount = 0
  private stopReason: unknown = undefined
  private readonly counts: TokenCounts = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 }

  constructor(private readonly opts: MessagesStreamToChatOptions) {
    this.created = opts.created ?? 0
  }

  readonly push = (chunk: Buffer | Uint8Array | string): string => {
    for (const frame of this.parser.push(chunk)) this.frame(frame)
    return this.drain()
  }

  readonly end = (): string => {
    for (const frame of this.parser.end()) this.frame(frame)
    if (!this.done) {
      if (this.sawData) this.finish()
      else this.emitError(502, { shape: "other", message: "The provider's stream ended without sending any data" })
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
    if (frame.data.length === 0) return
    this.sawData = true
    let event: unknown
    try {
      event = JSON.parse(frame.data)
    } catch {
      // One malformed frame must not abort an otherwise good stream; a named error frame still ends it.
      if (frame.event === "error") this.emitError(500, parseUpstreamError(500, frame.data))
      return
    }
    if (!isRecord(event)) return
    const type = stringOr(event.type) ?? frame.event
    switch (type) {
      case "message_start": {
        const message = isRecord(event.message) ? event.message : {}
        if (!this.started) {
          this.id = stringOr(message.id) ?? ""
          this.model = stringOr(message.model) ?? ""
        }
        readUsage(message.usage, this.counts)
        return this.start()
      }
      case "content_block_start":
        return this.blockStart(event)
      case "content_block_delta":
        return this.blockDelta(event)
      case "message_delta":
        if (isRecord(event.delta) && typeof event.delta.stop_reason === "string") {
          this.stopReason = event.delta.stop_reason
        }
        return readUsage(event.usage, this.counts)
      case "message_stop":
        return this.finish()
      case "error": {
        const error = isRecord(event.error) ? event.error : {}
        const status = statusForAnthropicType(stringOr(error.type))
        return this.emitError(status, parseUpstreamError(status, frame.data))
      }
      default:
        // ping, content_block_stop and event types added later carry nothing an OpenAI client can use.
        return
    }
  }

  private start(): void {
    if (this.started) return
    this.started = true
    if (this.id.length === 0) this.id = randomId("chatcmpl-")
    if (this.model.length === 0) this.model = this.opts.model ?? "unknown"
    if (this.opts.created === undefined) this.created = nowSeconds()
    this.prefix = `{"id":${JSON.stringify(this.id)},"object":"chat.completion.chunk","created":${this.created},` +
      `"model":${JSON.stringify(this.model)},"choices":[{"index":0,"delta":`
    this.suffix = this.opts.includeUsage ? `,"usage":null}` : "}"
    this.chunk(`{"role":"assistant","content":""}`)
  }

  private chunk(delta: string, finishReason?: ChatFinishReason): void {
    const finish = finishReason === undefined ? "null" : `"${finishReason}"`
    this.out.push(`data: ${this.prefix}${delta},"logprobs":null,"finish_reason":${finish}}]${this.suffix}\n\n`)
  }

  private blockStart(event: Json): void {
    const index = numberOr(event.index)
    const block = isRecord(event.content_block) ? event.content_block : {}
    if (index === undefined) return
    this.start()
    if (block.type === "text") {
      this.blocks.set(index, { kind: "text" })
      if (typeof block.text === "string" && block.text.length > 0) {
        this.chunk(`{"content":${JSON.stringify(block.text)}}`)
      }
    } else if (block.type === "tool_use") {
      const ordinal = this.toolCount++
      this.blocks.set(index, { kind: "tool", ordinal })
      const id = stringOr(block.id) ?? randomId("call_")
      const name = stringOr(block.name) ?? ""
      const input = isRecord(block.input) && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : ""
      this.chunk(JSON.stringify({
        tool_calls: [{ index: ordinal, id, type: "function", function: { name, arguments: input } }]
      }))
    } else {
      // thinking, redacted_thinking, server_tool_use and server results: the client did not ask for them.
      this.blocks.set(index, { kind: "other" })
    }
  }

  private blockDelta(event: Json): void {
    const index = numberOr(event.index)
    const delta = isRecord(event.delta) ? event.delta : {}
    if (index === undefined) return
    const block = this.blocks.get(index) ?? (delta.type === "text_delta" ? { kind: "text" as const } : undefined)
    if (block === undefined) return
    if (block.kind === "text" && delta.type === "text_delta" && typeof delta.text === "string") {
      if (delta.text.length === 0) return
      this.start()
      this.chunk(`{"content":${JSON.stringify(delta.text)}}`)
    } else if (block.kind === "tool" && delta.type === "input_json_delta" && typeof delta.partial_json === "string") {
      if (delta.partial_json.length === 0) return
      const args = JSON.stringify(delta.partial_json)
      this.chunk(`{"tool_calls":[{"index":${block.ordinal},"function":{"arguments":${args}}}]}`)
    }
  }

  private finish(): void {
    if (this.done) return
    this.start()
    this.chunk("{}", finishReasonOf(this.stopReason, this.toolCount > 0))
    if (this.opts.includeUsage) {
      this.out.push(`data: ${
        JSON.stringify({
          id: this.id,
          object: "chat.completion.chunk",
          created: this.created,
          model: this.model,
          choices: [],
          usage: chatUsage(this.counts)
        })
      }\n\n`)
    }
    this.out.push("data: [DONE]\n\n")
    this.done = true
  }

  private emitError(status: number, info: Parameters<typeof openAIError>[1]): void {
    this.out.push(`data: ${JSON.stringify({ error: openAIError(status, info) })}\n\n`, "data: [DONE]\n\n")
    this.done = true
  }
}

/** The translator behind `messagesStreamToChat`, without the Node stream (for callers that move chunks themselves). */
export const messagesStreamTranslator = (opts: MessagesStreamToChatOptions): SseTranslator =>
  new MessagesToChatStream(opts)

/**
 * Anthropic Messages SSE bytes in → OpenAI `chat.completion.chunk` SSE bytes out, ending with `data: [DONE]`. The
 * first chunk carries the role; tool calls are numbered 0,1,2… in order of their tool_use blocks (independent of
 * text blocks); the finish chunk follows the last content; with `includeUsage` a usage chunk (`choices: []`) precedes
 * `[DONE]`. An upstream `error` event becomes `data: {"error":{…}}` then `[DONE]`. Malformed frames are skipped; a
 * stream that ends without `message_stop` still ends well-formed.
 */
export const messagesStreamToChat = (opts: MessagesStreamToChatOptions): Transform =>
  toTransform(messagesStreamTranslator(opts))
