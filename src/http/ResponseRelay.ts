import type { OutgoingHttpHeaders, ServerResponse } from "node:http"
import type { Readable, Transform } from "node:stream"
import { fromChatResponse } from "../translation/ChatResponseToMessages.js"
import { chatStreamTranslator } from "../translation/ChatStreamToMessages.js"
import { toAnthropicErrorBody, toOpenAIErrorBody } from "../translation/ErrorTranslation.js"
import type { ClientApi } from "../GatewayError.js"
import { fromMessagesResponse } from "../translation/MessagesResponseToChat.js"
import { messagesStreamTranslator } from "../translation/MessagesStreamToChat.js"
import { markReasoningResponse } from "../translation/Reasoning.js"
import type { Redactor } from "../translation/Redaction.js"
import { toTransform } from "../translation/SseParser.js"
import { streamErrorEvent } from "../translation/StreamErrorEvent.js"
import type { Wire } from "../providers/Providers.js"
import { isTimeout, readBody } from "../providers/Upstream.js"
import type { UpstreamResponse } from "../providers/Upstream.js"
import { readTranslatable, translateSkeleton } from "./JsonSkeleton.js"
import { BodyTooLarge, writeSerialised } from "./TranslatedJson.js"
import type { Serialised } from "./TranslatedJson.js"
import { copyUpstreamHeaders } from "./UpstreamHeaders.js"

/**
 * Pipes upstream bytes to the client and calls `done` once. `stream.pipeline` would do the same but allocates an
 * AbortController per call and aborts it on finish (a DOMException per request), which measured 5% of proxy CPU.
 */
export const pipeTo = (
  source: Readable,
  res: ServerResponse,
  done: (error?: Error) => void,
  through?: Transform,
  lastWords?: (error: Error) => string
) => {
  let settled = false
  const settle = (error?: Error) => {
    if (settled) return
    settled = true
    done(error)
  }
  const fail = (error: Error) => {
    source.destroy()
    if (through !== undefined) {
      through.unpipe(res)
      // Frames already translated but not yet written still go out, ahead of the error.
      for (let chunk: unknown = through.read(); chunk !== null; chunk = through.read()) res.write(chunk)
      through.destroy()
    }
    // A stream cut mid-way still ends with the API's error event, so the client can tell it from a finished one.
    if (lastWords !== undefined && !res.destroyed && !res.writableEnded) res.end(lastWords(error))
    else res.destroy(error)
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
  /** Removes provider keys from upstream error bodies. */
  readonly redact?: Redactor
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

/** 504 for an upstream that stalled past the timeout, else 502, with a message for the client. */
const cutStatus = (error: Error): { readonly status: number; readonly message: string } =>
  isTimeout(error)
    ? { status: 504, message: "The provider stopped sending its response before it was complete (timeout)" }
    : error instanceof BodyTooLarge
    ? { status: 502, message: "The provider's response is larger than the gateway translates" }
    : { status: 502, message: "The provider's connection broke before its response was complete" }

const readWhole = (upstream: UpstreamResponse, limit: number) =>
  readBody(upstream, limit).catch((error: Error) =>
    Promise.reject(error.message.startsWith("upstream body larger") ? new BodyTooLarge(error.message) : error)
  )

/** Answers a failed body read in the client's error shape, unless the response has already started. */
const answerCut = (res: ServerResponse, plan: RelayPlan, error: Error) => {
  const { message, status } = cutStatus(error)
  const body = plan.client === "openai" ? toOpenAIErrorBody(status, message) : toAnthropicErrorBody(status, message)
  writeJson(res, status, { ...plan.extraHeaders }, body)
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
  const redact = plan.redact ?? ((text: string) => text)
  if (status >= 400) {
    readWhole(upstream, 1 << 20).then(
      (raw) => {
        copyUpstreamHeaders(upstream.headers, headers, false)
        const text = redact(raw.toString("utf8"))
        const body = same
          ? text
          : plan.client === "openai"
          ? toOpenAIErrorBody(status, text)
          : toAnthropicErrorBody(status, text)
        Object.assign(headers, plan.extraHeaders)
        if (same && typeof upstream.headers["content-type"] === "string") {
          headers["content-length"] = String(Buffer.byteLength(body))
          res.writeHead(status, headers)
          res.end(body)
        } else writeJson(res, status, headers, body)
        done()
      },
      (error: Error) => {
        answerCut(res, plan, error)
        done(error)
      }
    )
    return
  }
  if (same) {
    copyUpstreamHeaders(upstream.headers, headers, true)
    Object.assign(headers, plan.extraHeaders)
    res.writeHead(status, headers)
    const sse = String(upstream.headers["content-type"] ?? "").includes("text/event-stream")
    const lastWords = plan.stream && sse
      ? (error: Error) => {
        const { message, status } = cutStatus(error)
        // The cut may fall inside a frame: end that frame first.
        return `\n\n${streamErrorEvent(plan.client, status, message)}`
      }
      : undefined
    pipeTo(upstream.body, res, done, undefined, lastWords)
    return
  }
  if (plan.stream) {
    const translator = plan.client === "openai"
      ? messagesStreamTranslator({ includeUsage: plan.includeUsage, model: plan.model })
      : chatStreamTranslator({ model: plan.model })
    copyUpstreamHeaders(upstream.headers, headers, false)
    Object.assign(headers, plan.extraHeaders)
    headers["content-type"] = "text/event-stream; charset=utf-8"
    headers["cache-control"] = "no-cache"
    res.writeHead(status, headers)
    pipeTo(upstream.body, res, done, toTransform(translator), (error) => {
      const { message, status } = cutStatus(error)
      return translator.fail?.(status, message) ?? ""
    })
    return
  }
  readTranslatable(upstream.body, upstream.headers, maxTranslatedBody).then(
    (skeleton) => {
      copyUpstreamHeaders(upstream.headers, headers, false)
      Object.assign(headers, plan.extraHeaders)
      let translated: Serialised
      try {
        translated = translateSkeleton(skeleton, (parsed) => {
          markReasoningResponse(headers, plan.client, parsed)
          return plan.client === "openai"
            ? fromMessagesResponse(parsed as Parameters<typeof fromMessagesResponse>[0], { model: plan.model })
            : fromChatResponse(parsed as Parameters<typeof fromChatResponse>[0], { model: plan.model })
        })
      } catch {
        const message = "The provider returned a response that could not be translated"
        const body = plan.client === "openai" ? toOpenAIErrorBody(502, message) : toAnthropicErrorBody(502, message)
        writeJson(res, 502, headers, body)
        return done()
      }
      writeSerialised(res, status, headers, translated, done)
    },
    (error: Error) => {
      answerCut(res, plan, error)
      done(error)
    }
  )
}
