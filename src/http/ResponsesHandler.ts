import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type { IncomingMessage, ServerResponse } from "node:http"
import { GatewayConfig } from "../config/GatewayConfig.js"
import {
  ConversationNotFound,
  InvalidRequest,
  NoSuchModel,
  renderError,
  renderGatewayError
} from "../GatewayError.js"
import { Access } from "../auth/Access.js"
import type { GatewayError } from "../GatewayError.js"
import { errorHeaders } from "../GatewayError.js"
import { isRecord, stringOr } from "../JsonValue.js"
import * as SessionKey from "../pinning/SessionKey.js"
import type { ModelTarget } from "../providers/Providers.js"
import { Providers } from "../providers/Providers.js"
import { Cancellation, Upstream } from "../providers/Upstream.js"
import { fromChatMessages } from "../routing/Conversation.js"
import { RouteDecider } from "../routing/RouteDecider.js"
import * as TurnKey from "../routing/TurnKey.js"
import type { DecisionInput } from "../routing/RouteDecider.js"
import { ConversationStore } from "../state/ConversationStore.js"
import { toMessagesRequest } from "../translation/ChatToMessages.js"
import { redactorFor } from "../translation/Redaction.js"
import type { TranslationError } from "../translation/ErrorTranslation.js"
import { echoOf, inputItems, routingMessages, toChatRequest } from "../translation/ResponsesToChat.js"
import type { ResponsesResponse } from "../translation/ResponsesWire.js"
import { routingHeaders, traceIdOf } from "./ProxyHandler.js"
import * as RequestBody from "./RequestBody.js"
import type { JsonObject } from "./RequestBody.js"
import { relay, writeJson } from "./ResponseRelay.js"
import { relayResponses } from "./ResponsesRelay.js"
import { sendOnce } from "./UpstreamCall.js"

/** The Responses endpoints: the proxy and the routing decision. */
export type ResponsesEndpoint = "responses" | "route-responses"

/** The Responses endpoint of a request, if it is one (POST only). */
export const responsesEndpointOf = (method: string | undefined, url: string | undefined): ResponsesEndpoint | undefined => {
  if (method !== "POST" || url === undefined) return undefined
  const q = url.indexOf("?")
  const path = q < 0 ? url : url.slice(0, q)
  return path === "/v1/responses" ? "responses" : path === "/routing/v1/responses" ? "route-responses" : undefined
}

/** Providers that serve `POST /v1/responses` themselves (and keep its conversation state). */
const nativePrefixes = new Set(["openai", "xai"])

const isNative = (target: ModelTarget): boolean =>
  target.provider.interface === "openai" && nativePrefixes.has(target.provider.provider)

const validate = (body: JsonObject): Either.Either<void, InvalidRequest> => {
  const invalid = (param: string, expected: string) =>
    Either.left(new InvalidRequest({ reason: `Invalid type for '${param}': expected ${expected}`, code: "invalid_type", param }))
  if (body.model !== undefined && typeof body.model !== "string") return invalid("model", "a string")
  if (body.stream !== undefined && typeof body.stream !== "boolean") return invalid("stream", "a boolean")
  if (body.input === undefined && body.previous_response_id === undefined) {
    return Either.left(
      new InvalidRequest({ reason: "Missing required parameter: 'input'", code: "missing_required_parameter", param: "input" })
    )
  }
  if (body.input !== undefined && typeof body.input !== "string" && !Array.isArray(body.input)) {
    return invalid("input", "a string or an array of items")
  }
  if (body.previous_response_id !== undefined && typeof body.previous_response_id !== "string") {
    return invalid("previous_response_id", "a string")
  }
  return Either.void
}

/** Says when a request's reasoning (items or settings) could not be carried to the provider. */
export const reasoningHeader = "x-switchyard-reasoning"

const carriesReasoning = (body: JsonObject): boolean =>
  isRecord(body.reasoning) || inputItems(body.input).some((item) => isRecord(item) && item.type === "reasoning")

interface Exchange {
  readonly abort: Cancellation
  decided: Record<string, string> | undefined
}

/**
 * `POST /v1/responses` and `POST /routing/v1/responses` on the lean path: routed and pinned like chat and messages;
 * Responses-native providers get the body piped, others a chat-completions (or Messages) translation, with
 * `previous_response_id` resolved from `state_storage` before routing.
 */
