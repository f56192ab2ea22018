import type { IncomingHttpHeaders } from "node:http"
import type { Readable } from "node:stream"
import { BodyTooLarge, HeldLost, readText, serialise } from "./TranslatedJson.js"
import type { Serialised } from "./TranslatedJson.js"
import { randomHex } from "../translation/WireIds.js"

/**
 * A JSON body whose long strings are held aside as their raw, still escaped bytes: `text` has a marker string in
 * place of each (see `markerOf`), so parsing and translating it never copies the long strings, and the answer can
 * write their bytes as they came (JSON escapes are the same on both APIs).
 */
export interface Skeleton {
  readonly text: string
  readonly held: ReadonlyArray<ReadonlyArray<Buffer>>
  readonly id: string
  /** False when a held string had bytes JSON forbids (raw control characters, bad escapes). */
  readonly valid: boolean
}

/** The marker standing for held string `index` once the skeleton is parsed. */
export const markerOf = (id: string, index: number) => `\u0000${id}:${index}\u0000`

// Strings longer than this (in bytes) are held aside.
const longString = 64 * 1024
// Bodies announced below this size are read whole as text: most answers are a few KB.
const smallBody = 256 * 1024

// Only the values of these keys are held: message text. Others (a tool call's arguments, which the translation parses)
// stay in the text, so the translation sees them as they are.
const heldKeys = new Set(["text", "content", "thinking", "reasoning_content", "refusal"])

const isHex = (b: number) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
// " \ / b f n r t
const isEscape = (b: number) =>
  b === 0x22 || b === 0x5c || b === 0x2f || b === 0x62 || b === 0x66 || b === 0x6e || b === 0x72 || b === 0x74

/** Reads a JSON body, holding its long strings aside as bytes; the other text is decoded once at the end. */
export const readSkeleton = (body: Readable, limit: number): Promise<Skeleton> =>
  new Promise((resolve, reject) => {
    const id = randomHex(6)
    const out: Array<Buffer> = []
    const held: Array<Array<Buffer>> = []
    let pending: Array<Buffer> = []
    let pendingSize = 0
    let current: Array<Buffer> | undefined
    let inString = false
    let escape = false
    let hex = 0
    // The last short string (a key when a colon follows it), whether a colon came after it, and whether the open
    // string may be held.
    let lastShort = ""
    let colon = false
    let holdable = false
    let valid = true
    let size = 0
    const closeLong = (parts: Array<Buffer>) => {
      held.push(parts)
      // The opening quote is already out.
      out.push(Buffer.from(JSON.stringify(markerOf(id, held.length - 1)).slice(1)))
    }
    body.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        body.destroy()
        return reject(new BodyTooLarge(`upstream body larger than ${limit} bytes`))
      }
      let from = 0
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i]!
        if (!inString) {
          if (b === 0x22) {
            out.push(Buffer.from(chunk.subarray(from, i + 1)))
            from = i + 1
            inString = true
            holdable = colon && heldKeys.has(lastShort)
            colon = false
            pending = []
            pendingSize = 0
          } else if (b === 0x3a) colon = true
          else if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) colon = false
        } else if (hex > 0) {
          if (!isHex(b)) valid = false
          hex--
        } else if (escape) {
          escape = false
          if (b === 0x75) hex = 4
          else if (!isEscape(b)) valid = false
        } else if (b === 0x5c) escape = true
        else if (b < 0x20) valid = false
        else if (b === 0x22) {
          if (current !== undefined) {
            current.push(chunk.subarray(from, i))
            closeLong(current)
            current = undefined
          } else if (holdable && pendingSize + i - from > longString) {
            pending.push(chunk.subarray(from, i))
            closeLong(pending)
          } else {
            const tail = Buffer.from(chunk.subarray(from, i + 1))
            out.push(...pending, tail)
            lastShort = pendingSize + tail.length <= 32
              ? Buffer.concat([...pending, tail]).toString("latin1").slice(0, -1)
              : ""
          }
          pending = []
          from = i + 1
          inString = false
        }
      }
      if (from >= chunk.length) return
      if (!inString) out.push(Buffer.from(chunk.subarray(from)))
      else if (current !== undefined) current.push(chunk.subarray(from))
      else {
        pending.push(Buffer.from(chunk.subarray(from)))
        pendingSize += chunk.length - from
        if (holdable && pendingSize > longString) {
          current = pending
          pending = []
        }
      }
    })
    body.once("end", () => {
      // An unterminated string stays out of the text, which then fails to parse.
      resolve({ text: Buffer.concat(out).toString("utf8"), held, id, valid })
    })
    body.once("error", reject)
  })

/** Reads a body to translate: small announced bodies as plain text, others as a skeleton. */
export const readTranslatable = (body: Readable, headers: IncomingHttpHeaders, limit: number): Promise<Skeleton> => {
  const length = Number(headers["content-length"] ?? Number.NaN)
  return Number.isFinite(length) && length < smallBody
    ? readText(body, limit).then((text) => ({ text, held: [], id: "", valid: true }))
    : readSkeleton(body, limit)
}

/** The whole JSON text again, held strings put back (the slow path, for answers the skeleton cannot serve). */
export const inflate = ({ held, id, text }: Skeleton): string => {
  if (held.length === 0) return text
  const parts = text.split(new RegExp(`"\\\\u0000${id}:(\\d+)\\\\u0000"`))
  let whole = ""
  for (let i = 0; i < parts.length; i++) {
    whole += i % 2 === 0 ? parts[i]! : `"${Buffer.concat(held[Number(parts[i])] ?? []).toString("utf8")}"`
  }
  return whole
}

/**
 * Parses and translates a skeleton, then serialises the answer with the held strings' bytes in place; when the
 * translation did not carry a held string through as a plain string (a tool call's arguments parsed or re-encoded),
 * or the body broke JSON inside one, it starts over from the whole text. Throws when the body is not translatable.
 */
export const translateSkeleton = (skeleton: Skeleton, translate: (parsed: unknown) => unknown): Serialised => {
  if (skeleton.valid) {
    try {
      return serialise(translate(JSON.parse(skeleton.text)), skeleton)
    } catch (error) {
      if (!(error instanceof HeldLost)) throw error
    }
  }
  return serialise(translate(JSON.parse(inflate(skeleton))))
}
