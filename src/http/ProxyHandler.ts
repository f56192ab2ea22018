import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import type { IncomingMessage, ServerResponse } from "node:http"
import { fromChatMessages, fromMessagesRequest } from "../routing/Conversation.js"
import { GatewayConfig } from "../config/GatewayConfig.js"
import { isRecord } from "../JsonValue.js"
import { InvalidRequest, InvalidSessionId, NoSuchModel, renderError, renderGatewayError } from "../GatewayError.js"
import type { ClientApi, GatewayError } from "../GatewayError.js"
import { markReasoningRequest } from "../translation/Reasoning.js"
import { redactorFor } from "../translation/Redaction.js"
import { Providers } from "../providers/Providers.js"
import * as RequestBody from "./RequestBody.js"
import type { JsonObject } from "./RequestBody.js"
import { relay, writeJson } from "./ResponseRelay.js"
import { annotate, Attempts } from "./Fallback.js"
import { RouteDecider } from "../routing/RouteDecider.js"
import type { DecisionInput, Selection } from "../routing/RouteDecider.js"
import * as SessionKey from "../pinning/SessionKey.js"
import * as TurnKey from "../routing/TurnKey.js"
import { Cancellation } from "../providers/Upstream.js"
import { Access } from "../auth/Access.js"
import { errorHeaders } from "../GatewayError.js"
import { RequestObserver } from "../observability/RequestObserver.js"
import type { RequestRecord } from "../observability/RequestObserver.js"
import { childSpan, Tracing } from "../observability/Tracing.js"
import { apiOf, noteSelection, sample, traced, upstreamSpan } from "./ProxyTelemetry.js"
import { randomHex } from "../translation/WireIds.js"

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

export const traceIdOf = (req: IncomingMessage): string => {
  const tp = req.headers.traceparent
  if (typeof tp === "string") {
    const parts = tp.split("-")
    if (parts.length >= 2 && parts[1]!.length > 0) return parts[1]!
  }
  return randomHex(16)
}

// Names can come from the client (an inline route, a requested model); Node throws on a header it cannot send.
const headerSafe = (value: string) => /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value)

export const routingHeaders = (selection: Selection): Record<string, string> => {
  const headers: Record<string, string> = {
    "x-routing-model": headerSafe(selection.model),
    "x-routing-reason": selection.reason,
    "x-routing-pin": selection.pin,
    "server-timing": `routing;dur=${selection.routingMs.toFixed(3)}`
  }
  if (selection.route !== null) headers["x-routing-route"] = headerSafe(selection.route)
  return headers
}

const sendJson = (res: ServerResponse, status: number, body: string, extra?: Record<string, string>) =>
  writeJson(res, status, { ...extra }, body)

/** A request that passed the synchronous checks: what the decision and the upstream call need. */
interface Prepared extends DecisionInput {
  readonly api: ClientApi
  readonly body: JsonObject
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
    const access = yield* Access
    const observer = yield* RequestObserver
    const tracing = yield* Tracing
    const attempts = yield* Attempts
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const { maxBodyBytes } = config.listener
    const scopeHeader = config.routing.sessionScopeHeader?.toLowerCase()
    const redact = redactorFor(config)

    /** Everything the decision needs, checked synchronously from the body bytes and headers. */
    const prepare = (
      endpoint: Endpoint,
      req: IncomingMessage,
      raw: Buffer
    ): Either.Either<Prepared, InvalidRequest | InvalidSessionId> => {
      const api = clientApiOf(endpoint)
      const parsed = RequestBody.parseObject(raw)
      if (Either.isLeft(parsed)) return Either.left(parsed.left)
      const body = parsed.right
      const valid = RequestBody.validate(body, api === "openai" ? "chat" : "messages")
      if (Either.isLeft(valid)) return Either.left(valid.left)
      const inline = RequestBody.takeInlinePreferences(body)
      if (Either.isLeft(inline)) return Either.left(inline.left)
      const session = SessionKey.fromHeaders(req.headers, scopeHeader)
      if (Either.isLeft(session)) return Either.left(session.left)
      const requestedModel = typeof body.model === "string" && body.model.length > 0 ? body.model : undefined
      const turns = () => api === "openai" ? fromChatMessages(body.messages) : fromMessagesRequest(body)
      const turn = () => api === "openai" ? TurnKey.ofChat(body.messages) : TurnKey.ofMessages(body)
      return Either.right({
        api,
        body,
        inlinePreferences: inline.right,
        sessionKey: session.right,
        requestedModel,
        turns,
        turn
      })
    }


