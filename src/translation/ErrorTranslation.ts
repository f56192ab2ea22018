import * as Data from "effect/Data"
import * as Either from "effect/Either"
import { isRecord, nonEmpty } from "../JsonValue.js"

/** A request that cannot be expressed in the upstream's API (bad JSON arguments, an unsupported part, …): a 400. */
export class TranslationError extends Data.TaggedError("TranslationError")<{
  readonly reason: string
  /** Where in the request body, e.g. `messages[2].tool_calls[0].function.arguments`. */
  readonly param?: string
}> {
  override get message(): string {
    return this.param === undefined ? this.reason : `${this.reason} (at '${this.param}')`
  }
}

/** Throws a `TranslationError`; only inside `guardTranslation`, which turns it back into a value. */
export const failTranslation = (reason: string, param?: string): never => {
  throw param === undefined ? new TranslationError({ reason }) : new TranslationError({ reason, param })
}

/** Runs a translation that may `failTranslation`; any other exception also becomes a `TranslationError`. */
export const guardTranslation = <A>(translate: () => A): Either.Either<A, TranslationError> => {
  try {
    return Either.right(translate())
  } catch (error) {
    if (error instanceof TranslationError) return Either.left(error)
    return Either.left(new TranslationError({ reason: `Request could not be translated: ${String(error)}` }))
  }
}

/** What could be read from an upstream error body of either API (or any other text). */
export interface UpstreamErrorInfo {
  readonly message: string
  /** `error.type` of an OpenAI or Anthropic body. */
  readonly type?: string
  /** `error.code` of an OpenAI body (a Google-style `status` when `code` is numeric). */
  readonly code?: string
  /** `error.param` of an OpenAI body. */
  readonly param?: string
  /** Which shape the body had. */
  readonly shape: "openai" | "anthropic" | "other"
}

// Error fields are sometimes numbers (`code: 429`); they are reported as text.
const textOf = (value: unknown): string | undefined =>
  nonEmpty(value) ?? (typeof value === "number" ? String(value) : undefined)

const maxMessageLength = 2000

const clip = (text: string): string => text.length > maxMessageLength ? `${text.slice(0, maxMessageLength)}…` : text

/** Plain text of an HTML or text body: tags, scripts and runs of whitespace removed. */
const plainText = (text: string): string =>
  text
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, "\"")
    .replace(/\s+/g, " ")
    .trim()

const statusText: Readonly<Record<number, string>> = {
  400: "Bad request",
  401: "Unauthorized",
  402: "Payment required",
  403: "Forbidden",
  404: "Not found",
  408: "Request timeout",
  409: "Conflict",
  413: "Request too large",
  422: "Unprocessable entity",
  429: "Too many requests",
  500: "Internal server error",
  502: "Bad gateway",
  503: "Service unavailable",
  504: "Gateway timeout",
  529: "Overloaded"
}

const fallbackMessage = (status: number) =>
  `The provider returned HTTP ${status}${statusText[status] === undefined ? "" : ` (${statusText[status]})`}`

const fromJson = (value: unknown): Omit<UpstreamErrorInfo, "message"> & { readonly message?: string } | undefined => {
  // Some providers (Gemini's OpenAI endpoint among them) wrap the error object in a one-element array.
  if (Array.isArray(value) && value.length > 0) return fromJson(value[0])
  if (!isRecord(value)) return undefined
  const error = value.error
  if (value.type === "error" && isRecord(error)) {
    const type = textOf(error.type)
    const message = textOf(error.message)
    return {
      shape: "anthropic",
      ...(type === undefined ? {} : { type }),
      ...(message === undefined ? {} : { message })
    }
  }
  if (isRecord(error)) {
    const type = textOf(error.type)
    // Google-style bodies carry a numeric `code` and a symbolic `status`; the symbol says more.
    const code = typeof error.code === "string" ? textOf(error.code) : textOf(error.status) ?? textOf(error.code)
    const param = textOf(error.param)
    const message = textOf(error.message) ?? textOf(error.detail)
    return {
      shape: "openai",
      ...(type === undefined ? {} : { type }),
      ...(code === undefined ? {} : { code }),
      ...(param === undefined ? {} : { param }),
      ...(message === undefined ? {} : { message })
    }
  }
  const message = textOf(error) ?? textOf(value.message) ?? textOf(value.detail) ??
    (Array.isArray(value.detail) ? JSON.stringify(value.detail) : undefined)
  return message === undefined ? { shape: "other" } : { shape: "other", message }
}

