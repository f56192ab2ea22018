import { Effect } from "effect"
import type { IncomingMessage } from "node:http"
import type { RoutePreference } from "./GatewayConfig.js"
import { InvalidRequest, PayloadTooLarge } from "./GatewayError.js"
import { isRecord } from "./JsonValue.js"
import type { JsonObject } from "./JsonValue.js"

/** A JSON object body, mutable so the proxy can rewrite `model` without re-parsing. */
export type { JsonObject }

/** Reads a request body once, refusing more than `limit` bytes (413 before reading when Content-Length says so). */
export const read = (req: IncomingMessage, limit: number): Effect.Effect<Buffer, PayloadTooLarge | InvalidRequest> =>
  Effect.async((resume) => {
    const declared = Number(req.headers["content-length"])
    if (Number.isFinite(declared) && declared > limit) {
      req.resume()
      return resume(Effect.fail(new PayloadTooLarge({ limit })))
    }
    const parts: Array<Buffer> = []
    let size = 0
    let done = false
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        done = true
        req.off("data", onData)
        req.resume()
        resume(Effect.fail(new PayloadTooLarge({ limit })))
        return
      }
      parts.push(chunk)
    }
    req.on("data", onData)
    req.once("end", () => {
      if (done) return
      done = true
      resume(Effect.succeed(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)))
    })
    req.once("error", () => {
      if (done) return
      done = true
      resume(Effect.fail(new InvalidRequest({ reason: "Failed to read the request body", code: "unreadable_body" })))
    })
  })

/** Parses a JSON object body. */
export const parseObject = (raw: Buffer): Effect.Effect<JsonObject, InvalidRequest> => {
  if (raw.length === 0) {
    return Effect.fail(new InvalidRequest({ reason: "The request body is empty: send a JSON object", code: "invalid_json" }))
  }
  let value: unknown
  try {
    value = JSON.parse(raw.toString("utf8"))
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : "parse error"
    return Effect.fail(new InvalidRequest({ reason: `The request body is not valid JSON: ${detail}`, code: "invalid_json" }))
  }
  if (!isRecord(value)) {
    return Effect.fail(new InvalidRequest({ reason: "The request body must be a JSON object", code: "invalid_json" }))
  }
  return Effect.succeed(value)
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
export const validate = (body: JsonObject, shape: BodyShape): Effect.Effect<void, InvalidRequest> => {
  if (body.model !== undefined && typeof body.model !== "string") {
    return Effect.fail(invalidType("model", "a string", body.model))
  }
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    return Effect.fail(invalidType("stream", "a boolean", body.stream))
  }
  const messages = body.messages
  if (messages === undefined) {
    return Effect.fail(
      new InvalidRequest({ reason: "Missing required parameter: 'messages'", code: "missing_required_parameter", param: "messages" })
    )
  }
  if (!Array.isArray(messages)) return Effect.fail(invalidType("messages", "an array", messages))
  if (messages.length === 0 && shape === "chat") {
    return Effect.fail(
      new InvalidRequest({ reason: "'messages' must contain at least one message", code: "invalid_value", param: "messages" })
    )
  }
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i]
    if (!isRecord(m)) {
      return Effect.fail(invalidType(`messages[${i}]`, "an object", m))
    }
    if (!("role" in m) || typeof m.role !== "string") {
      return Effect.fail(invalidType(`messages[${i}].role`, "a string", "role" in m ? m.role : undefined))
    }
  }
  if (shape === "messages") {
    const max = body.max_tokens
    if (max === undefined) {
      return Effect.fail(
        new InvalidRequest({
          reason: "Missing required parameter: 'max_tokens'",
          code: "missing_required_parameter",
          param: "max_tokens"
        })
      )
    }
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1) {
      return Effect.fail(invalidType("max_tokens", "a positive integer", max))
    }
  }
  return Effect.void
}

const stringList = (value: unknown): value is ReadonlyArray<string> =>
  Array.isArray(value) && value.every((v) => typeof v === "string")

/**
 * Removes a request's inline `routing_preferences` (they replace the configured ones for this request and are never
 * forwarded) and returns them; undefined when absent.
 */
export const takeInlinePreferences = (
  body: JsonObject
): Effect.Effect<ReadonlyArray<RoutePreference> | undefined, InvalidRequest> => {
  if (!("routing_preferences" in body)) return Effect.succeed(undefined)
  const raw = body.routing_preferences
  delete body.routing_preferences
  if (raw === null) return Effect.succeed(undefined)
  if (!Array.isArray(raw)) return Effect.fail(invalidType("routing_preferences", "an array", raw))
  const prefs: Array<RoutePreference> = []
  for (let i = 0; i < raw.length; i++) {
    const p: unknown = raw[i]
    const at = `routing_preferences[${i}]`
    if (!isRecord(p)) return Effect.fail(invalidType(at, "an object", p))
    const record = p
    if (typeof record.name !== "string" || record.name.length === 0) {
      return Effect.fail(invalidType(`${at}.name`, "a non-empty string", record.name))
    }
    if (typeof record.description !== "string") {
      return Effect.fail(invalidType(`${at}.description`, "a string", record.description))
    }
    if (!stringList(record.models) || record.models.length === 0) {
      return Effect.fail(invalidType(`${at}.models`, "a non-empty array of model names", record.models))
    }
    if (record.examples !== undefined && !stringList(record.examples)) {
      return Effect.fail(invalidType(`${at}.examples`, "an array of strings", record.examples))
    }
    prefs.push({
      name: record.name,
      description: record.description,
      models: record.models,
      examples: record.examples ?? [],
      prefer: "none"
    })
  }
  return Effect.succeed(prefs)
}
