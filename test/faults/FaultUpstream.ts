import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import type { MockHandler } from "../support/MockUpstream.js"

/** A loopback port nothing listens on (bound, then released): connections to it are refused. */
export const refusedUrl = async (): Promise<string> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

/** Destroys the connection without answering (a reset before headers). */
export const reset = (): MockHandler => (_req, res) => {
  res.socket?.resetAndDestroy()
}

/** An error status with a JSON body and extra headers (e.g. `retry-after`). */
export const status = (code: number, headers: Record<string, string> = {}, message = `status ${code}`): MockHandler =>
(_req, res) => {
  const text = JSON.stringify({ error: { message, type: "server_error", param: null, code: null } })
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** Answers the first `n` requests with `failing`, the rest with `healthy`. */
export const failFirst = (n: number, failing: MockHandler, healthy: MockHandler): MockHandler => {
  let seen = 0
  return (req, res, raw) => (seen++ < n ? failing(req, res, raw) : healthy(req, res, raw))
}

/** A 200 OpenAI SSE stream that sends one chunk, then cuts the connection. */
export const cutStream = (): MockHandler => (req, res) => {
  res.writeHead(200, { "content-type": "text/event-stream" })
  const model = String(req.body.model)
  res.write(
    `data: ${
      JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        created: 1,
        model,
        choices: [{ index: 0, delta: { role: "assistant", content: "partial" }, finish_reason: null }]
      })
    }\n\n`
  )
  setTimeout(() => res.socket?.resetAndDestroy(), 20)
}

/** A 200 answer whose body is not JSON. */
export const malformedJson = (): MockHandler => (_req, res) => {
  res.writeHead(200, { "content-type": "application/json" })
  res.end("{\"id\": \"x\", \"choices\": [")
}

/** A 200 SSE stream of garbage frames, then a valid end. */
export const malformedSse = (): MockHandler => (_req, res) => {
  res.writeHead(200, { "content-type": "text/event-stream" })
  res.write("data: {not json\n\n")
  res.write("event: ???\ndata: [[[\n\n")
  res.end("data: [DONE]\n\n")
}

/** A status with a body of `bytes` bytes (written in 64 KiB pieces). */
export const hugeBody = (code: number, bytes: number): MockHandler => (_req, res) => {
  res.writeHead(code, { "content-type": "application/json" })
  const piece = Buffer.alloc(64 * 1024, 0x61)
  let sent = 0
  const pump = () => {
    while (sent < bytes) {
      sent += piece.length
      if (!res.write(piece)) return void res.once("drain", pump)
    }
    res.end()
  }
  res.on("error", () => undefined)
  pump()
}
