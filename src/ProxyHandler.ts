import { Cause, Effect, Either, Runtime } from "effect"
import { randomBytes } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { MessagesRequest } from "./AnthropicWire.js"
import { toMessagesRequest } from "./ChatToMessages.js"
import type { TranslationError } from "./ErrorTranslation.js"
import { fromChatMessages, fromMessagesRequest } from "./Conversation.js"
import { GatewayConfig } from "./GatewayConfig.js"
import { InvalidRequest, NoSuchModel, renderError, renderGatewayError, UpstreamTimeout, UpstreamUnavailable } from "./GatewayError.js"
import type { ClientApi, GatewayError } from "./GatewayError.js"
import { toChatRequest } from "./MessagesToChat.js"
import type { ChatRequest } from "./OpenAiWire.js"
import { Providers } from "./Providers.js"
import * as RequestBody from "./RequestBody.js"
import type { JsonObject } from "./RequestBody.js"
import { relay } from "./ResponseRelay.js"
import { RouteDecider } from "./RouteDecider.js"
import type { Selection } from "./RouteDecider.js"
import * as SessionKey from "./SessionKey.js"
import { Upstream } from "./Upstream.js"
import type { UpstreamResponse } from "./Upstream.js"

/** The endpoints served on the lean path. */
export type Endpoint = "chat" | "messages" | "route-chat" | "route-messages"

const endpoints: Readonly<Record<string, Endpoint>> = {
  "/v1/chat/completions": "chat",
  "/v1/messages": "messages",
  "/routing/v1/chat/completions": "route-chat",
  "/routing/v1/messages": "route-messages"
}

/** The lean-path endpoint of a request, if it is one (POST only). */
export const endpointOf = (method: string | undefined, url: string | undefined): Endpoint | undefined => {
  if (method !== "POST" || url === undefined) return undefined
  const q = url.indexOf("?")
  return endpoints[q < 0 ? url : url.slice(0, q)]
}

const clientApiOf = (endpoint: Endpoint): ClientApi =>
  endpoint === "messages" || endpoint === "route-messages" ? "anthropic" : "openai"

const traceIdOf = (req: IncomingMessage): string => {
  const tp = req.headers.traceparent
  if (typeof tp === "string") {
    const parts = tp.split("-")
    if (parts.length >= 2 && parts[1]!.length > 0) return parts[1]!
  }
  return randomBytes(16).toString("hex")
}

const routingHeaders = (selection: Selection): Record<string, string> => {
  const headers: Record<string, string> = {
    "x-routing-model": selection.model,
    "x-routing-reason": selection.reason,
    "x-routing-pin": selection.pin,
    "server-timing": `routing;dur=${selection.routingMs.toFixed(3)}`
  }
  if (selection.route !== null) headers["x-routing-route"] = selection.route
  return headers
}

const sendJson = (res: ServerResponse, status: number, body: string, extra?: Record<string, string>) => {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, { ...extra, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) })
  res.end(body)
}

/**
 * The hot path: `/v1/chat/completions`, `/v1/messages` and the `/routing/v1/*` decision endpoints. Decisions run as
 * Effect programs; request and response bytes stay on Node streams and undici.
 */
