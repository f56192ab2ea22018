import type { OutgoingHttpHeaders, ServerResponse } from "node:http"
import { renderGatewayError, StateUnavailable } from "../GatewayError.js"
import { fromChatResponse, thinkingItems } from "../translation/ChatResponseToResponses.js"
import { ChatToResponsesStream, responsesStreamTransform } from "../translation/ChatStreamToResponses.js"
import { toOpenAIErrorBody } from "../translation/ErrorTranslation.js"
import type { Redactor } from "../translation/Redaction.js"
import { fromMessagesResponse } from "../translation/MessagesResponseToChat.js"
import { messagesStreamTranslator } from "../translation/MessagesStreamToChat.js"
import type { ResponsesEcho, ResponsesResponse } from "../translation/ResponsesWire.js"
import type { Wire } from "../providers/Providers.js"
import { readBody } from "../providers/Upstream.js"
import type { UpstreamResponse } from "../providers/Upstream.js"
import { pipeTo, writeJson } from "./ResponseRelay.js"
import { copyUpstreamHeaders } from "./UpstreamHeaders.js"

/** How a translated upstream answer reaches a Responses client. */
export interface ResponsesPlan {
  readonly wire: Wire
  readonly stream: boolean
  /** The model name to report when the upstream does not say. */
  readonly model: string
  /** The request fields the response object repeats. */
  readonly echo: ResponsesEcho
  /** `x-routing-*` and `server-timing` headers. */
  readonly extraHeaders: Record<string, string>
  /** Keeps the finished response (conversation state) before the client is told it completed. */
  readonly keep: ((response: ResponsesResponse) => Promise<void>) | undefined
  /** Removes secrets from upstream error bodies. */
  readonly redact: Redactor
}

const maxTranslatedBody = 64 * 1024 * 1024

const failureReason = (error: unknown): string =>
  error instanceof StateUnavailable ? error.reason : error instanceof Error ? error.message : "store failed"

const translateBody = (raw: Buffer, plan: ResponsesPlan): ResponsesResponse => {
  const parsed: unknown = JSON.parse(raw.toString("utf8"))
  if (plan.wire !== "messages") return fromChatResponse(parsed, { echo: plan.echo, model: plan.model })
  const chat = fromMessagesResponse(parsed as Parameters<typeof fromMessagesResponse>[0], { model: plan.model })
  return fromChatResponse(chat, { echo: plan.echo, model: plan.model, reasoning: thinkingItems(parsed) })
}

/**
 * Sends a chat-completions or Messages upstream answer to a Responses client: errors in OpenAI's shape with the
 * upstream status, JSON translated whole, SSE translated frame by frame. A response is kept (`plan.keep`) before
 * it is acknowledged: a JSON answer after keeping, a stream's `response.completed` after keeping; a failed keep is
 * a 503 (or `response.failed`). Calls `done` once the response is finished or abandoned.
 */
export const relayResponses = (
  upstream: UpstreamResponse,
  res: ServerResponse,
  plan: ResponsesPlan,
  done: (error?: Error) => void
) => {
  const status = upstream.statusCode
  const headers: OutgoingHttpHeaders = {}
  if (status >= 400) {
    readBody(upstream, 1 << 20).then(
      (raw) => {
        copyUpstreamHeaders(upstream.headers, headers, false)
        Object.assign(headers, plan.extraHeaders)
        writeJson(res, status, headers, toOpenAIErrorBody(status, plan.redact(raw.toString("utf8"))))
        done()
      },
      (error: Error) => done(error)
    )
    return
  }
  if (plan.stream) {
    const outer = new ChatToResponsesStream({ echo: plan.echo, model: plan.model })
    const inner = plan.wire === "messages"
      ? messagesStreamTranslator({ includeUsage: true, model: plan.model })
      : undefined
    copyUpstreamHeaders(upstream.headers, headers, false)
    Object.assign(headers, plan.extraHeaders)
    headers["content-type"] = "text/event-stream; charset=utf-8"
    headers["cache-control"] = "no-cache"
    res.writeHead(status, headers)
    pipeTo(upstream.body, res, done, responsesStreamTransform(outer, inner, plan.keep))
    return
  }
  readBody(upstream, maxTranslatedBody).then(
    async (raw) => {
      copyUpstreamHeaders(upstream.headers, headers, false)
      Object.assign(headers, plan.extraHeaders)
      let response: ResponsesResponse
      try {
        response = translateBody(raw, plan)
      } catch {
        writeJson(res, 502, headers, toOpenAIErrorBody(502, "The provider returned a response that could not be translated"))
        return done()
      }
      if (plan.keep !== undefined) {
        try {
          await plan.keep(response)
        } catch (error) {
          const rendered = renderGatewayError("openai", new StateUnavailable({ reason: failureReason(error) }))
          writeJson(res, rendered.status, headers, rendered.body)
          return done()
        }
      }
      writeJson(res, status, headers, JSON.stringify(response))
      done()
    },
    (error: Error) => done(error)
  )
}
