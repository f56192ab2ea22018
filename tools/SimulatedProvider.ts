import { createServer } from "node:http"
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { pathToFileURL } from "node:url"
import { fromChatMessages, fromMessagesRequest, lastUserText } from "../src/routing/Conversation.js"
import type { Turn } from "../src/routing/Conversation.js"

/** One request the simulated provider received. */
export interface SimulatedRequest {
  readonly method: string
  readonly path: string
  /** The request's `model` field ("" when absent). */
  readonly model: string
  readonly stream: boolean
  readonly headers: IncomingHttpHeaders
  /** The parsed JSON body (undefined for GET or unparsable bodies). */
  readonly body: unknown
}

/** Knobs for tests; the defaults suit the demo. */
export interface SimulatedProviderOptions {
  /** Delay between streamed frames (default 0); a slow stream lets tests disconnect mid-stream. */
  readonly chunkDelayMs?: number
  /** Model ids listed by `GET /v1/models`. */
  readonly models?: ReadonlyArray<string>
}

/** A running simulated provider. `url` has no `/v1` suffix (append it for the OpenAI SDK's `baseURL`). */
export interface SimulatedProvider {
  readonly url: string
  readonly port: number
  readonly requests: Array<SimulatedRequest>
  readonly close: () => Promise<void>
}

interface Canned {
  readonly keywords: RegExp
  /** The reply of a model seeing the topic fresh. */
  readonly fresh: string
  /** The reply of a model that wrote the previous assistant turn itself (a pinned session). */
  readonly continued: string
}

// Checked in reverse demo-step order: a later step's prompt tends to mention the earlier steps' topics.
const canned: ReadonlyArray<Canned> = [
  {
    keywords: /report|recommend/i,
    fresh: "RECOMMENDATION: PostgreSQL is the right choice for this e-commerce platform: ACID orders, JSONB for the " +
      "catalog, proven scaling paths.",
    continued: "RECOMMENDATION: Based on my analysis of requirements, the head-to-head comparison, the schema I " +
      "designed, and the scalability trade-offs, PostgreSQL is the right choice."
  },
  {
    keywords: /scalab/i,
    fresh: "At high write volume, PostgreSQL row-level locking and MVCC keep order writes consistent; read replicas " +
      "absorb catalog browsing.",
    continued: "Given the schema I designed, PostgreSQL's row-level locking keeps order writes safe, and read " +
      "replicas plus partitioning carry peak load."
  },
  {
    keywords: /schema|create table/i,
    fresh: "CREATE TABLE orders (\n  id SERIAL PRIMARY KEY,\n  customer_id BIGINT NOT NULL,\n  total NUMERIC(12, 2) " +
      "NOT NULL\n);",
    continued: "Following the comparison above, here is the PostgreSQL schema:\nCREATE TABLE orders (\n  id SERIAL " +
      "PRIMARY KEY,\n  customer_id BIGINT NOT NULL,\n  attributes JSONB NOT NULL DEFAULT '{}'\n);"
  },
  {
    keywords: /compar|versus|\bvs\b/i,
    fresh: "PostgreSQL excels at joins and ACID guarantees; MongoDB offers schema flexibility for product data.",
    continued: "Building on the requirements I just outlined: PostgreSQL meets the ACID and join needs, and JSONB " +
      "covers most of MongoDB's flexibility."
  },
  {
    keywords: /requirement/i,
    fresh: "Critical requirements: 1. ACID transactions for order integrity, 2. flexible product attributes, " +
      "3. high read throughput, 4. horizontal scaling for peak sales.",
    continued: "Critical requirements: 1. ACID transactions for order integrity, 2. flexible product attributes, " +
      "3. high read throughput, 4. horizontal scaling for peak sales."
  }
]

const DEFAULT_REPLY = "Hello! This is a simulated reply."

/** The canned reply to a conversation: `[<model>] ` and a line chosen by keywords in the latest user text. */
export const cannedReply = (model: string, turns: ReadonlyArray<Turn>): string => {
  const prefix = `[${model}]`
  const question = lastUserText(turns)
  const entry = canned.find((c) => c.keywords.test(question))
  if (entry === undefined) return `${prefix} ${DEFAULT_REPLY}`
  const previous = turns.findLast((t) => t.role === "assistant" && t.content.length > 0)
  const continued = previous !== undefined && previous.content.startsWith(`${prefix} `)
  return `${prefix} ${continued ? entry.continued : entry.fresh}`
}

const tokensOf = (text: string): number => Math.max(1, Math.ceil(Buffer.byteLength(text, "utf8") / 4))

/** Splits a reply into a few word-aligned pieces, so clients see several deltas. */
const piecesOf = (text: string): Array<string> => {
  const words = text.match(/\s*\S+/g) ?? [text]
  const per = Math.max(1, Math.ceil(words.length / 4))
  const pieces: Array<string> = []
  for (let i = 0; i < words.length; i += per) pieces.push(words.slice(i, i + per).join(""))
  return pieces
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => parts.push(chunk))
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")))
    req.on("error", reject)
  })

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const sendJson = (res: ServerResponse, status: number, body: unknown, requestId: string) => {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-request-id": requestId,
    "request-id": requestId
  })
  res.end(text)
}

const openAiError = (message: string, type: string) => ({ error: { message, type, param: null, code: null } })
const anthropicError = (message: string, type: string) => ({ type: "error", error: { type, message } })

/**
 * Starts the simulated OpenAI + Anthropic provider on 127.0.0.1 (`port` 0 = a free port). A request for model
 * `error-<status>` (e.g. `error-503`) is answered with that status in the API's own error shape.
 */