export class ProxyHandler extends Effect.Service<ProxyHandler>()("switchyard/ProxyHandler", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const providers = yield* Providers
    const decider = yield* RouteDecider
    const upstream = yield* Upstream
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const { maxBodyBytes, timeoutMs } = config.listener
    const scopeHeader = config.routing.sessionScopeHeader?.toLowerCase()

    const prepare = (endpoint: Endpoint, req: IncomingMessage) =>
      Effect.gen(function*() {
        const api = clientApiOf(endpoint)
        const raw = yield* RequestBody.read(req, maxBodyBytes)
        const body = yield* RequestBody.parseObject(raw)
        yield* RequestBody.validate(body, api === "openai" ? "chat" : "messages")
        const inlinePreferences = yield* RequestBody.takeInlinePreferences(body)
        const sessionKey = yield* Either.match(SessionKey.fromHeaders(req.headers, scopeHeader), {
          onLeft: Effect.fail,
          onRight: Effect.succeed
        })
        const requestedModel = typeof body.model === "string" && body.model.length > 0 ? body.model : undefined
        const turns = () => api === "openai" ? fromChatMessages(body.messages) : fromMessagesRequest(body)
        return { api, body, inlinePreferences, sessionKey, requestedModel, turns }
      })

    const decision = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse) =>
      Effect.gen(function*() {
        const { inlinePreferences, requestedModel, sessionKey, turns } = yield* prepare(endpoint, req)
        const selection = yield* decider.decide({ requestedModel, sessionKey, inlinePreferences, turns })
        const models = selection.candidates.length > 0 ? selection.candidates : [selection.model]
        const answer: Record<string, unknown> = {
          models,
          route: selection.route,
          trace_id: traceIdOf(req)
        }
        if (sessionKey !== undefined) answer.session_id = SessionKey.unscoped(sessionKey).id
        answer.pinned = selection.pin === "hit"
        answer.reason = selection.reason
        answer.confidence = selection.confidence ?? null
        answer.latency_ms = Number(selection.routingMs.toFixed(3))
        sendJson(res, 200, JSON.stringify(answer), routingHeaders(selection))
      })

    const upstreamBody = (
      api: ClientApi,
      wire: "chat" | "messages",
      body: JsonObject,
      modelId: string
    ): Either.Either<string, TranslationError> => {
      if ((api === "openai") === (wire === "chat")) {
        body.model = modelId
        return Either.right(JSON.stringify(body))
      }
      return api === "openai"
        ? Either.map(toMessagesRequest(body as ChatRequest, { model: modelId }), (b) => JSON.stringify(b))
        : Either.map(
          toChatRequest(body as MessagesRequest, { model: modelId, stream: body.stream === true }),
          (b) => JSON.stringify(b)
        )
    }

    /** Per-exchange state the error path needs: the abort switch and, once decided, the routing headers. */
    interface Exchange {
      readonly abort: AbortController
      decided: Record<string, string> | undefined
    }

    const proxy = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse, exchange: Exchange) =>
      Effect.gen(function*() {
        const { api, body, inlinePreferences, requestedModel, sessionKey, turns } = yield* prepare(endpoint, req)
        if (requestedModel !== undefined && providers.resolve(requestedModel) === undefined) {
          return yield* new NoSuchModel({ model: requestedModel })
        }
        if (requestedModel === undefined && providers.defaultTarget === undefined) {
          return yield* new InvalidRequest({
            reason: "Missing 'model': send one, or mark a provider `default: true` in the config",
            code: "missing_required_parameter",
            param: "model"
          })
        }
        const selection = yield* decider.decide({ requestedModel, sessionKey, inlinePreferences, turns })
        exchange.decided = routingHeaders(selection)
        const target = selection.target
        if (target === undefined) return yield* new NoSuchModel({ model: selection.model })
        const endpointInfo = providers.endpoint(target, req.headers)
        if (Either.isLeft(endpointInfo)) return yield* endpointInfo.left
        const { headers, origin, path, wire } = endpointInfo.right
        const payload = upstreamBody(api, wire, body, target.modelId)
        if (Either.isLeft(payload)) {
          return yield* new InvalidRequest({ reason: payload.left.message, code: "untranslatable_request" })
        }
        const extraHeaders = exchange.decided
        const abort = exchange.abort
        let timedOut = false
        const timer = setTimeout(() => {
          timedOut = true
          abort.abort()
        }, timeoutMs)
        const response = yield* Effect.tryPromise({
          try: (): Promise<UpstreamResponse> =>
            upstream.send({ origin, path, method: "POST", headers, body: payload.right, signal: abort.signal }),
          catch: (cause): GatewayError =>
            timedOut
              ? new UpstreamTimeout({ provider: target.name, timeoutMs })
              : new UpstreamUnavailable({
                provider: target.name,
                reason: cause instanceof Error ? cause.message : "connection failed"
              })
        }).pipe(Effect.tapError(() => Effect.sync(() => clearTimeout(timer))))
        const streamOptions = body.stream_options
        yield* Effect.async<void>((resume) => {
          relay(response, res, {
            client: api,
            wire,
            stream: body.stream === true,
            includeUsage: typeof streamOptions === "object" && streamOptions !== null &&
              (streamOptions as Record<string, unknown>).include_usage === true,
            model: target.modelId,
            extraHeaders
          }, () => {
            clearTimeout(timer)
            if (!res.writableEnded) res.destroy()
            resume(Effect.void)
          })
        })
      })

    const failed = (api: ClientApi, res: ServerResponse, exchange: Exchange) => (cause: Cause.Cause<GatewayError>) =>
      Effect.gen(function*() {
        if (Cause.isInterruptedOnly(cause)) return
        const failure = Cause.failureOption(cause)
        if (failure._tag === "Some") {
          const rendered = renderGatewayError(api, failure.value)
          if (rendered.status >= 500) yield* Effect.logWarning(failure.value.message)
          return sendJson(res, rendered.status, rendered.body, exchange.decided)
        }
        yield* Effect.logError("unexpected failure in the proxy", cause)
        const rendered = renderError(api, 500, "server_error", "internal_error", "Internal gateway error")
        if (res.headersSent) res.destroy()
        else sendJson(res, rendered.status, rendered.body, exchange.decided)
      })

    /** The whole exchange for one request as an Effect (used by the HttpApp mount); completes when the response ends. */
    const program = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): Effect.Effect<void> => {
      const exchange: Exchange = { abort: new AbortController(), decided: undefined }
      res.once("close", () => {
        if (!res.writableFinished) exchange.abort.abort()
      })
      const api = clientApiOf(endpoint)
      const work = endpoint === "chat" || endpoint === "messages"
        ? proxy(endpoint, req, res, exchange)
        : decision(endpoint, req, res)
      return work.pipe(Effect.catchAllCause(failed(api, res, exchange)))
    }

    /** A Node request listener for the lean-path endpoints. */
    const handle = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): void => {
      const fiber = runFork(program(endpoint, req, res))
      res.once("close", () => {
        if (!res.writableFinished) fiber.unsafeInterruptAsFork(fiber.id())
      })
    }

    return { handle, program } as const
  })
}) {}
