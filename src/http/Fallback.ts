import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Random from "effect/Random"
import type { IncomingMessage } from "node:http"
import { Readable } from "node:stream"
import { resilienceOf } from "../config/ConfigResilience.js"
import { GatewayConfig } from "../config/GatewayConfig.js"
import { InvalidRequest, UpstreamTimeout, UpstreamUnavailable } from "../GatewayError.js"
import type { ClientApi, GatewayError } from "../GatewayError.js"
import { PinCache } from "../pinning/PinCache.js"
import { Cooldowns } from "../providers/Cooldowns.js"
import { Providers } from "../providers/Providers.js"
import type { ModelTarget, UpstreamEndpoint, Wire } from "../providers/Providers.js"
import { isTimeout, readBody, Upstream } from "../providers/Upstream.js"
import type { Cancellation, UpstreamResponse } from "../providers/Upstream.js"
import { PinFailover } from "../routing/PinFailover.js"
import type { Selection } from "../routing/RouteDecider.js"
import { backoffMs, isRetryableStatus, retryAfterMs } from "./AttemptPlan.js"
import type { JsonObject } from "./RequestBody.js"
import { upstreamBody } from "./UpstreamBody.js"

/** The upstream answer that reaches the client, and how it was obtained. */
export interface Served {
  readonly response: UpstreamResponse
  readonly target: ModelTarget
  readonly wire: Wire
  /** Upstream requests sent, retries included. */
  readonly attempts: number
  /** What happened to the session pin because of a failure (undefined: nothing). */
  readonly pin: "migrated" | "held" | undefined
}

/** The request an attempt sequence serves. */
export interface AttemptRequest {
  readonly api: ClientApi
  readonly body: JsonObject
  readonly headers: IncomingMessage["headers"]
  readonly sessionKey: string | undefined
  readonly signal: Cancellation
  /** Headers added to every upstream attempt (e.g. `traceparent`), read when the attempt is sent. */
  readonly upstreamHeaders?: Record<string, string> | undefined
}

type Failure =
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly response: UpstreamResponse
    readonly waitMs: number | undefined
    readonly target: ModelTarget
    readonly wire: Wire
  }
  | { readonly _tag: "Transport"; readonly reason: string }
  | { readonly _tag: "Timeout" }

/** A first attempt made on the fast path: where it went, what it sent and what came back. */
interface FirstAttempt {
  readonly endpoint: UpstreamEndpoint
  readonly body: string
  readonly outcome: UpstreamResponse | Failure | undefined
}

/** Adds what the attempts did to the routing headers (the serving model, attempts, fallback origin, pin moves). */
export const annotate = (headers: Record<string, string>, selection: Selection, served: Served) => {
  headers["x-routing-attempts"] = String(served.attempts)
  if (served.target.name !== selection.model) {
    headers["x-routing-model"] = served.target.name
    headers["x-routing-fallback-from"] = selection.model
  }
  if (served.pin === "migrated") {
    headers["x-routing-pin"] = "migrated"
    headers["x-routing-reason"] = "pin_migrated"
  }
}

/**
 * Sends a request to its chosen model and, when that fails before any byte reached the client (connection refused or
 * reset, timeout before headers, 429, 500/502/503/504/529), retries it (`max_retries`, jittered backoff or the
 * provider's `retry-after`) and then falls back along the route's ranked models, other providers of the same model and
 * the default provider, skipping targets that cool down. The listener timeout bounds the whole sequence. Requests are
 * replayed as they are: idempotency is the client's concern. The first attempt does no more than a direct call.
 */
