import type { OutgoingHttpHeaders } from "node:http"
import type { UpstreamResponse } from "../providers/Upstream.js"

// Only what a client of the provider's API can use: the payload's type, request ids and rate-limit advice. Anything
// else (cookies, provider-internal headers, a header echoing credentials) stays with the gateway.
const allowed = new Set([
  "content-type",
  "cache-control",
  "retry-after",
  "request-id",
  "x-request-id",
  "openai-processing-ms",
  "openai-version"
])
const allowedPrefixes = ["x-ratelimit-", "anthropic-ratelimit-"]

const isAllowed = (name: string) => allowed.has(name) || allowedPrefixes.some((prefix) => name.startsWith(prefix))

/**
 * Copies the allow-listed upstream response headers, plus `content-length` and `content-encoding` when the body passes
 * unchanged.
 */
export const copyUpstreamHeaders = (
  from: UpstreamResponse["headers"],
  into: OutgoingHttpHeaders,
  keepLength: boolean
): void => {
  for (const name in from) {
    const value = from[name]
    if (value === undefined) continue
    const unchanged = keepLength && (name === "content-length" || name === "content-encoding")
    if (isAllowed(name) || unchanged) into[name] = value
  }
}