    const note = (record: RequestRecord, selection: Selection, prepared: Prepared) => {
      const { inlinePreferences, requestedModel, sessionKey } = prepared
      noteSelection(record, selection, requestedModel, inlinePreferences !== undefined, sessionKey)
    }

    const decision = (req: IncomingMessage, res: ServerResponse, prepared: Prepared, record: RequestRecord) =>
      Effect.map(decideKnown(prepared).pipe(childSpan("switchyard.route")), (selection) => {
        note(record, selection, prepared)
        const answer: Record<string, unknown> = {
          models: selection.candidates.length > 0 ? selection.candidates : [selection.model],
          route: selection.route,
          trace_id: record.span?.traceId ?? traceIdOf(req)
        }
        if (prepared.sessionKey !== undefined) answer.session_id = SessionKey.unscoped(prepared.sessionKey).id
        answer.pinned = selection.pin === "hit"
        answer.reason = selection.reason
        answer.confidence = selection.confidence ?? null
        answer.latency_ms = Number(selection.routingMs.toFixed(3))
        sendJson(res, 200, JSON.stringify(answer), routingHeaders(selection))
      })

    /** The decision for a request, refusing (like the proxy) a model no provider serves. */
    const decideKnown = (prepared: Prepared) => {
      const requested = prepared.requestedModel
      return requested !== undefined && providers.resolve(requested) === undefined
        ? Effect.fail(new NoSuchModel({ model: requested }))
        : decider.decide(prepared)
    }

    /** Per-exchange state the error path needs: the abort switch and, once decided, the routing headers. */
    interface Exchange {
      readonly abort: Cancellation
      decided: Record<string, string> | undefined
      readonly record: RequestRecord
    }

    /**
     * Decides, then starts relaying the upstream response. With `awaitResponse` the effect completes when the client's
     * response ends (the HttpApp mount needs that); the Node listener lets Node's events finish the relay instead.
     */
    const proxy = (
      req: IncomingMessage,
      res: ServerResponse,
      prepared: Prepared,
      exchange: Exchange,
      awaitResponse: boolean
    ) =>
      Effect.gen(function*() {
        const { api, body, requestedModel } = prepared
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
        const { record } = exchange
        const selection = yield* decider.decide(prepared).pipe(childSpan("switchyard.route"))
        note(record, selection, prepared)
        const extraHeaders = routingHeaders(selection)
        exchange.decided = extraHeaders
        const target = selection.target
        if (target === undefined) return yield* new NoSuchModel({ model: selection.model })
        yield* access.limit(req, target.name)
        observer.upstreamStarted(record)
        // Filled by the upstream span (traceparent) before the first attempt is sent.
        const traceHeaders: Record<string, string> = {}
        const served = yield* attempts.serve(
          {
            api,
            body,
            headers: req.headers,
            sessionKey: prepared.sessionKey,
            signal: exchange.abort,
            upstreamHeaders: traceHeaders
          },
          selection,
          target
        ).pipe(
          Effect.tapError((error) =>
            Effect.sync(() => {
              if (error._tag === "UpstreamTimeout") record.upstreamError = "timeout"
              else if (error._tag === "UpstreamUnavailable") record.upstreamError = "connect"
            })
          ),
          upstreamSpan(req, traceHeaders, target.modelId)
        )
        annotate(extraHeaders, selection, served)
        const { response, wire } = served
        if ((api === "openai") !== (wire === "chat")) markReasoningRequest(extraHeaders, api, body)
        observer.upstreamAnswered(record, response.statusCode, response.body)
        const streamOptions = body.stream_options
        const plan = {
          client: api,
          wire,
          stream: body.stream === true,
          includeUsage: isRecord(streamOptions) && streamOptions.include_usage === true,
          model: served.target.modelId,
          extraHeaders,
          redact
        } as const
        const start = (finished: () => void) =>
          relay(response, res, plan, (error) => {
            if (error !== undefined && !exchange.abort.aborted) record.upstreamError ??= "stream_aborted"
            observer.settle(record)
            if (!res.writableEnded) res.destroy()
            finished()
          })
        if (awaitResponse) yield* Effect.async<void>((resume) => start(() => resume(Effect.void)))
        else start(() => undefined)
      })

