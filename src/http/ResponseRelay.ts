import type { OutgoingHttpHeaders, ServerResponse } from "node:http"
import type { Readable, Transform } from "node:stream"
import { fromChatResponse } from "../translation/ChatResponseToMessages.js"
import { chatStreamToMessages } from "../translation/ChatStreamToMessages.js"
import { toAnthropicErrorBody, toOpenAIErrorBody } from "../translation/ErrorTranslation.js"
import type { ClientApi } from "../GatewayError.js"
import { fromMessagesResponse } from "../translation/MessagesResponseToChat.js"
import { messagesStreamToChat } from "../translation/MessagesStreamToChat.js"
import type { Wire } from "../providers/Providers.js"
import { readBody } from "../providers/Upstream.js"
import type { UpstreamResponse } from "../providers/Upstream.js"

/** Upstream response headers that describe the hop, not the payload; never copied to the client. */
const hopHeaders = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "proxy-connection",
  "upgrade",
  "trailer",
  "te",
  "date",
  "server"
])

export const copyHeaders = (
  from: UpstreamResponse["headers"],
  into: OutgoingHttpHeaders,
  keepLength: boolean
) => {
  for (const name in from) {
    const value = from[name]
    if (value === undefined) continue
    if (hopHeaders.has(name) && !(keepLength && name === "content-length")) continue
    into[name] = value
  }
}

/**
 * Pipes upstream bytes to the client and calls `done` once. `stream.pipeline` would do the same but allocates an
 * AbortController per call and aborts it on finish (a DOMException per request), which measured 5% of proxy CPU.
 */
export const pipeTo = (source: Readable, res: ServerResponse, done: (error?: Error) => void, through?: Transform) => {
  let settled = false
  const settle = (error?: Error) => {
    if (settled) return
    settled = true
    done(error)
  }
  const fail = (error: Error) => {
    source.destroy()
    through?.destroy()
    res.destroy(error)
    settle(error)
  }
  source.once("error", fail)
  through?.once("error", fail)
  res.once("finish", () => settle())
  res.once("close", () => {
    if (!res.writableFinished) {
      // The client went away: stop reading from the provider.
      source.destroy()
      through?.destroy()
    }
    settle()
  })
  if (through === undefined) source.pipe(res)
  else source.pipe(through).pipe(res)
}

const maxTranslatedBody = 64 * 1024 * 1024

/** How one upstream response reaches the client. */
export interface RelayPlan {
  readonly client: ClientApi
  readonly wire: Wire
  readonly stream: boolean
  /** For OpenAI clients of an Anthropic upstream: emit the final usage chunk. */
  readonly includeUsage: boolean
  /** The model name to report when the upstream does not say. */
  readonly model: string
  /** `x-routing-*` and `server-timing` headers. */
  readonly extraHeaders: Record<string, string>
}

const sameApi = (plan: RelayPlan) => (plan.client === "openai") === (plan.wire === "chat")

/** Answers with a JSON body (`headers` may be extended); does nothing once the response has started or gone. */
export const writeJson = (res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string) => {
  if (res.headersSent || res.destroyed) return
  headers["content-type"] = "application/json"
  headers["content-length"] = String(Buffer.byteLength(body))
  res.writeHead(status, headers)
  res.end(body)
}

/**
 * Sends an upstream response to the client: same-API bodies are piped byte for byte; cross-API bodies are translated
 * (frame by frame for streams); errors keep the upstream status and take the client's error shape.
 * Calls `done` once the response is finished or abandoned.
 */
export const relay = (upstream: UpstreamResponse, res: ServerResponse, plan: RelayPlan, done: (error?: Error) => void) => {
  const status = upstream.statusCode
  const headers: OutgoingHttpHeaders = {}
  const same = sameApi(plan)
  if (status >= 400) {
    readBody(upstream, 1 << 20).then(
      (raw) => {
        copyHeaders(upstream.headers, headers, false)
        const body = same
          ? raw.toString("utf8")
          : plan.client === "openai"
          ? toOpenAIErrorBody(status, raw)
          : toAnthropicErrorBody(status, raw)
        Object.assign(headers, plan.extraHeaders)
        if (same && typeof upstream.headers["content-type"] === "string") {
          headers["content-length"] = String(Buffer.byteLength(body))
          res.writeHead(status, headers)
          res.end(body)
        } else writeJson(res, status, headers, body)
        done()
      },
      (error: Error) => done(error)
    )
    return
  }
  if (same) {
    copyHeaders(upstream.headers, headers, true)
    Object.assign(headers, plan.extraHeaders)
    res.writeHead(status, headers)
    pipeTo(upstream.body, res, done)
    return
  }
  if (plan.stream) {
    const translator: Transform = plan.client === "openai"
      ? messagesStreamToChat({ includeUsage: plan.includeUsage, model: plan.model })
      : chatStreamToMessages({ model: plan.model })
    copyHeaders(upstream.headers, headers, false)
    Object.assign(headers, plan.extraHeaders)
    headers["content-type"] = "text/event-stream; charset=utf-8"
    headers["cache-control"] = "no-cache"
    res.writeHead(status, headers)
    pipeTo(upstream.body, res, done, translator)
    return
  }
  readBody(upstream, maxTranslatedBody).then(
    (raw) => {
      let answered = status
      let body: string
      try {
        const parsed: unknown = JSON.parse(raw.toString("utf8"))
        body = JSON.stringify(
          plan.client === "openai"
            ? fromMessagesResponse(parsed as Parameters<typeof fromMessagesResponse>[0], { model: plan.model })
            : fromChatResponse(parsed as Parameters<typeof fromChatResponse>[0], { model: plan.model })
        )
      } catch {
        answered = 502
        const message = "The provider returned a response that could not be translated"
        body = plan.client === "openai" ? toOpenAIErrorBody(502, message) : toAnthropicErrorBody(502, message)
      }
      copyHeaders(upstream.headers, headers, false)
      Object.assign(headers, plan.extraHeaders)
      writeJson(res, answered, headers, body)
      done()
    },
    (error: Error) => done(error)
  )
}
