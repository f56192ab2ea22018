import * as Either from "effect/Either"
import type { IncomingHttpHeaders } from "node:http"
import { InvalidSessionId } from "../GatewayError.js"

/** The session header and its alias (Plano 8dedf0be and later). */
export const sessionHeader = "x-routing-session-id"
export const sessionHeaderAlias = "x-model-affinity"

// A control character cannot occur in an HTTP header value, so scoped and unscoped keys never collide.
const scopeSeparator = "\u0001"

const visibleAscii = /^[\x21-\x7e]{1,256}$/

/** Validates a session id: 1–256 visible ASCII characters. */
export const validateSessionId = (id: string): Either.Either<string, InvalidSessionId> =>
  visibleAscii.test(id)
    ? Either.right(id)
    : Either.left(
      new InvalidSessionId({
        reason: id.length === 0
          ? "The session id is empty: send 1-256 visible ASCII characters"
          : id.length > 256
          ? `The session id is ${id.length} characters long: the limit is 256`
          : "The session id must be 1-256 visible ASCII characters (no spaces or control characters)"
      })
    )

const single = (value: string | Array<string> | undefined): string | undefined =>
  Array.isArray(value) ? value.join(",") : value

/** The pin key of a request: the session id (scoped by `routing.session_scope_header` when set), or undefined. */
export const fromHeaders = (
  headers: IncomingHttpHeaders,
  scopeHeader: string | undefined
): Either.Either<string | undefined, InvalidSessionId> => {
  const primary = single(headers[sessionHeader])
  const alias = single(headers[sessionHeaderAlias])
  if (primary !== undefined && alias !== undefined && primary !== alias) {
    return Either.left(
      new InvalidSessionId({ reason: "X-Routing-Session-Id and X-Model-Affinity differ: send one of them" })
    )
  }
  const id = primary ?? alias
  if (id === undefined) return Either.right(undefined)
  const valid = validateSessionId(id)
  if (Either.isLeft(valid)) return valid
  const scope = scopeHeader === undefined ? undefined : single(headers[scopeHeader])
  return Either.right(scoped(scope, id))
}

/** Joins a scope (e.g. a tenant) and a session id into a pin key. */
export const scoped = (scope: string | undefined, id: string): string =>
  scope === undefined || scope === "" ? id : `${scope}${scopeSeparator}${id}`

/** Splits a pin key back into its scope and session id. */
export const unscoped = (key: string): { readonly scope: string | undefined; readonly id: string } => {
  const at = key.indexOf(scopeSeparator)
  return at < 0 ? { scope: undefined, id: key } : { scope: key.slice(0, at), id: key.slice(at + 1) }
}
