import type { IncomingHttpHeaders } from "node:http"

/** Statuses worth another attempt: rate limits, server errors and Anthropic's 529 overloaded. Never a client 4xx. */
export const isRetryableStatus = (status: number): boolean =>
  status === 429 || status === 500 || status === 502 || status === 503 || status === 504 || status === 529

const baseMs = 250
const capMs = 5_000

/** Exponential backoff with jitter: 250 ms, 500 ms, 1 s, … (cap 5 s), each scaled by a random 50–100 %. */
export const backoffMs = (retry: number, random: number): number =>
  Math.round(Math.min(capMs, baseMs * 2 ** retry) * (0.5 + random / 2))

/** The wait an upstream asks for: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date. */
export const retryAfterMs = (headers: IncomingHttpHeaders, now: number): number | undefined => {
  const ms = headers["retry-after-ms"]
  if (typeof ms === "string") {
    const n = Number(ms)
    if (Number.isFinite(n) && n >= 0) return Math.ceil(n)
  }
  const after = headers["retry-after"]
  if (typeof after !== "string" || after.trim() === "") return undefined
  const seconds = Number(after)
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.ceil(seconds * 1000) : undefined
  const date = Date.parse(after)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
