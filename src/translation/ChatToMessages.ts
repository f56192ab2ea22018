import * as Either from "effect/Either"
import type * as Types from "effect/Types"
import type {
  MessagesCacheControl,
  MessagesContentBlock,
  MessagesImageBlock,
  MessagesMessage,
  MessagesRequest,
  MessagesTextBlock,
  MessagesTool,
  MessagesToolChoice
} from "./AnthropicWire.js"
import { failTranslation, guardTranslation, TranslationError } from "./ErrorTranslation.js"
import { isRecord, numberOr, present, stringOr } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"
import type { ChatRequest } from "./OpenAiWire.js"
import { signedThinking, thinkingOfEffort } from "./Reasoning.js"

/** The `max_tokens` sent to Anthropic (where it is required) when the client set no limit. */
export const defaultMaxTokens = 4096

/** Options of `toMessagesRequest`. */
export interface ToMessagesRequestOptions {
  /** The upstream model id. */
  readonly model: string
  /**
   * Map `reasoning_effort` to `thinking` (default false: a routed request may land on a model without extended
   * thinking, which rejects it, so the setting is dropped unless the caller knows the target thinks).
   */
  readonly reasoningParams?: boolean | undefined
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
  if (comma < 0) return failTranslation("a data: URL needs a ',' before its payload", at)
  const meta = url.slice(5, comma).split(";")
  if (!meta.includes("base64")) return failTranslation("only base64 data: URLs can be translated", at)
  const mediaType = meta[0]!.toLowerCase()
  return { mediaType: mediaType === "image/jpg" ? "image/jpeg" : mediaType, data: url.slice(comma + 1) }
}

const cacheControlOf = (part: JsonObject): { cache_control?: MessagesCacheControl } => {
  const control = part.cache_control
  if (!isRecord(control) || control.type !== "ephemeral") return {}
  const ttl = control.ttl
  return { cache_control: ttl === "5m" || ttl === "1h" ? { type: "ephemeral", ttl } : { type: "ephemeral" } }
}

const imageBlock = (part: JsonObject, at: string): MessagesImageBlock => {
  const image = part.image_url
  const url = typeof image === "string" ? image : isRecord(image) ? stringOr(image.url) : undefined
  if (url === undefined) return failTranslation("an image_url part needs 'image_url.url'", `${at}.image_url`)
  if (url.startsWith("data:")) {
    const { data, mediaType } = parseDataUrl(url, `${at}.image_url.url`)
    if (!imageMediaTypes.has(mediaType)) {
      return failTranslation(
        `image type '${mediaType}' is not supported (jpeg, png, gif, webp are)`,
        `${at}.image_url.url`
      )
    }
    return { type: "image", source: { type: "base64", media_type: mediaType, data }, ...cacheControlOf(part) }
  }
  if (url.startsWith("https://") || url.startsWith("http://")) {
    return { type: "image", source: { type: "url", url }, ...cacheControlOf(part) }
  }
  return failTranslation("an image URL must be http(s) or a base64 data: URL", `${at}.image_url.url`)
}