    const failed = (api: ClientApi, res: ServerResponse, exchange: Exchange) => (cause: Cause.Cause<GatewayError>) =>
      Effect.gen(function*() {
        if (Cause.isInterruptedOnly(cause)) return
        const failure = Cause.failureOption(cause)
        if (failure._tag === "Some") {
          const rendered = renderGatewayError(api, failure.value)
          if (rendered.status >= 500) yield* Effect.logWarning(failure.value.message)
          return sendJson(res, rendered.status, rendered.body, { ...exchange.decided, ...errorHeaders(failure.value) })
        }
        yield* Effect.logError("unexpected failure in the proxy", cause)
        const rendered = renderError(api, 500, "server_error", "internal_error", "Internal gateway error")
        if (res.headersSent) res.destroy()
        else sendJson(res, rendered.status, rendered.body, exchange.decided)
      })

    const exchangeOf = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): Exchange => {
      const record = observer.begin(req, res, apiOf(endpoint))
      const exchange: Exchange = { abort: new Cancellation(), decided: undefined, record }
      res.once("close", () => {
        if (!res.writableFinished) exchange.abort.abort()
      })
      return exchange
    }

    const work = (
      endpoint: Endpoint,
      req: IncomingMessage,
      res: ServerResponse,
      raw: Buffer,
      exchange: Exchange,
      awaitResponse: boolean
    ): Effect.Effect<void> => {
      const api = clientApiOf(endpoint)
      exchange.record.bytesIn = raw.length
      const sampled = sample(tracing, req)
      const run = access.admit(req, raw.length, () => prepare(endpoint, req, raw)).pipe(
        Effect.flatMap((prepared) =>
          endpoint === "chat" || endpoint === "messages"
            ? proxy(req, res, prepared, exchange, awaitResponse || sampled !== undefined)
            : decision(req, res, prepared, exchange.record)
        )
      )
      const program = run.pipe(Effect.catchAllCause(failed(api, res, exchange)))
      return sampled === undefined ? program : traced(sampled, exchange.record, req, res, program)
    }

    /** The whole exchange for one request as an Effect (used by the HttpApp mount); completes when the response ends. */
    const program = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): Effect.Effect<void> =>
      Effect.suspend(() => {
        const exchange = exchangeOf(endpoint, req, res)
        return RequestBody.read(req, maxBodyBytes).pipe(
          Effect.matchCauseEffect({
            onFailure: failed(clientApiOf(endpoint), res, exchange),
            onSuccess: (raw) => work(endpoint, req, res, raw, exchange, true)
          })
        )
      })

    /** A Node request listener for the lean-path endpoints: the body is read on Node events, then one fiber decides. */
    const handle = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): void => {
      const exchange = exchangeOf(endpoint, req, res)
      RequestBody.readWith(req, maxBodyBytes, (raw) => {
        if (Either.isLeft(raw)) {
          const rendered = renderGatewayError(clientApiOf(endpoint), raw.left)
          return sendJson(res, rendered.status, rendered.body)
        }
        const fiber = runFork(work(endpoint, req, res, raw.right, exchange, false))
        res.once("close", () => {
          if (!res.writableFinished) fiber.unsafeInterruptAsFork(fiber.id())
        })
      })
    }

    return { handle, program } as const
  })
}) {}