export const startSimulatedProvider = (
  port = 0,
  options: SimulatedProviderOptions = {}
): Promise<SimulatedProvider> => {
  const chunkDelayMs = options.chunkDelayMs ?? 0
  const models = options.models ?? ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4-20250514"]
  const requests: Array<SimulatedRequest> = []
  let counter = 0

  const writeFrames = async (res: ServerResponse, frames: ReadonlyArray<string>) => {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "connection": "keep-alive"
    })
    for (const [i, frame] of frames.entries()) {
      if (res.destroyed) return
      if (i > 0 && chunkDelayMs > 0) await sleep(chunkDelayMs)
      res.write(frame)
    }
    res.end()
  }

  const chat = async (res: ServerResponse, body: Record<string, unknown>, model: string, stream: boolean) => {
    const id = `chatcmpl-sim-${++counter}`
    const created = Math.floor(Date.now() / 1000)
    const turns = fromChatMessages(body.messages)
    const text = cannedReply(model, turns)
    const usage = {
      prompt_tokens: tokensOf(JSON.stringify(body.messages ?? [])),
      completion_tokens: tokensOf(text),
      total_tokens: 0
    }
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
    if (!stream) {
      return sendJson(res, 200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{
          index: 0,
          message: { role: "assistant", content: text, refusal: null },
          logprobs: null,
          finish_reason: "stop"
        }],
        usage
      }, id)
    }
    const streamOptions = body.stream_options
    const includeUsage = isRecord(streamOptions) && streamOptions.include_usage === true
    const chunk = (choices: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) =>
      `data: ${
        JSON.stringify({
          id,
          object: "chat.completion.chunk",
          created,
          model,
          choices,
          ...(includeUsage ? { usage: null } : {}),
          ...extra
        })
      }\n\n`
    const frames = [
      chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]),
      ...piecesOf(text).map((piece) =>
        chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }])
      ),
      chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]),
      ...(includeUsage ? [chunk([], { usage })] : []),
      "data: [DONE]\n\n"
    ]
    res.setHeader("x-request-id", id)
    await writeFrames(res, frames)
  }

  const messages = async (res: ServerResponse, body: Record<string, unknown>, model: string, stream: boolean) => {
    const id = `msg_sim_${++counter}`
    const turns = fromMessagesRequest(body)
    const text = cannedReply(model, turns)
    const inputTokens = tokensOf(JSON.stringify([body.system ?? "", body.messages ?? []]))
    const outputTokens = tokensOf(text)
    if (!stream) {
      return sendJson(res, 200, {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [{ type: "text", text }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: outputTokens }
      }, id)
    }
    const event = (data: { readonly type: string; readonly [key: string]: unknown }) =>
      `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`
    const frames = [
      event({
        type: "message_start",
        message: {
          id,
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: inputTokens, output_tokens: 1 }
        }
      }),
      event({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      event({ type: "ping" }),
      ...piecesOf(text).map((piece) =>
        event({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } })
      ),
      event({ type: "content_block_stop", index: 0 }),
      event({
        type: "message_delta",
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: outputTokens }
      }),
      event({ type: "message_stop" })
    ]
    res.setHeader("request-id", id)
    await writeFrames(res, frames)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!
    const method = req.method ?? "GET"
    const raw = method === "POST" ? await readBody(req) : ""
    let body: unknown = undefined
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw)
      } catch {
        body = undefined
      }
    }
    const record = isRecord(body) ? body : undefined
    const model = typeof record?.model === "string" ? record.model : ""
    const stream = record?.stream === true
    requests.push({ method, path, model, stream, headers: req.headers, body })
    const errorShape = path === "/v1/messages" ? anthropicError : openAiError

    if (method === "GET" && path === "/v1/models") {
      // One shape both SDKs accept: OpenAI's list plus Anthropic's paging fields.
      const data = models.map((id) => ({
        id,
        object: "model",
        type: "model",
        created: 1_700_000_000,
        created_at: "2023-11-14T22:13:20Z",
        owned_by: "simulated",
        display_name: id
      }))
      return sendJson(res, 200, {
        object: "list",
        data,
        has_more: false,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null
      }, "models")
    }
    if (method !== "POST" || (path !== "/v1/chat/completions" && path !== "/v1/messages")) {
      return sendJson(res, 404, errorShape(`no route ${method} ${path}`, "not_found_error"), "404")
    }
    if (record === undefined) {
      return sendJson(res, 400, errorShape("request body is not a JSON object", "invalid_request_error"), "400")
    }
    if (model === "") {
      return sendJson(res, 400, errorShape("model is required", "invalid_request_error"), "400")
    }
    const failure = /^error-([1-5]\d\d)$/.exec(model)
    if (failure !== null) {
      const status = Number(failure[1])
      return sendJson(res, status, errorShape(`simulated failure ${status}`, "api_error"), String(status))
    }
    return path === "/v1/chat/completions"
      ? chat(res, record, model, stream)
      : messages(res, record, model, stream)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((cause: unknown) => {
      if (!res.headersSent) sendJson(res, 500, openAiError(String(cause), "server_error"), "500")
      else res.destroy()
    })
  })

  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      const address = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        port: address.port,
        requests,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err === undefined ? done() : fail(err)))
            server.closeAllConnections()
          })
      })
    })
  })
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const provider = await startSimulatedProvider(Number(process.argv[2] ?? 0))
  console.log(`simulated provider on ${provider.url} (OpenAI base URL ${provider.url}/v1, Anthropic ${provider.url})`)
}
