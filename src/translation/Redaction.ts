import * as Redacted from "effect/Redacted"
import type { ResolvedConfig } from "../config/GatewayConfig.js"
/** Replaces secrets in text with `[REDACTED]`. */
export type Redactor = (text: string) => string

// Things that look like credentials whatever provider issued them: an Authorization value, and the key formats of
// OpenAI (`sk-…`, `sk-proj-…`), Anthropic (`sk-ant-…`) and Google (`AIza…`).
const tokenShapes = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}|\bsk-[A-Za-z0-9_-]{8,}|\bAIza[A-Za-z0-9_-]{20,}/g

// Shorter values would also match ordinary words.
const minSecretLength = 6

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** A redactor for these configured secrets and anything shaped like a bearer token or provider key. */
export const makeRedactor = (secrets: ReadonlyArray<string>): Redactor => {
  const known = [...new Set(secrets.filter((s) => s.length >= minSecretLength))].sort((a, b) => b.length - a.length)
  const exact = known.length === 0 ? undefined : new RegExp(known.map(escape).join("|"), "g")
  return (text) => {
    const out = exact === undefined ? text : text.replace(exact, "[REDACTED]")
    return out.replace(tokenShapes, (match, scheme: string | undefined) =>
      scheme === undefined ? "[REDACTED]" : `${scheme} [REDACTED]`)
  }
}

/** The redactor for a loaded config: its provider keys and admin key. */
export const redactorFor = (config: ResolvedConfig): Redactor =>
  makeRedactor(
    [...config.providers.map((p) => p.accessKey), config.routing.adminKey].flatMap((key) =>
      key === undefined ? [] : [Redacted.value(key)]
    )
  )