/** Reads an upstream error body of either API, a bare `{"error": "…"}`/`{"message"|"detail": …}`, text or HTML. */
export const parseUpstreamError = (status: number, body: Buffer | string): UpstreamErrorInfo => {
  const text = (typeof body === "string" ? body : body.toString("utf8")).trim()
  if (text.length > 0 && (text.startsWith("{") || text.startsWith("["))) {
    let parsed: unknown = undefined
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    const info = fromJson(parsed)
    if (info !== undefined) return { ...info, message: clip(info.message ?? fallbackMessage(status)) }
  }
  const plain = plainText(text)
  return { shape: "other", message: plain.length > 0 ? clip(plain) : fallbackMessage(status) }
}

/** The Anthropic error type for an HTTP status. */
export const anthropicTypeForStatus = (status: number): string => {
  switch (status) {
    case 400:
      return "invalid_request_error"
    case 401:
      return "authentication_error"
    case 402:
      return "billing_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 503:
    case 529:
      return "overloaded_error"
    case 504:
      return "timeout_error"
    default:
      return status >= 500 ? "api_error" : "invalid_request_error"
  }
}

/** The OpenAI error type for an HTTP status. */
export const openAITypeForStatus = (status: number): string => {
  switch (status) {
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 429:
      return "rate_limit_error"
    default:
      return status >= 500 ? "server_error" : "invalid_request_error"
  }
}

/** The HTTP status Anthropic pairs with an error type (for errors that arrive inside a stream). */
export const statusForAnthropicType = (type: string | undefined): number => {
  switch (type) {
    case "invalid_request_error":
      return 400
    case "authentication_error":
      return 401
    case "billing_error":
      return 402
    case "permission_error":
      return 403
    case "not_found_error":
      return 404
    case "request_too_large":
      return 413
    case "rate_limit_error":
      return 429
    case "timeout_error":
      return 504
    case "overloaded_error":
      return 529
    default:
      return 500
  }
}

/** An OpenAI error object (`{message, type, param, code}`) for an upstream error. */
export const openAIError = (status: number, info: UpstreamErrorInfo) => {
  if (info.shape === "openai") {
    return {
      message: info.message,
      type: info.type ?? openAITypeForStatus(status),
      param: info.param ?? null,
      code: info.code ?? null
    }
  }
  // An Anthropic type ("overloaded_error", …) is the most precise code an OpenAI client can get.
  const code = info.type ?? anthropicTypeForStatus(status)
  return { message: info.message, type: openAITypeForStatus(status), param: null, code }
}

const anthropicTypeOf = (status: number, info: UpstreamErrorInfo): string => {
  if (info.shape === "anthropic" && info.type !== undefined) return info.type
  if (info.code === "rate_limit_exceeded") return "rate_limit_error"
  if (info.code === "insufficient_quota" || info.type === "insufficient_quota") return "billing_error"
  return anthropicTypeForStatus(status)
}

/** An Anthropic error object (`{type, message}`) for an upstream error. */
export const anthropicError = (status: number, info: UpstreamErrorInfo) => ({
  type: anthropicTypeOf(status, info),
  message: info.message
})

/** Any upstream error body → OpenAI's `{"error":{"message","type","param","code"}}`, keeping the message. */
export const toOpenAIErrorBody = (status: number, body: Buffer | string): string =>
  JSON.stringify({ error: openAIError(status, parseUpstreamError(status, body)) })

/** Any upstream error body → Anthropic's `{"type":"error","error":{"type","message"}}`, keeping the message. */
export const toAnthropicErrorBody = (status: number, body: Buffer | string): string =>
  JSON.stringify({ type: "error", error: anthropicError(status, parseUpstreamError(status, body)) })
