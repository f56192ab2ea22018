import { randomBytes } from "node:crypto"
import type { OutgoingHttpHeaders, ServerResponse } from "node:http"
import type { Readable } from "node:stream"
import { StringDecoder } from "node:string_decoder"

/** The upstream body exceeded the translation cap. */
export class BodyTooLarge extends Error {}

/**
 * A whole upstream body as text, decoded as it arrives: no chunk list and no concatenated copy are held next to the
 * text.
 */
export const readText = (body: Readable, limit: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const decoder = new StringDecoder("utf8")
    let text = ""
    let size = 0
    body.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        body.destroy()
        reject(new BodyTooLarge(`upstream body larger than ${limit} bytes`))
      } else text += decoder.write(chunk)
    })
    body.once("end", () => resolve(text + decoder.end()))
    body.once("error", reject)
  })

// Strings longer than this are written in slices instead of inside one serialised body.
const bigString = 64 * 1024

/** A serialised JSON value: the text around its big strings, and the big strings themselves. */
export interface Serialised {
  readonly parts: ReadonlyArray<string>
  readonly big: ReadonlyArray<string>
}

/** Serialises a JSON value, keeping its big strings aside; throws as `JSON.stringify` does. */
export const serialise = (value: unknown): Serialised => {
  const big: Array<string> = []
  const mark = `\u0000${randomBytes(6).toString("hex")}\u0000`
  const skeleton = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "string" && v.length > bigString) {
      big.push(v)
      return mark
    }
    return v
  })
  return { parts: big.length === 0 ? [skeleton] : skeleton.split(JSON.stringify(mark)), big }
}

/**
 * Answers with a serialised JSON value. One holding big strings (a long completion) is written in slices, waiting for
 * the socket to drain, so the answer never exists as one more copy of the body; others go out as one write with a
 * length.
 */
export const writeSerialised = (
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  { big, parts }: Serialised,
  done: () => void
): void => {
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    done()
  }
  if (res.headersSent || res.destroyed) return finish()
  headers["content-type"] = "application/json"
  if (big.length === 0) {
    headers["content-length"] = String(Buffer.byteLength(parts[0]!))
    res.writeHead(status, headers)
    res.end(parts[0], finish)
    return
  }
  res.writeHead(status, headers)
  // Slices of a string serialise on their own (a split surrogate pair becomes two escapes, still the same text).
  function* pieces(): Generator<string> {
    for (let i = 0; i < big.length; i++) {
      yield `${parts[i]!}"`
      const text = big[i]!
      for (let at = 0; at < text.length; at += bigString) {
        yield JSON.stringify(text.slice(at, at + bigString)).slice(1, -1)
      }
      yield "\""
    }
    yield parts[big.length]!
  }
  const source = pieces()
  const pump = (): void => {
    for (;;) {
      if (res.destroyed) return finish()
      const next = source.next()
      if (next.done === true) return void res.end(finish)
      if (!res.write(next.value)) return void res.once("drain", pump)
    }
  }
  res.once("close", finish)
  pump()
}