const fileBlock = (part: JsonObject, at: string): MessagesContentBlock => {
  const file = isRecord(part.file) ? part.file : {}
  const fileData = stringOr(file.file_data)
  if (fileData === undefined) {
    return failTranslation(
      "only inline files (file.file_data) can be translated; uploaded file ids cannot",
      `${at}.file`
    )
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
  return failTranslation(`file type '${mediaType}' is not supported (application/pdf and text/plain are)`, `${at}.file`)
}

const textBlocks = (content: unknown, at: string, allowRefusal: boolean): Array<MessagesTextBlock> => {
  if (typeof content === "string") return content.length === 0 ? [] : [{ type: "text", text: content }]
  if (!present(content)) return []
  if (!Array.isArray(content)) return failTranslation("expected a string or an array of content parts", at)
  const blocks: Array<MessagesTextBlock> = []
  content.forEach((part: unknown, k) => {
    if (!isRecord(part)) return failTranslation("expected a content part object", `${at}[${k}]`)
    const text = part.type === "text"
      ? stringOr(part.text)
      : part.type === "refusal" && allowRefusal
      ? stringOr(part.refusal)
      : failTranslation(`a '${String(part.type)}' part is not allowed here`, `${at}[${k}].type`)
    if (text === undefined) return failTranslation("a text part needs 'text'", `${at}[${k}]`)
    // Anthropic rejects empty text blocks.
    if (text.length > 0) blocks.push({ type: "text", text, ...cacheControlOf(part) })
  })
  return blocks
}

const userBlocks = (content: unknown, at: string): Array<MessagesContentBlock> => {
  if (typeof content === "string") return [{ type: "text", text: content }]
  if (!Array.isArray(content)) return failTranslation("expected a string or an array of content parts", at)
  const blocks: Array<MessagesContentBlock> = []
  content.forEach((part: unknown, k) => {
    const here = `${at}[${k}]`
    if (!isRecord(part)) return failTranslation("expected a content part object", here)
    switch (part.type) {
      case "text": {
        const text = stringOr(part.text)
        if (text === undefined) return failTranslation("a text part needs 'text'", here)
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
        return failTranslation("audio input cannot be sent to an Anthropic model", here)
      default:
        return failTranslation(`content part type '${String(part.type)}' is not supported`, `${here}.type`)
    }
  })
  return blocks
}

const parseToolInput = (raw: unknown, at: string): Record<string, unknown> => {
  if (isRecord(raw)) return raw
  if (raw === undefined || raw === null) return {}
  if (typeof raw !== "string") return failTranslation("tool call arguments must be a JSON string", at)
  if (raw.trim().length === 0) return {}
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch (error) {
    return failTranslation(
      `tool call arguments are not valid JSON: ${error instanceof Error ? error.message : "parse error"}`,
      at
    )
  }
  return isRecord(value) ? value : failTranslation("tool call arguments must be a JSON object", at)
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
  if (!isRecord(format)) return failTranslation("expected an object", "response_format")
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
      return failTranslation(`unknown response_format type '${String(format.type)}'`, "response_format.type")
  }
}

const messagesTools = (tools: unknown): Array<MessagesTool> => {
  if (!present(tools)) return []
  if (!Array.isArray(tools)) return failTranslation("expected an array", "tools")
  return tools.map((tool: unknown, i): MessagesTool => {
    const at = `tools[${i}]`
    if (!isRecord(tool)) return failTranslation("expected a tool object", at)
    if (tool.type !== "function" || !isRecord(tool.function)) {
      return failTranslation(`tool type '${String(tool.type)}' is not supported (function is)`, `${at}.type`)
    }
    const name = stringOr(tool.function.name)
    if (name === undefined) return failTranslation("a function tool needs 'name'", `${at}.function.name`)
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
    if (name === undefined) {
      return failTranslation("a function tool_choice needs 'function.name'", "tool_choice.function.name")
    }
    return { type: "tool", name, ...disable }
  }
  return failTranslation("expected 'none', 'auto', 'required' or {type:'function', function:{name}}", "tool_choice")
}

interface Turn {
  readonly role: "user" | "assistant"
  readonly content: Array<MessagesContentBlock>
}

const translateRequest = (body: unknown, opts: ToMessagesRequestOptions): MessagesRequest => {
  if (!isRecord(body)) return failTranslation("the request body must be a JSON object")
  if (!Array.isArray(body.messages)) return failTranslation("expected an array", "messages")
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
    if (!isRecord(message)) return failTranslation("expected a message object", at)
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
        // Anthropic rejects unsigned thinking in a history: without a signature the reasoning is dropped.
        const signed = signedThinking(message)
        if (signed !== undefined) blocks.unshift(signed)
        if (blocks.length === 0 && typeof message.refusal === "string" && message.refusal.length > 0) {
          blocks.push({ type: "text", text: message.refusal })
        }
        if (present(message.tool_calls)) {
          if (!Array.isArray(message.tool_calls)) return failTranslation("expected an array", `${at}.tool_calls`)
          message.tool_calls.forEach((call: unknown, j) => {
            const here = `${at}.tool_calls[${j}]`
            if (!isRecord(call) || !isRecord(call.function)) {
              return failTranslation("expected a function tool call", here)
            }
            const id = stringOr(call.id)
            const name = stringOr(call.function.name)
            if (id === undefined || name === undefined) {
              return failTranslation("a tool call needs 'id' and 'function.name'", here)
            }
            blocks.push({
              type: "tool_use",
              id,
              name,
              input: parseToolInput(call.function.arguments, `${here}.function.arguments`)
            })
          })
        } else if (isRecord(message.function_call)) {
          const name = stringOr(message.function_call.name)
          if (name === undefined) return failTranslation("a function_call needs 'name'", `${at}.function_call.name`)
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
        if (id === undefined) return failTranslation("a tool message needs 'tool_call_id'", `${at}.tool_call_id`)
        return add("user", [toolResult(id, message.content, `${at}.content`)])
      }
      case "function": {
        const name = stringOr(message.name)
        const id = name === undefined ? undefined : legacyIds.get(name)
        if (id === undefined) {
          return failTranslation("a function message must follow an assistant function_call", `${at}.name`)
        }
        return add("user", [toolResult(id, message.content, `${at}.content`)])
      }
      default:
        return failTranslation(`unknown role '${String(message.role)}'`, `${at}.role`)
    }
  })

  const n = numberOr(body.n)
  if (n !== undefined && n > 1) return failTranslation("n > 1 is not supported by Anthropic models", "n")
  if (present(body.audio)) return failTranslation("audio output is not supported by Anthropic models", "audio")

  const maxField = present(body.max_completion_tokens) ? "max_completion_tokens" : "max_tokens"
  const maxRaw = body[maxField]
  let maxTokens = opts.defaultMaxTokens ?? defaultMaxTokens
  if (present(maxRaw)) {
    if (typeof maxRaw !== "number" || !Number.isInteger(maxRaw) || maxRaw < 1) {
      return failTranslation("expected a positive integer", maxField)
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
    if (!stop.every((s) => typeof s === "string")) {
      return failTranslation("expected a string or an array of strings", "stop")
    }
    if (stop.length > 0) out.stop_sequences = stop
  } else if (present(stop)) return failTranslation("expected a string or an array of strings", "stop")

  const temperature = body.temperature
  if (present(temperature)) {
    if (typeof temperature !== "number") return failTranslation("expected a number", "temperature")
    // OpenAI's range is 0–2, Anthropic's 0–1.
    out.temperature = Math.min(1, Math.max(0, temperature))
  }
  const topP = body.top_p
  if (present(topP)) {
    if (typeof topP !== "number") return failTranslation("expected a number", "top_p")
    // Recent Claude models reject temperature and top_p together; temperature is the one clients mean.
    if (out.temperature === undefined) out.top_p = topP
  }

  const tools = messagesTools(body.tools)
  if (tools.length > 0) {
    out.tools = tools
    const choice = messagesToolChoice(body.tool_choice, body.parallel_tool_calls)
    if (choice !== undefined) out.tool_choice = choice
  }
  const thinking = opts.reasoningParams === true ? thinkingOfEffort(body.reasoning_effort, maxTokens) : undefined
  if (thinking !== undefined) {
    out.thinking = thinking
    // Anthropic rejects sampling changes while thinking.
    delete out.temperature
    delete out.top_p
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
 * `logit_bias` are dropped; `reasoning_effort` becomes `thinking` (`thinkingOfEffort`, then
 * `temperature` and `top_p` are dropped). Anything untranslatable
 * (invalid tool-call JSON, audio, n > 1, uploaded file ids) is a `TranslationError`.
 */
export const toMessagesRequest = (
  chat: ChatRequest,
  opts: ToMessagesRequestOptions
): Either.Either<MessagesRequest, TranslationError> => guardTranslation(() => translateRequest(chat, opts))