export class ResponsesHandler extends Effect.Service<ResponsesHandler>()("switchyard/ResponsesHandler", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const providers = yield* Providers
    const decider = yield* RouteDecider
    const access = yield* Access
    const redact = redactorFor(config)
    const upstream = yield* Upstream
    const store = yield* ConversationStore
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const runPromiseExit = Runtime.runPromiseExit(runtime)
    const { maxBodyBytes, timeoutMs } = config.listener
    const scopeHeader = config.routing.sessionScopeHeader?.toLowerCase()

    /** Checks the body and resolves `previous_response_id` from the store (when it holds it). */
    const prepare = (req: IncomingMessage, raw: Buffer) =>
      Effect.gen(function*() {
        const body = yield* RequestBody.parseObject(raw)
        yield* validate(body)
        const inlinePreferences = yield* RequestBody.takeInlinePreferences(body)
        const sessionKey = yield* SessionKey.fromHeaders(req.headers, scopeHeader)
        const echo = echoOf(body)
        const previous = stringOr(body.previous_response_id)
        let unresolved: string | undefined = undefined
        if (previous !== undefined && store.kind !== "none") {
          const stored = yield* store.get(previous)
          if (Option.isSome(stored)) {
            body.input = [...stored.value.items, ...inputItems(body.input)]
            delete body.previous_response_id
          } else unresolved = previous
        } else unresolved = previous
        const requestedModel = typeof body.model === "string" && body.model.length > 0 ? body.model : undefined
        const input: DecisionInput = {
          inlinePreferences,
          sessionKey,
          requestedModel,
          turns: () => fromChatMessages(routingMessages(body)),
          turn: () => TurnKey.ofResponses(body.input)
        }
        return { body, echo, input, unresolved }
      })

    type Prepared = Effect.Effect.Success<ReturnType<typeof prepare>>

    const decision = (req: IncomingMessage, res: ServerResponse, prepared: Prepared) =>
      Effect.map(decider.decide(prepared.input), (selection) => {
        const answer: Record<string, unknown> = {
          models: selection.candidates.length > 0 ? selection.candidates : [selection.model],
          route: selection.route,
          trace_id: traceIdOf(req)
        }
        if (prepared.input.sessionKey !== undefined) {
          answer.session_id = SessionKey.unscoped(prepared.input.sessionKey).id
        }
        answer.pinned = selection.pin === "hit"
        answer.reason = selection.reason
        answer.confidence = selection.confidence ?? null
        answer.latency_ms = Number(selection.routingMs.toFixed(3))
        writeJson(res, 200, routingHeaders(selection), JSON.stringify(answer))
      })

    const keeper = (body: JsonObject) => {
      if (store.kind === "none" || body.store === false) return undefined
      const input = inputItems(body.input)
      return (response: ResponsesResponse): Promise<void> =>
        runPromiseExit(store.put({ id: response.id, items: [...input, ...response.output] })).then((exit) => {
          if (Exit.isFailure(exit)) throw Cause.squash(exit.cause)
        })
    }

    const proxy = (req: IncomingMessage, res: ServerResponse, prepared: Prepared, exchange: Exchange, wait: boolean) =>
      Effect.gen(function*() {
        const { body, echo, input, unresolved } = prepared
        const requestedModel = input.requestedModel
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
        const selection = yield* decider.decide(input)
        const extraHeaders = routingHeaders(selection)
        exchange.decided = extraHeaders
        const target = selection.target
        if (target === undefined) return yield* new NoSuchModel({ model: selection.model })
        yield* access.limit(req, target.name)
        const endpointInfo = providers.endpoint(target, req.headers)
        if (Either.isLeft(endpointInfo)) return yield* endpointInfo.left
        const { headers, origin, wire } = endpointInfo.right
        const native = wire === "chat" && isNative(target)
        if (!native && unresolved !== undefined) return yield* new ConversationNotFound({ id: unresolved })
        // Reasoning items and `reasoning` settings have no chat-completions or Messages form in this translation.
        if (!native && carriesReasoning(body)) extraHeaders[reasoningHeader] = "dropped"
        let path = endpointInfo.right.path
        let payload: string
        if (native) {
          body.model = target.modelId
          path = path.replace(/\/chat\/completions$/, "/responses")
          payload = JSON.stringify(body)
        } else {
          const chat = toChatRequest(body, { model: target.modelId })
          const translated: Either.Either<unknown, TranslationError> = Either.isLeft(chat) || wire === "chat"
            ? chat
            : toMessagesRequest(chat.right, { model: target.modelId })
          if (Either.isLeft(translated)) {
            return yield* new InvalidRequest({ reason: translated.left.message, code: "untranslatable_request" })
          }
          payload = JSON.stringify(translated.right)
        }
        const response = yield* sendOnce(upstream, target.name, {
          origin,
          path,
          method: "POST",
          headers,
          body: payload,
          signal: exchange.abort,
          timeoutMs
        })
        const stream = body.stream === true
        const start = (finished: () => void) => {
          const done = () => {
            if (!res.writableEnded) res.destroy()
            finished()
          }
          if (native) {
            relay(response, res, {
              client: "openai",
              wire: "chat",
              stream,
              includeUsage: false,
              model: target.modelId,
              extraHeaders,
              redact
            }, done)
          } else {
            relayResponses(response, res, {
              wire,
              stream,
              model: target.modelId,
              echo,
              extraHeaders,
              keep: keeper(body),
              redact
            }, done)
          }
        }
        if (wait) yield* Effect.async<void>((resume) => start(() => resume(Effect.void)))
        else start(() => undefined)
      })

    const failed = (res: ServerResponse, exchange: Exchange) => (cause: Cause.Cause<GatewayError>) =>
      Effect.gen(function*() {
        if (Cause.isInterruptedOnly(cause)) return
        const failure = Cause.failureOption(cause)
        if (failure._tag === "Some") {
          const rendered = renderGatewayError("openai", failure.value)
          if (rendered.status >= 500) yield* Effect.logWarning(failure.value.message)
          return writeJson(res, rendered.status, { ...exchange.decided, ...errorHeaders(failure.value) }, rendered.body)
        }
        yield* Effect.logError("unexpected failure in the responses proxy", cause)
        const rendered = renderError("openai", 500, "server_error", "internal_error", "Internal gateway error")
        if (res.headersSent) res.destroy()
        else writeJson(res, rendered.status, { ...exchange.decided }, rendered.body)
      })

    const exchangeOf = (res: ServerResponse): Exchange => {
      const exchange: Exchange = { abort: new Cancellation(), decided: undefined }
      res.once("close", () => {
        if (!res.writableFinished) exchange.abort.abort()
      })
      return exchange
    }

    // The key is checked before the body is looked at (and before any state lookup), as on the other endpoints.
    const admitted = (req: IncomingMessage, raw: Buffer) =>
      Effect.flatMap(access.authenticate(req.headers), () =>
        Effect.flatMap(prepare(req, raw), (prepared) =>
          Effect.map(
            access.admit(req, raw.length, () => Either.right(prepared.input)),
            (input) => ({ ...prepared, input })
          )))

    const work = (
      endpoint: ResponsesEndpoint,
      req: IncomingMessage,
      res: ServerResponse,
      raw: Buffer,
      exchange: Exchange,
      wait: boolean
    ): Effect.Effect<void> =>
      admitted(req, raw).pipe(
        Effect.flatMap((prepared) =>
          endpoint === "responses" ? proxy(req, res, prepared, exchange, wait) : decision(req, res, prepared)
        ),
        Effect.catchAllCause(failed(res, exchange))
      )

    /** The whole exchange as an Effect (the HttpApp mount); completes when the response ends. */
    const program = (endpoint: ResponsesEndpoint, req: IncomingMessage, res: ServerResponse): Effect.Effect<void> =>
      Effect.suspend(() => {
        const exchange = exchangeOf(res)
        return RequestBody.read(req, maxBodyBytes).pipe(
          Effect.matchCauseEffect({
            onFailure: failed(res, exchange),
            onSuccess: (raw) => work(endpoint, req, res, raw, exchange, true)
          })
        )
      })

    /** A Node request listener: the body is read on Node events, then one fiber decides and relays. */
    const handle = (endpoint: ResponsesEndpoint, req: IncomingMessage, res: ServerResponse): void => {
      const exchange = exchangeOf(res)
      RequestBody.readWith(req, maxBodyBytes, (raw) => {
        if (Either.isLeft(raw)) {
          const rendered = renderGatewayError("openai", raw.left)
          return writeJson(res, rendered.status, {}, rendered.body)
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

