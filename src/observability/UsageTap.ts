/** Token usage and model as the upstream reported them. */
export interface Usage {
  readonly inputTokens: number | undefined
  readonly outputTokens: number | undefined
  readonly model: string | undefined
}

const headLimit = 4096
const tailLimit = 8192

const lastNumber = (text: string, pattern: RegExp): number | undefined => {
  let found: number | undefined
  for (const match of text.matchAll(pattern)) found = Number(match[1])
  return found
}

/**
 * Watches an upstream body go by and keeps only its first 4 KiB and last 8 KiB: a response's `model` is near its
 * start and `usage` near its end (Anthropic streams report input tokens in `message_start` and output tokens in the
 * last `message_delta`), so usage is read without buffering or parsing the body.
 */
export class UsageTap {
  bytes = 0
  private readonly head: Array<Buffer> = []
  private headBytes = 0
  private readonly tail: Array<Buffer> = []
  private tailBytes = 0

  readonly onData = (chunk: Buffer): void => {
    this.bytes += chunk.length
    if (this.headBytes < headLimit) {
      this.head.push(chunk)
      this.headBytes += chunk.length
      return
    }
    this.tail.push(chunk)
    this.tailBytes += chunk.length
    while (this.tail.length > 1 && this.tailBytes - this.tail[0]!.length >= tailLimit) {
      this.tailBytes -= this.tail.shift()!.length
    }
  }

  /** What the body said; the patterns need the keys' own quotes, so text inside a JSON string never matches. */
  usage(): Usage {
    // latin1 decodes fastest; the keys and numbers searched for are ASCII either way.
    const head = (this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head)).toString("latin1")
    const text = this.tail.length === 0 ? head : `${head}\n${Buffer.concat(this.tail).toString("latin1")}`
    const latin1Model = /"model"\s*:\s*"([^"\\]{1,200})"/.exec(head)?.[1]
    const model = latin1Model === undefined ? undefined : Buffer.from(latin1Model, "latin1").toString("utf8")
    // Token counts only occur inside a `usage` object: scan from the first one on.
    const from = text.indexOf("\"usage\"")
    if (from < 0) return { inputTokens: undefined, outputTokens: undefined, model }
    const region = text.slice(from)
    return {
      inputTokens: lastNumber(region, /"(?:prompt_tokens|input_tokens)"\s*:\s*(\d+)/g),
      outputTokens: lastNumber(region, /"(?:completion_tokens|output_tokens)"\s*:\s*(\d+)/g),
      model
    }
  }
}
