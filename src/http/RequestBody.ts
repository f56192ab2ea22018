import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { IncomingMessage } from "node:http"
import type { RoutePreference } from "../config/GatewayConfig.js"
import { InvalidRequest, PayloadTooLarge } from "../GatewayError.js"
import { isRecord } from "../JsonValue.js"
import type { JsonObject } from "../JsonValue.js"

/** A JSON object body, mutable so the proxy can rewrite `model` without re-parsing. */
export type { JsonObject }

/** Reads a request body once, refusing more than `limit` bytes (413 before reading when Content-Length says so). */
export const readWith = (
  req: IncomingMessage,
  limit: number,
  done: (result: Either.Either<Buffer, PayloadTooLarge | InvalidRequest>) => void
): void => {
  const declared = Number(req.headers["content-length"])
  if (declared > limit) {
    req.resume()
    return done(Either.left(new PayloadTooLarge({ limit })))
  }
  const parts: Array<Buffer> = []
  let size = 0
  let finished = false
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (size > limit) {
      finished = true
      req.off("data", onData)
      req.resume()
      done(Either.left(new PayloadTooLarge({ limit })))
      return
    }
    parts.push(chunk)
  }
  req.on("data", onData)
  req.once("end", () => {
    if (finished) return
    finished = true
    done(Either.right(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)))
  })
  req.once("error", () => {
    if (finished) return
    finished = true
    done(Either.left(new InvalidRequest({ reason: "Failed to read the request body", code: "unreadable_body" })))
  })
}

/** `readWith` as an Effect. */
export const read = (req: IncomingMessage, limit: number): Effect.Effect<Buffer, PayloadTooLarge | InvalidRequest> =>
  Effect.async((resume) => readWith(req, limit, (result) => resume(result)))

/** How deeply a request body may nest arrays and objects; deeper bodies overflow the stack when re-serialised. */
export const maxDepth = 128

const openBrace = 0x7b
const openBracket = 0x5b
const closeBrace = 0x7d
const closeBracket = 0x5d
const quote = 0x22
const backslash = 0x5c

/** True when the JSON text nests arrays/objects deeper than `limit` (strings skipped); one pass over the bytes. */
export const nestsDeeperThan = (raw: Buffer, limit: number): boolean => {
  let depth = 0
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!
    if (c === quote) {
      for (i++; i < raw.length; i++) {
        const d = raw[i]!
        if (d === backslash) i++
        else if (d === quote) break
      }
    } else if (c === openBrace || c === openBracket) {
      if (++depth > limit) return true
    } else if (c === closeBrace || c === closeBracket) depth--
  }
  return false
}

/** Parses a JSON object body. */
export const parseObject = (raw: Buffer): Either.Either<JsonObject, InvalidRequest> => {
  if (raw.length === 0) {
    return Either.left(new InvalidRequest({ reason: "The request body is empty: send a JSON object", code: "invalid_json" }))
  }
  let value: unknown
  try {
    value = JSON.parse(raw.toString("utf8"))
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : "parse error"
    return Either.left(new InvalidRequest({ reason: `The request body is not valid JSON: ${detail}`, code: "invalid_json" }))
  }
  if (!isRecord(value)) {
    return Either.left(new InvalidRequest({ reason: "The request body must be a JSON object", code: "invalid_json" }))
  }
  if (nestsDeeperThan(raw, maxDepth)) {
    return Either.left(
      new InvalidRequest({
        reason: `The request body nests arrays and objects more than ${maxDepth} levels deep`,
        code: "invalid_json"
      })
    )
  }
  return Either.right(value)
}

const typeName = (value: unknown): string => value === null ? "null" : Array.isArray(value) ? "array" : typeof value

const invalidType = (param: string, expected: string, value: unknown) =>
  new InvalidRequest({
    reason: `Invalid type for '${param}': expected ${expected}, got ${typeName(value)}`,
    code: "invalid_type",
    param
  })

/** Which request shape a body follows. */
export type BodyShape = "chat" | "messages"

/** Checks the fields the gateway relies on; everything else is the upstream's business and passes through. */
export const validate = (body: JsonObject, shape: BodyShape): Either.Either<void, InvalidRequest> => {
  if (body.model !== undefined && typeof body.model !== "string") {
    return Either.left(invalidType("model", "a string", body.model))
  }
  if (typeof body.model === "string" && !/^[\x20-\x7e]*$/.test(body.model)) {
    return Either.left(
      new InvalidRequest({
        reason: "Invalid 'model': a model name is printable ASCII",
        code: "invalid_value",
        param: "model"
      })
    )
  }
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    return Either.left(invalidType("stream", "a boolean", body.stream))
  }
  const messages = body.messages
  if (messages === undefined) {
    return Either.left(
      new InvalidRequest({ reason: "Missing required parameter: 'messages'", code: "missing_required_parameter", param: "messages" })
    )
  }
  if (!Array.isArray(messages)) return Either.left(invalidType("messages", "an array", messages))
  if (messages.length === 0 && shape === "chat") {
    return Either.left(
      new InvalidRequest({ reason: "'messages' must contain at least one message", code: "invalid_value", param: "messages" })
    )
  }
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i]
    if (!isRecord(m)) {
      return Either.left(invalidType(`messages[${i}]`, "an object", m))
    }
    if (!("role" in m) || typeof m.role !== "string") {
      return Either.left(invalidType(`messages[${i}].role`, "a string", "role" in m ? m.role : undefined))
    }
  }
  if (shape === "messages") {
    const max = body.max_tokens
    if (max === undefined) {
      return Either.left(
        new InvalidRequest({
          reason: "Missing required parameter: 'max_tokens'",
          code: "missing_required_parameter",
          param: "max_tokens"
        })
      )
    }
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1) {
      return Either.left(invalidType("max_tokens", "a positive integer", max))
    }
  }
  return Either.void
}

const stringList = (value: unknown): value is ReadonlyArray<string> =>
  Array.isArray(value) && value.every((v) => typeof v === "string")

/**
 * Removes a request's inline `routing_preferences` (they replace the configured ones for this request and are never
 * forwarded) and returns them; undefined when absent.
 */
export const takeInlinePreferences = (
  body: JsonObject
): Either.Either<ReadonlyArray<RoutePreference> | undefined, InvalidRequest> => {
  if (!("routing_preferences" in body)) return Either.right(undefined)
  const raw = body.routing_preferences
  delete body.routing_preferences
  if (raw === null) return Either.right(undefined)
  if (!Array.isArray(raw)) return Either.left(invalidType("routing_preferences", "an array", raw))
  const prefs: Array<RoutePreference> = []
  for (let i = 0; i < raw.length; i++) {
    const p: unknown = raw[i]
    const at = `routing_preferences[${i}]`
    if (!isRecord(p)) return Either.left(invalidType(at, "an object", p))
    const record = p
    if (typeof record.name !== "string" || record.name.length === 0) {
      return Either.left(invalidType(`${at}.name`, "a non-empty string", record.name))
    }
    if (typeof record.description !== "string") {
      return Either.left(invalidType(`${at}.description`, "a string", record.description))
    }
    if (!stringList(record.models) || record.models.length === 0) {
      return Either.left(invalidType(`${at}.models`, "a non-empty array of model names", record.models))
    }
    if (record.examples !== undefined && !stringList(record.examples)) {
      return Either.left(invalidType(`${at}.examples`, "an array of strings", record.examples))
    }
    prefs.push({
      name: record.name,
      description: record.description,
      models: record.models,
      examples: record.examples ?? [],
      prefer: "none"
    })
  }
  return Either.right(prefs)
}
