import { SseParser } from "./SseParser.js"
import type { SseFrame, SseTranslator } from "./SseParser.js"

/**
 * The shared half of the SSE-to-SSE translators: input parsed into frames, each handed to `frame`, and the text
 * queued in `out` returned once per push. A stream that ends unfinished is finished, or failed if it carried no data.
 */
export abstract class FrameTranslator implements SseTranslator {
  private readonly parser = new SseParser()
  protected out: Array<string> = []
  protected done = false
  protected sawData = false

  readonly push = (chunk: Buffer | Uint8Array | string): string => {
    for (const frame of this.parser.push(chunk)) this.frame(frame)
    return this.drain()
  }

  readonly end = (): string => {
    for (const frame of this.parser.end()) this.frame(frame)
    if (!this.done) {
      if (this.sawData) this.finishStream()
      else this.failStream(502, "The provider's stream ended without sending any data")
    }
    return this.drain()
  }

  readonly fail = (status: number, message: string): string => {
    if (!this.done) this.failStream(status, message)
    return this.drain()
  }

  private drain(): string {
    if (this.out.length === 0) return ""
    const text = this.out.length === 1 ? this.out[0]! : this.out.join("")
    this.out = []
    return text
  }

  /** Translates one upstream frame into `out`; sets `sawData` once a frame carries data. */
  protected abstract frame(frame: SseFrame): void

  /** Ends the translated stream well-formed and sets `done`; does nothing once done. */
  protected abstract finishStream(): void

  /** Ends the translated stream with an error of this HTTP status and sets `done`. */
  protected abstract failStream(status: number, message: string): void
}
