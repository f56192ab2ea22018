import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Runtime from "effect/Runtime"
import type { IncomingMessage, ServerResponse } from "node:http"
import { Access } from "../auth/Access.js"
import { GatewayConfig } from "../config/GatewayConfig.js"
import {
  errorHeaders,
  InvalidRequest,
  NoSuchModel,
  renderError,
  renderGatewayError
} from "../GatewayError.js"
import type { GatewayError } from "../GatewayError.js"
import { Providers } from "../providers/Providers.js"
import { Cancellation, Upstream } from "../providers/Upstream.js"
import * as RequestBody from "./RequestBody.js"
import { relay, writeJson } from "./ResponseRelay.js"
import { sendOnce } from "./UpstreamCall.js"

/** True for `POST /v1/embeddings` (query string ignored). */
export const isEmbeddings = (method: string | undefined, url: string | undefined): boolean =>
  method === "POST" && url !== undefined && (url === "/v1/embeddings" || url.startsWith("/v1/embeddings?"))

const noTurns = () => []

/**
 * `POST /v1/embeddings`, proxied to the provider of the named model: no routing, no pins, same client key and
 * `ratelimits` as the chat endpoints, bytes piped back as they come.
 */
export class EmbeddingsHandler extends Effect.Service<EmbeddingsHandler>()("switchyard/EmbeddingsHandler", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const providers = yield* Providers
    const upstream = yield* Upstream
    const access = yield* Access
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const { maxBodyBytes, timeoutMs } = config.listener

    const parse = (raw: Buffer) =>
      Either.flatMap(RequestBody.parseObject(raw), (body) =>
        typeof body.model === "string" && body.model.length > 0
          ? Either.right({
            body,
            requestedModel: body.model,
            sessionKey: undefined,
            inlinePreferences: undefined,
            turns: noTurns
          })
          : Either.left(
            new InvalidRequest({ reason: "Missing 'model'", code: "missing_required_parameter", param: "model" })
          ))

    const serve = (req: IncomingMessage, res: ServerResponse, raw: Buffer, abort: Cancellation) =>
      Effect.gen(function*() {
        const { body, requestedModel } = yield* access.admit(req, raw.length, () => parse(raw))
        const target = providers.resolve(requestedModel)
        if (target === undefined) return yield* new NoSuchModel({ model: requestedModel })
        yield* access.limit(req, target.name)
        const endpoint = providers.endpoint(target, req.headers)
        if (Either.isLeft(endpoint)) return yield* endpoint.left
        const { headers, origin, path, wire } = endpoint.right
        if (wire !== "chat") {
          return yield* new InvalidRequest({
            reason: `Provider '${target.name}' has no OpenAI-style embeddings API`,
            code: "embeddings_unsupported"
          })
        }
        body.model = target.modelId
        const response = yield* sendOnce(upstream, target.name, {
          origin,
          path: path.replace(/\/chat\/completions(?=\?|$)/, "/embeddings"),
          method: "POST",
          headers,
          body: JSON.stringify(body),
          signal: abort,
          timeoutMs
        })
        const plan = {
          client: "openai",
          wire: "chat",
          stream: false,
          includeUsage: false,
          model: target.modelId,
          extraHeaders: { "x-routing-model": target.name, "x-routing-reason": "requested", "x-routing-pin": "none" }
        } as const
        yield* Effect.async<void>((resume) =>
          relay(response, res, plan, () => {
            if (!res.writableEnded) res.destroy()
            resume(Effect.void)
          })
        )
      })

    const failed = (res: ServerResponse) => (cause: Cause.Cause<GatewayError>) =>
      Effect.sync(() => {
        if (Cause.isInterruptedOnly(cause)) return
        const failure = Cause.failureOption(cause)
        const rendered = failure._tag === "Some"
          ? renderGatewayError("openai", failure.value)
          : renderError("openai", 500, "server_error", "internal_error", "Internal gateway error")
        if (res.headersSent) res.destroy()
        else {
          const headers = failure._tag === "Some" ? errorHeaders(failure.value) : undefined
          writeJson(res, rendered.status, { ...headers }, rendered.body)
        }
      })

    /** The whole exchange as an Effect (for the HttpApp mount); completes when the response ends. */
    const program = (req: IncomingMessage, res: ServerResponse): Effect.Effect<void> =>
      Effect.suspend(() => {
        const abort = new Cancellation()
        res.once("close", () => {
          if (!res.writableFinished) abort.abort()
        })
        return RequestBody.read(req, maxBodyBytes).pipe(
          Effect.flatMap((raw) => serve(req, res, raw, abort)),
          Effect.catchAllCause(failed(res))
        )
      })

    /** A Node request listener for `/v1/embeddings`. */
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      const fiber = runFork(program(req, res))
      res.once("close", () => {
        if (!res.writableFinished) fiber.unsafeInterruptAsFork(fiber.id())
      })
    }

    return { handle, program } as const
  })
}) {}