export class Attempts extends Effect.Service<Attempts>()("switchyard/Attempts", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const providers = yield* Providers
    const upstream = yield* Upstream
    const cooldowns = yield* Cooldowns
    const failover = yield* PinFailover
    const pins = yield* PinCache
    const settings = resilienceOf(config)
    const { timeoutMs } = config.listener
    const { maxRetries } = settings
    const policy = settings.pinFailover.policy
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()

    // The same model id served by other provider entries ("the route's other providers").
    const sameModel = new Map<string, Array<string>>()
    for (const p of config.providers) {
      if (p.wildcard) continue
      const names = sameModel.get(p.modelId) ?? []
      names.push(p.name)
      sameModel.set(p.modelId, names)
    }

    /** The fallback order after the chosen target: the route's ranked models, same-model providers, the default. */
    const chainOf = (selection: Selection, first: ModelTarget): Array<ModelTarget> => {
      const chain: Array<ModelTarget> = [first]
      const seen = new Set([first.name])
      const add = (target: ModelTarget | undefined) => {
        if (target === undefined || seen.has(target.name)) return
        seen.add(target.name)
        chain.push(target)
      }
      for (const name of selection.candidates) add(providers.resolve(name))
      for (const target of [...chain]) {
        for (const name of sameModel.get(target.modelId) ?? []) add(providers.resolve(name))
      }
      if (settings.fallbackToDefault) add(providers.defaultTarget)
      return chain
    }

    const send = (
      request: AttemptRequest,
      target: ModelTarget,
      wire: Wire,
      origin: string,
      path: string,
      headers: Record<string, string>,
      body: string,
      headersTimeoutMs: number
    ): Effect.Effect<UpstreamResponse | Failure> =>
      Effect.async<UpstreamResponse | Failure>((resume) => {
        const signal = request.signal
        const extra = request.upstreamHeaders
        if (extra !== undefined) for (const name in extra) headers[name] = extra[name]!
        upstream.send({ origin, path, method: "POST", headers, body, signal, timeoutMs, headersTimeoutMs })
          .then(
            (response) => {
              if (!isRetryableStatus(response.statusCode)) return resume(Effect.succeed(response))
              resume(Effect.succeed({
                _tag: "Status",
                status: response.statusCode,
                response,
                waitMs: retryAfterMs(response.headers, now()),
                target,
                wire
              }))
            },
            (cause: unknown) =>
              resume(Effect.succeed(
                isTimeout(cause)
                  ? { _tag: "Timeout" }
                  : { _tag: "Transport", reason: cause instanceof Error ? cause.message : "connection failed" }
              ))
          )
      })

    /** Keeps a failed answer's body (bounded) to relay if nothing better comes, and frees the socket. */
    const settle = (failure: Failure): Effect.Effect<Failure> =>
      failure._tag !== "Status" ? Effect.succeed(failure) : Effect.promise(() =>
        readBody(failure.response, 1 << 20).then(
          (raw): Failure => ({ ...failure, response: { ...failure.response, body: Readable.from([raw]) } }),
          (): Failure => ({
            ...failure,
            response: { ...failure.response, body: Readable.from([tooLarge]) }
          })
        )
      )

    const errorOf = (failure: Failure | undefined, target: ModelTarget): GatewayError =>
      failure === undefined
        ? new UpstreamTimeout({ provider: target.name, timeoutMs })
        : failure._tag === "Timeout"
        ? new UpstreamTimeout({ provider: target.name, timeoutMs })
        : new UpstreamUnavailable({ provider: target.name, reason: failure._tag === "Transport" ? failure.reason : "" })

    /** Tries one target up to 1 + max_retries times; a response, or the last failure. */
    const tryTarget = (
      request: AttemptRequest,
      target: ModelTarget,
      deadline: number,
      /** Whether nothing can follow this target: decides its last try's share of the budget (all of it). */
      last: boolean,
      count: { attempts: number },
      /** Re-checks `last` for retries (other targets may have started cooling down meanwhile). */
      lastAgain?: Effect.Effect<boolean>,
      retries: number = maxRetries,
      /** The first attempt, already made on the fast path. */
      resumed?: FirstAttempt
    ) =>
      Effect.gen(function*() {
        let prepared = resumed
        if (prepared === undefined) {
          const endpoint = providers.endpoint(target, request.headers)
          if (Either.isLeft(endpoint)) return endpoint.left
          const payload = upstreamBody(request.api, endpoint.right.wire, request.body, target.modelId)
          if (Either.isLeft(payload)) {
            return new InvalidRequest({ reason: payload.left.message, code: "untranslatable_request" })
          }
          prepared = { endpoint: endpoint.right, body: payload.right, outcome: undefined }
        }
        const { body, endpoint: { headers, origin, path, wire } } = prepared
        let failure: Failure | undefined
        for (let retry = 0; retry <= retries; retry++) {
          const remaining = deadline - now()
          if (remaining <= 0) break
          const final = retry === retries && (retry === 0 || lastAgain === undefined ? last : yield* lastAgain)
          const share = final ? remaining : Math.ceil(remaining / 2)
          const outcome = retry === 0 && prepared.outcome !== undefined
            ? prepared.outcome
            : yield* send(request, target, wire, origin, path, headers, body, share)
          if (retry > 0 || prepared.outcome === undefined) count.attempts++
          if (!("_tag" in outcome)) {
            yield* cooldowns.succeeded(target)
            return { _tag: "Served", response: outcome, wire } as const
          }
          if (request.signal.aborted) return yield* Effect.interrupt
          failure = yield* settle(outcome)
          yield* cooldowns.failed(target)
          yield* Effect.logWarning("upstream attempt failed").pipe(
            Effect.annotateLogs({
              target: target.name,
              failure: outcome._tag,
              status: failure._tag === "Status" ? failure.status : 0
            })
          )
          if (retry === retries) break
          const wait = (failure._tag === "Status" ? failure.waitMs : undefined) ??
            backoffMs(retry, yield* Random.next)
          // A provider asking for longer than the budget allows: move on to the next model instead.
          if (wait >= deadline - now()) break
          if (!(yield* cooldowns.admit(target))) break
          yield* Effect.sleep(wait)
        }
        return failure
      })

    /** The fallbacks after the chosen target that are not cooling down (half-open ones may take their probe). */
    const fallbacksOf = (selection: Selection, first: ModelTarget, pinned: boolean) =>
      pinned && policy === "fail"
        ? Effect.succeed([])
        : Effect.filter(chainOf(selection, first).slice(1), (target) => Effect.negate(cooldowns.cooling(target)))

    /** Whether anything could follow the chosen target (decides its share of the time budget). */
    const hasFallback = (selection: Selection, first: ModelTarget, pinned: boolean): boolean =>
      !(pinned && policy === "fail") && (
        selection.candidates.length > 1 ||
        (sameModel.get(first.modelId)?.length ?? 0) > 1 ||
        (settings.fallbackToDefault && providers.defaultTarget !== undefined &&
          providers.defaultTarget.name !== first.name)
      )

    /**
     * Serves one request: the chosen model, then retries and fallbacks as the config allows. A model without recent
     * failures is called straight away, without the attempt loop, which only starts when that call fails.
     */
    const serve = (
      request: AttemptRequest,
      selection: Selection,
      first: ModelTarget
    ): Effect.Effect<Served, GatewayError> => {
      if (cooldowns.isTracked(first.name)) return serveSlow(request, selection, first, now() + timeoutMs, undefined)
      const endpoint = providers.endpoint(first, request.headers)
      if (Either.isLeft(endpoint)) return Effect.fail(endpoint.left)
      const { headers, origin, path, wire } = endpoint.right
      const payload = upstreamBody(request.api, wire, request.body, first.modelId)
      if (Either.isLeft(payload)) {
        return Effect.fail(new InvalidRequest({ reason: payload.left.message, code: "untranslatable_request" }))
      }
      const deadline = now() + timeoutMs
      const pinned = selection.pin === "hit" && request.sessionKey !== undefined
      const alone = maxRetries === 0 && !hasFallback(selection, first, pinned)
      const body = payload.right
      return Effect.flatMap(
        send(request, first, wire, origin, path, headers, body, alone ? timeoutMs : Math.ceil(timeoutMs / 2)),
        (outcome) => {
          if ("_tag" in outcome) {
            return serveSlow(request, selection, first, deadline, { endpoint: endpoint.right, body, outcome })
          }
          const done = finish(request, selection, first, first, outcome, wire, 1, false)
          return cooldowns.isTracked(first.name) ? Effect.zipRight(cooldowns.succeeded(first), done) : done
        }
      )
    }

    const serveSlow = (
      request: AttemptRequest,
      selection: Selection,
      first: ModelTarget,
      deadline: number,
      resumed: FirstAttempt | undefined
    ): Effect.Effect<Served, GatewayError> =>
      Effect.gen(function*() {
        const pinned = selection.pin === "hit" && request.sessionKey !== undefined
        const count = { attempts: resumed === undefined ? 0 : 1 }
        let failure: Failure | undefined
        let firstCooling = false
        if (resumed !== undefined || (yield* cooldowns.admit(first))) {
          const result = yield* tryTarget(
            request,
            first,
            deadline,
            !hasFallback(selection, first, pinned),
            count,
            Effect.map(fallbacksOf(selection, first, pinned), (rest) => rest.length === 0),
            maxRetries,
            resumed
          )
          if (result === undefined) return yield* errorOf(undefined, first)
          if (result._tag === "Served") {
            return yield* finish(request, selection, first, first, result.response, result.wire, count.attempts, false)
          }
          // The chosen model cannot be called at all (no key, untranslatable request): that is the client's answer.
          if (!isFailure(result)) return yield* result
          failure = result
        } else firstCooling = true
        const rest = yield* fallbacksOf(selection, first, pinned)
        for (let i = 0; i < rest.length; i++) {
          if (now() >= deadline) break
          const target = rest[i]!
          if (!(yield* cooldowns.admit(target))) continue
          const result = yield* tryTarget(request, target, deadline, i === rest.length - 1, count)
          if (result === undefined) continue
          if (result._tag === "Served") {
            const { response, wire } = result
            return yield* finish(request, selection, first, target, response, wire, count.attempts, firstCooling)
          }
          if (isFailure(result)) failure = result
        }
        if ((count.attempts === 0 || failure?._tag === "Timeout") && now() < deadline) {
          // Everything is cooling down: a cooldown only reorders candidates, so the chosen model is tried anyway, and
          // time kept for fallbacks that were then skipped goes to it.
          const result = yield* tryTarget(request, first, deadline, true, count, undefined, 0)
          if (result?._tag === "Served") {
            return yield* finish(request, selection, first, first, result.response, result.wire, count.attempts, false)
          }
          if (result !== undefined && !isFailure(result)) return yield* result
          failure = result
        }
        if (pinned && policy === "migrate") {
          yield* failover.failed(request.sessionKey!, first.name, selection.route, undefined, false)
        }
        if (failure?._tag === "Status") {
          const { response, target, wire } = failure
          return { response, target, wire, attempts: count.attempts, pin: undefined } satisfies Served
        }
        return yield* errorOf(failure, first)
      })

    const finish = (
      request: AttemptRequest,
      selection: Selection,
      first: ModelTarget,
      target: ModelTarget,
      response: UpstreamResponse,
      wire: Wire,
      attempts: number,
      firstCooling: boolean
    ): Effect.Effect<Served> => {
      const key = request.sessionKey
      const served = (pin: Served["pin"]): Served => ({ response, target, wire, attempts, pin })
      if (key === undefined) return Effect.succeed(served(undefined))
      if (target === first) {
        const done = served(undefined)
        return selection.pin === "hit" ? Effect.as(failover.held(key), done) : Effect.succeed(done)
      }
      if (selection.pin === "created" && policy === "migrate") {
        // A new pin follows the model that actually served the session's first request.
        return Effect.as(pins.put(key, { model: target.name, route: selection.route }), served(undefined))
      }
      if (selection.pin !== "hit" || policy !== "migrate") {
        return Effect.succeed(served(selection.pin === "hit" ? "held" : undefined))
      }
      return Effect.map(
        Effect.flatMap(
          firstCooling ? Effect.succeed(true) : cooldowns.cooling(first),
          (cooling) => failover.failed(key, first.name, selection.route, target.name, cooling)
        ),
        (moved) => served(moved ? "migrated" : "held")
      )
    }

    return { serve } as const
  })
}) {}

const tooLarge = Buffer.from(
  JSON.stringify({ error: { message: "The provider's error body was too large to relay", type: "server_error" } })
)

const isFailure = (value: GatewayError | Failure): value is Failure =>
  value._tag === "Status" || value._tag === "Transport" || value._tag === "Timeout"
