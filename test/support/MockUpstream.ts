import { createServer } from "node:http"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** A request the mock received. */
export interface Received {
  readonly method: string
  readonly path: string
  readonly headers: IncomingMessage["headers"]
  readonly body: Record<string, unknown>
}

export type MockHandler = (req: Received, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>

/** A real loopback HTTP server standing in for a provider. */
export interface MockUpstream {
  readonly url: string
  readonly port: number
  readonly requests: Array<Received>
  /** Resolves when the socket of the n-th request (0-based) closes. */
  readonly closed: (n: number) => Promise<void>
  handler: MockHandler
  readonly close: () => Promise<void>
}

/** Starts a mock upstream on a random loopback port. */
export const startMock = async (handler: MockHandler = openAiJson()): Promise<MockUpstream> => {
  const requests: Array<Received> = []
  const closedWaiters = new Map<number, Promise<void>>()
  const sockets = new Set<import("node:net").Socket>()
  const mock: { handler: MockHandler } = { handler }
  const server = createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (c: Buffer) => parts.push(c))
    req.on("end", () => {
      const text = Buffer.concat(parts).toString("utf8")
      let body: Record<string, unknown> = {}
      try {
        body = text.length > 0 ? JSON.parse(text) as Record<string, unknown> : {}
      } catch {
        body = { _raw: text }
      }
      const received: Received = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body }
      const index = requests.push(received) - 1
      closedWaiters.set(index, new Promise((resolve) => res.once("close", () => resolve())))
      void Promise.resolve(mock.handler(received, res, req)).catch(() => res.destroy())
    })
  })
  server.on("connection", (s) => {
    sockets.add(s)
    s.once("close", () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    closed: (n) => closedWaiters.get(n) ?? Promise.reject(new Error(`no request ${n}`)),
    get handler() {
      return mock.handler
    },
    set handler(h: MockHandler) {
      mock.handler = h
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

/** An OpenAI chat completion answering with text that names the model it was asked for. */
export const chatCompletion = (model: string, content: string) => ({
  id: "chatcmpl-mock",
  object: "chat.completion",
  created: 1_700_000_000,
  model,
  choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
})

/** OpenAI JSON (and SSE when `stream: true`) answering "served by <model>". */
export const openAiJson = (): MockHandler => (req, res) => {
  const model = String(req.body.model)
  if (req.body.stream === true) return openAiStream(["served ", "by ", model])(req, res, undefined as never)
  json(res, 200, chatCompletion(model, `served by ${model}`))
}

const chunk = (model: string, delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${
    JSON.stringify({
      id: "chatcmpl-mock",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }]
    })
  }\n\n`

/** An OpenAI SSE stream of the given text pieces; `gate` (if given) is awaited before the last piece is sent. */
export const openAiStream = (pieces: ReadonlyArray<string>, gate?: () => Promise<void>): MockHandler => async (req, res) => {
  const model = String(req.body.model)
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  res.write(chunk(model, { role: "assistant", content: "" }))
  for (let i = 0; i < pieces.length; i++) {
    if (i === pieces.length - 1 && gate !== undefined) await gate()
    res.write(chunk(model, { content: pieces[i] }))
  }
  res.write(chunk(model, {}, "stop"))
  const options = req.body.stream_options as { include_usage?: boolean } | undefined
  if (options?.include_usage === true) {
    res.write(
      `data: ${
        JSON.stringify({
          id: "chatcmpl-mock",
          object: "chat.completion.chunk",
          created: 1_700_000_000,
          model,
          choices: [],
          usage: { prompt_tokens: 10, completion_tokens: pieces.length, total_tokens: 10 + pieces.length }
        })
      }\n\n`
    )
  }
  res.end("data: [DONE]\n\n")
}

/** Answers every request with the given status and OpenAI-shaped error. */
export const openAiError = (status: number, message: string, type = "server_error"): MockHandler => (_req, res) =>
  json(res, status, { error: { message, type, param: null, code: null } })

/** Never answers (until the socket closes). */
export const hang = (): MockHandler => () => undefined

/** An Anthropic Messages answer naming the model (JSON, or SSE when `stream: true`). */
export const anthropicMessages = (): MockHandler => (req, res) => {
  const model = String(req.body.model)
  const text = `served by ${model}`
  if (req.body.stream !== true) {
    return json(res, 200, {
      id: "msg_mock",
      type: "message",
      role: "assistant",
      model,
      content: [{ type: "text", text }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 4 }
    })
  }
  res.writeHead(200, { "content-type": "text/event-stream" })
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  send("message_start", {
    type: "message_start",
    message: {
      id: "msg_mock",
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 1 }
    }
  })
  send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })
  send("ping", { type: "ping" })
  for (const piece of ["served ", "by ", model]) {
    send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } })
  }
  send("content_block_stop", { type: "content_block_stop", index: 0 })
  send("message_delta", {
    type: "message_delta",
    delta: { stop_reason: "end_turn", stop_sequence: null },
    usage: { output_tokens: 4 }
  })
  send("message_stop", { type: "message_stop" })
  res.end()
}
