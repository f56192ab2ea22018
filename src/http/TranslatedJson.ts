import type { OutgoingHttpHeaders, ServerResponse } from "node:http"
import type { Readable } from "node:stream"
import { StringDecoder } from "node:string_decoder"
import { randomHex } from "../translation/WireIds.js"

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

/** Text to escape, or the raw (already escaped) bytes of a string held aside while reading. */
export type Piece = string | ReadonlyArray<Buffer>

/** A serialised JSON value: the text around its big strings, and the big strings themselves, in pieces. */
export interface Serialised {
  readonly parts: ReadonlyArray<string>
  readonly big: ReadonlyArray<ReadonlyArray<Piece>>
}

/** Strings held aside while reading (see `JsonSkeleton`): their bytes, and the id in their markers. */
export interface Held {
  readonly id: string
  readonly held: ReadonlyArray<ReadonlyArray<Buffer>>
}

/** A held string did not come through the translation as a plain string value (e.g. it was parsed or re-encoded). */
export class HeldLost extends Error {}

/** Serialises a JSON value, keeping its big strings aside; throws as `JSON.stringify` does, and `HeldLost`. */
export const serialise = (value: unknown, held?: Held): Serialised => {
  const big: Array<ReadonlyArray<Piece>> = []
  const mark = `\u0000${randomHex(6)}\u0000`
  const markers = held !== undefined && held.held.length > 0
    ? new RegExp(`\u0000${held.id}:(\\d+)\u0000`)
    : undefined
  const used = new Set<number>()
  const skeleton = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== "string") return v
    if (markers !== undefined && v.includes(held!.id)) {
      const split = v.split(markers)
      const pieces: Array<Piece> = []
      for (let i = 0; i < split.length; i++) {
        const text = split[i]!
        if (i % 2 === 1) {
          used.add(Number(text))
          pieces.push(held!.held[Number(text)]!)
        } else if (text.includes(held!.id)) throw new HeldLost("a held string was re-encoded")
        else if (text !== "") pieces.push(text)
      }
      big.push(pieces)
      return mark
    }
    if (v.length > bigString) {
      big.push([v])
      return mark
    }
    return v
  })
  if (markers !== undefined && used.size !== held!.held.length) throw new HeldLost("a held string was dropped")
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
  function* pieces(): Generator<string | Buffer> {
    for (let i = 0; i < big.length; i++) {
      yield `${parts[i]!}"`
      for (const piece of big[i]!) {
        if (typeof piece !== "string") yield* piece
        else {
          for (let at = 0; at < piece.length; at += bigString) {
            yield JSON.stringify(piece.slice(at, at + bigString)).slice(1, -1)
          }
        }
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
