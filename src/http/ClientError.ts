import type { Duplex } from "node:stream"
import { renderError } from "../GatewayError.js"

interface ParserError extends Error {
  readonly code?: string
  readonly rawPacket?: Buffer
}

const statusOf = (code: string | undefined): { readonly status: number; readonly reason: string } | undefined => {
  switch (code) {
    case "ECONNRESET":
      return undefined
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, reason: "Request Header Fields Too Large" }
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, reason: "Request Timeout" }
    default:
      return { status: 400, reason: "Bad Request" }
  }
}

const messageOf = (status: number) =>
  status === 431
    ? "The request's headers are too large"
    : status === 408
    ? "The request was not received in time"
    : "The request is malformed: its request line or a header holds characters HTTP does not allow"

// A response to an earlier request on this socket has started: a second status line would corrupt it.
const responseStarted = (socket: Duplex): boolean => {
  const current: unknown = Reflect.get(socket, "_httpMessage")
  return typeof current === "object" && current !== null && Reflect.get(current, "headersSent") === true
}

/**
 * `node:http`'s `clientError` listener: a request Node cannot parse (control bytes or an oversized header block) gets
 * the endpoint's JSON error shape instead of Node's bare status line.
 */
export const answerClientError = (error: ParserError, socket: Duplex): void => {
  const known = statusOf(error.code)
  if (known === undefined || !socket.writable || responseStarted(socket)) {
    socket.destroy()
    return
  }
  const head = error.rawPacket?.subarray(0, 256).toString("latin1") ?? ""
  const api = /^\S+ \/(routing\/)?v1\/messages[\s?]/.test(head) ? "anthropic" : "openai"
  const code = known.status === 431 ? "request_headers_too_large" : "invalid_request"
  const { body } = renderError(api, known.status, "invalid_request_error", code, messageOf(known.status))
  socket.end(
    `HTTP/1.1 ${known.status} ${known.reason}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  )
}
