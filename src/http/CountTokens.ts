import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Runtime from "effect/Runtime"
import type { IncomingMessage, ServerResponse } from "node:http"
import { Access } from "../auth/Access.js"
import { redactorFor } from "../translation/Redaction.js"
import { GatewayConfig } from "../config/GatewayConfig.js"
import { InvalidRequest, NoSuchModel, renderError, renderGatewayError } from "../GatewayError.js"
import type { GatewayError } from "../GatewayError.js"
import { Providers } from "../providers/Providers.js"
import { Cancellation, Upstream } from "../providers/Upstream.js"
import * as RequestBody from "./RequestBody.js"
import type { JsonObject } from "./RequestBody.js"
import { relay, writeJson } from "./ResponseRelay.js"
import { sendOnce } from "./UpstreamCall.js"

/** The path of Anthropic's token counter. */
export const countTokensPath = "/v1/messages/count_tokens"

/** True for `POST /v1/messages/count_tokens`. */
export const isCountTokens = (method: string | undefined, url: string | undefined): boolean =>
  method === "POST" && url !== undefined && (url === countTokensPath || url.startsWith(`${countTokensPath}?`))

/** Header saying how the count was made: `provider` (the Anthropic API counted) or `estimate` (~4 characters a token). */
export const countHeader = "x-switchyard-token-count"

const textLength = (value: unknown): number => {
  if (typeof value === "string") return value.length
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + textLength(v), 0)
  if (typeof value === "object" && value !== null) {
    let n = 0
    for (const [key, v] of Object.entries(value)) {
      // Images and documents cost a fixed amount upstream; their base64 length says nothing useful.
      if (key === "data" || key === "source") n += 1000
      else n += textLength(v)
    }
    return n
  }
  return 0
}

/** A rough token count of a Messages body: ~4 characters a token over system, messages and tools, plus framing. */
export const estimateTokens = (body: JsonObject): number => {
  const messages = Array.isArray(body.messages) ? body.messages.length : 0
  return Math.ceil((textLength(body.system) + textLength(body.messages) + textLength(body.tools)) / 4) + 3 * messages + 1
}

/**
 * `POST /v1/messages/count_tokens` (Anthropic clients and agents): forwarded to an Anthropic provider of the requested
 * model; for any other provider an estimate, marked `x-switchyard-token-count: estimate`.
 */
export class CountTokens extends Effect.Service<CountTokens>()("switchyard/CountTokens", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const providers = yield* Providers
    const upstream = yield* Upstream
    const access = yield* Access
    const redact = redactorFor(config)
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const { maxBodyBytes, timeoutMs } = config.listener

    const count = (req: IncomingMessage, res: ServerResponse, raw: Buffer, abort: Cancellation, wait: boolean) =>
      Effect.gen(function*() {
        const body = yield* RequestBody.parseObject(raw)
        if (!Array.isArray(body.messages)) {
          return yield* new InvalidRequest({ reason: "Missing required parameter: 'messages'", param: "messages" })
        }
        const requested = typeof body.model === "string" && body.model.length > 0 ? body.model : undefined
        const target = requested === undefined ? providers.defaultTarget : providers.resolve(requested)
        if (target === undefined) return yield* new NoSuchModel({ model: requested ?? "" })
        if (target.provider.interface !== "anthropic") {
          const answer = JSON.stringify({ input_tokens: estimateTokens(body) })
          return writeJson(res, 200, { [countHeader]: "estimate", "x-routing-model": target.name }, answer)
        }
        const endpoint = providers.endpoint(target, req.headers)
        if (Either.isLeft(endpoint)) return yield* endpoint.left
        body.model = target.modelId
        const { headers, origin, path } = endpoint.right
        const response = yield* sendOnce(upstream, target.name, {
          origin,
          path: `${path}/count_tokens`,
          method: "POST",
          headers,
          body: JSON.stringify(body),
          signal: abort,
          timeoutMs
        })
        const plan = {
          client: "anthropic",
          wire: "messages",
          stream: false,
          includeUsage: false,
          model: target.modelId,
          extraHeaders: { [countHeader]: "provider", "x-routing-model": target.name },
          redact
        } as const
        const start = (finished: () => void) => relay(response, res, plan, () => finished())
        if (wait) yield* Effect.async<void>((resume) => start(() => resume(Effect.void)))
        else start(() => undefined)
      })

    const failed = (res: ServerResponse) => (cause: Cause.Cause<GatewayError>) =>
      Effect.sync(() => {
        if (Cause.isInterruptedOnly(cause)) return
        const failure = Cause.failureOption(cause)
        const rendered = failure._tag === "Some"
          ? renderGatewayError("anthropic", failure.value)
          : renderError("anthropic", 500, "api_error", "internal_error", "Internal gateway error")
        writeJson(res, rendered.status, {}, rendered.body)
      })

    const run = (req: IncomingMessage, res: ServerResponse, wait: boolean): Effect.Effect<void> =>
      Effect.suspend(() => {
        const abort = new Cancellation()
        res.once("close", () => {
          if (!res.writableFinished) abort.abort()
        })
        return Effect.flatMap(access.authenticate(req.headers), () => RequestBody.read(req, maxBodyBytes)).pipe(
          Effect.flatMap((raw) => count(req, res, raw, abort, wait)),
          Effect.catchAllCause(failed(res))
        )
      })

    /** The exchange as an Effect (the HttpApp mount); completes when the response ends. */
    const program = (req: IncomingMessage, res: ServerResponse) => run(req, res, true)

    /** A Node request listener. */
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      runFork(run(req, res, false))
    }

    return { handle, program } as const
  })
}) {}
