import { Transform } from "node:stream"
import { StringDecoder } from "node:string_decoder"

/** One dispatched server-sent event: its `event:` name (when given) and its `data:` lines joined by "\n". */
export interface SseFrame {
  readonly event?: string
  readonly data: string
}

/** Options of an `SseParser`. */
export interface SseParserOptions {
  /** A line longer than this many characters is dropped (with the frame it belongs to); default 32 MiB. */
  readonly maxLineLength?: number
}

const LF = 10

/**
 * An incremental parser for `text/event-stream` bytes (WHATWG "event stream interpretation"): accepts chunks split
 * anywhere (inside a UTF-8 sequence, a CRLF pair or a field name), LF / CR / CRLF line ends, comments, multi-line
 * data and a leading BOM. It never throws: odd lines are ignored, as the spec asks.
 */
export class SseParser {
  private readonly decoder = new StringDecoder("utf8")
  private readonly maxLineLength: number
  private pending: Array<string> = []
  private pendingLength = 0
  private skipLeadingLf = false
  private started = false
  private oversized = false
  private discardFrame = false
  private event: string | undefined = undefined
  private data: Array<string> = []

  constructor(options: SseParserOptions = {}) {
    this.maxLineLength = options.maxLineLength ?? 32 * 1024 * 1024
  }

  /** Feeds a chunk; returns the frames it completed (possibly none). */
  push(chunk: Buffer | Uint8Array | string): Array<SseFrame> {
    const frames: Array<SseFrame> = []
    let text = typeof chunk === "string" ? chunk : this.decoder.write(chunk as Buffer)
    if (text.length === 0) return frames
    if (!this.started) {
      this.started = true
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (this.skipLeadingLf) {
      this.skipLeadingLf = false
      if (text.charCodeAt(0) === LF) text = text.slice(1)
    }
    let lf = text.indexOf("\n")
    let cr = text.indexOf("\r")
    if (lf < 0 && cr < 0) {
      // Only the new piece is searched, so a long line arriving in many chunks costs linear time.
      this.hold(text)
      return frames
    }
    if (this.pendingLength > 0) {
      const offset = this.pendingLength
      this.pending.push(text)
      text = this.pending.join("")
      this.pending = []
      this.pendingLength = 0
      if (lf >= 0) lf += offset
      if (cr >= 0) cr += offset
    }
    let start = 0
    while (lf >= 0 || cr >= 0) {
      let end: number
      let next: number
      if (cr < 0 || (lf >= 0 && lf < cr)) {
        end = lf
        next = lf + 1
      } else {
        end = cr
        if (cr + 1 < text.length) next = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1
        else {
          // A CR that ends the chunk may be the first half of a CRLF split across chunks.
          next = cr + 1
          this.skipLeadingLf = true
        }
      }
      this.line(text, start, end, frames)
      start = next
      if (lf >= 0 && lf < start) lf = text.indexOf("\n", start)
      if (cr >= 0 && cr < start) cr = text.indexOf("\r", start)
    }
    if (start < text.length) this.hold(start === 0 ? text : text.slice(start))
    return frames
  }

  /** Ends the input: a last frame not followed by a blank line is still dispatched (lenient, unlike the spec). */
  end(): Array<SseFrame> {
    const frames: Array<SseFrame> = []
    const tail = this.decoder.end()
    if (tail.length > 0) frames.push(...this.push(tail))
    if (this.pendingLength > 0) {
      const line = this.pending.join("")
      this.pending = []
      this.pendingLength = 0
      this.line(line, 0, line.length, frames)
    }
    if (this.oversized) {
      this.oversized = false
      this.discardFrame = true
    }
    this.dispatch(frames)
    return frames
  }

  private hold(piece: string): void {
    if (this.oversized) return
    this.pendingLength += piece.length
    if (this.pendingLength > this.maxLineLength) {
      this.oversized = true
      this.pending = []
      this.pendingLength = 0
    } else this.pending.push(piece)
  }

  private line(text: string, start: number, end: number, frames: Array<SseFrame>): void {
    if (this.oversized) {
      // The frame lost a line; dispatching the rest of it would hand out corrupt data.
      this.oversized = false
      this.discardFrame = true
      return
    }
    if (end === start) return this.dispatch(frames)
    const first = text.charCodeAt(start)
    if (first === 58) return // ":" starts a comment
    const colon = text.indexOf(":", start)
    let field: string
    let value: string
    if (colon < 0 || colon >= end) {
      field = text.slice(start, end)
      value = ""
    } else {
      field = text.slice(start, colon)
      const valueStart = text.charCodeAt(colon + 1) === 32 && colon + 1 < end ? colon + 2 : colon + 1
      value = text.slice(valueStart, end)
    }
    if (field === "data") this.data.push(value)
    else if (field === "event") this.event = value
  }

  private dispatch(frames: Array<SseFrame>): void {
    if (this.data.length > 0 && !this.discardFrame) {
      const data = this.data.length === 1 ? this.data[0]! : this.data.join("\n")
      frames.push(this.event === undefined || this.event.length === 0 ? { data } : { event: this.event, data })
    }
    this.event = undefined
    this.data = []
    this.discardFrame = false
  }
}

/** Parses a whole SSE text at once (tests, recorded fixtures). */
export const parseAll = (text: string | Buffer): Array<SseFrame> => {
  const parser = new SseParser()
  return [...parser.push(text), ...parser.end()]
}

/** Serialises one frame (`event:` line only when named). The data must not contain line breaks. */
export const formatFrame = (data: string, event?: string): string =>
  event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`

/** An incremental translator of one SSE stream: bytes in, output text out; `end` closes the stream. Never throws. */
export interface SseTranslator {
  readonly push: (chunk: Buffer | Uint8Array | string) => string
  readonly end: () => string
  /** Ends the stream with the API's error event (the upstream broke off); nothing once the stream has ended. */
  readonly fail?: (status: number, message: string) => string
}

/** Wraps a translator in a Node `Transform` (bytes in, UTF-8 bytes out), one output write per input chunk. */
export const toTransform = (translator: SseTranslator): Transform =>
  new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      let out: string
      try {
        out = translator.push(chunk)
      } catch (error) {
        return callback(error instanceof Error ? error : new Error(String(error)))
      }
      if (out.length > 0) this.push(out, "utf8")
      callback()
    },
    flush(callback) {
      let out: string
      try {
        out = translator.end()
      } catch (error) {
        return callback(error instanceof Error ? error : new Error(String(error)))
      }
      if (out.length > 0) this.push(out, "utf8")
      callback()
    }
  })
