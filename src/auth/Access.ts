import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Ref from "effect/Ref"
import { createHash } from "node:crypto"
import type { IncomingHttpHeaders, IncomingMessage } from "node:http"
import { GatewayConfig } from "../config/GatewayConfig.js"
import type { ClientKeyConfig, RateLimitRule, RateLimitUnit } from "../config/GatewayConfig.js"
import { InvalidRequest, LimiterUnavailable, ModelNotAllowed, RateLimited } from "../GatewayError.js"
import type { InvalidClientKey } from "../GatewayError.js"
import * as SessionKey from "../pinning/SessionKey.js"
import { Providers } from "../providers/Providers.js"
import type { DecisionInput } from "../routing/RouteDecider.js"
import { ClientKeys } from "./ClientKeys.js"
import { checks, RateLimiter, rejections } from "./RateLimiter.js"

/** The per-request routing switch: `off` serves the model the client named (no routes, no pin). */
export const routingModeHeader = "x-routing-mode"

const unitMs: Readonly<Record<RateLimitUnit, number>> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000
}

/** What `admit` learned about a request, kept for `limit` (which runs once the serving model is known). */
interface Admitted {
  readonly key: ClientKeyConfig | undefined
  readonly bodyBytes: number
}

interface Rule extends RateLimitRule {
  /** The provider name the rule's model resolves to; undefined for `*`. */
  readonly target: string | undefined
  readonly id: string
  readonly windowMs: number
}

/** Configured limits, by model, kind and unit: `switchyard_ratelimit_limit`. */
export const limitGauge = Metric.gauge("switchyard_ratelimit_limit", {
  description: "Configured ratelimits entries (tokens or requests per unit)"
})

const hashed = (text: string) => createHash("sha256").update(text).digest("base64url").slice(0, 22)

/**
 * The gate at the top of the proxy path: client key (401), model allowed for the key (403), the routing opt-out
 * header, then Plano's `ratelimits` (429 with `Retry-After`) on the model that will serve.
 */
export class Access extends Effect.Service<Access>()("switchyard/Access", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const keys = yield* ClientKeys
    const limiter = yield* RateLimiter
    const providers = yield* Providers
    const failOpen = config.auth?.failOpen ?? true
    const admitted = new WeakMap<IncomingMessage, Admitted>()
    const clock = yield* Effect.clock
    // While Redis is down every limited request fails over; one warning per 10 s is enough.
    const lastWarning = yield* Ref.make(Number.NEGATIVE_INFINITY)
    const warnStore = (reason: string) =>
      Effect.flatMap(clock.currentTimeMillis, (now) =>
        Effect.flatMap(
          Ref.modify(lastWarning, (last) => now - last >= 10_000 ? [true, now] : [false, last]),
          (due) =>
            due
              ? Effect.logWarning("rate limit store unavailable; failing open").pipe(
                Effect.annotateLogs({ service: "Access", error: reason })
              )
              : Effect.void
        ))
    const nameOf = (model: string | undefined) =>
      model === undefined ? providers.defaultTarget?.name : providers.resolve(model)?.name ?? model

    const rules: ReadonlyArray<Rule> = (config.rateLimits ?? []).map((rule, i) => ({
      ...rule,
      target: rule.model === "*" ? undefined : nameOf(rule.model),
      id: `${i}:${hashed(JSON.stringify(rule))}`,
      windowMs: unitMs[rule.unit]
    }))
    for (const rule of rules) {
      yield* Metric.set(
        limitGauge.pipe(
          Metric.tagged("model", rule.model),
          Metric.tagged("kind", rule.kind),
          Metric.tagged("unit", rule.unit)
        ),
        rule.limit
      )
    }

    const allowed = (key: ClientKeyConfig, model: string | undefined): boolean => {
      if (key.models === undefined) return true
      const name = nameOf(model)
      return key.models.some((m) => m === model || (name !== undefined && nameOf(m) === name))
    }

    /**
     * Checks the key, prepares the request (body checks come after the key, so a stranger learns nothing from them),
     * checks the model for the key and applies `x-routing-mode`.
     */
    const admit = <P extends DecisionInput, E>(
      req: IncomingMessage,
      bodyBytes: number,
      prepare: () => Either.Either<P, E>
    ): Effect.Effect<P, E | InvalidClientKey | ModelNotAllowed | InvalidRequest> => {
      const key = keys.authenticate(req.headers)
      if (Either.isLeft(key)) return Effect.fail(key.left)
      const prepared = prepare()
      if (Either.isLeft(prepared)) return Effect.fail(prepared.left)
      const input = prepared.right
      const clientKey = key.right
      if (clientKey !== undefined && !allowed(clientKey, input.requestedModel)) {
        return Effect.fail(
          new ModelNotAllowed({ keyName: clientKey.name, model: input.requestedModel ?? nameOf(undefined) ?? "" })
        )
      }
      admitted.set(req, { key: clientKey, bodyBytes })
      const mode = req.headers[routingModeHeader]
      // A key limited to some models serves exactly those: routing could otherwise pick one it may not use.
      const off = mode === "off" || clientKey?.models !== undefined
      if (mode !== undefined && mode !== "off" && mode !== "auto") {
        return Effect.fail(
          new InvalidRequest({ reason: `${routingModeHeader} must be "off" or "auto"`, code: "invalid_routing_mode" })
        )
      }
      if (off) return Effect.succeed({ ...input, inlinePreferences: [], sessionKey: undefined })
      if (clientKey?.routes !== undefined) {
        const routes = (input.inlinePreferences ?? config.routingPreferences).filter((r) =>
          clientKey.routes!.includes(r.name)
        )
        // Its own pins: a pin another key made for the same session id may name a model outside these routes.
        const sessionKey = input.sessionKey === undefined
          ? undefined
          : SessionKey.scoped(`key:${clientKey.name}`, input.sessionKey)
        return Effect.succeed({ ...input, inlinePreferences: routes, sessionKey })
      }
      return Effect.succeed(input)
    }

    const selectorValue = (rule: Rule, headers: IncomingHttpHeaders, key: ClientKeyConfig | undefined) => {
      if (rule.selectorKey === undefined) return ""
      const value = rule.selectorKey === "client_key" ? key?.name : headers[rule.selectorKey]
      if (typeof value !== "string") return undefined
      return rule.selectorValue === "*" || rule.selectorValue === value ? value : undefined
    }

    /** Takes the request's cost from every limit on `model` (the provider name that will serve). */
    const limit = (req: IncomingMessage, model: string): Effect.Effect<void, RateLimited | LimiterUnavailable> => {
      if (rules.length === 0) return Effect.void
      const seen = admitted.get(req)
      const applicable = rules.flatMap((rule) => {
        if (rule.target !== undefined && rule.target !== model) return []
        const value = selectorValue(rule, req.headers, seen?.key)
        return value === undefined ? [] : [{ rule, value }]
      })
      if (applicable.length === 0) return Effect.void
      checks.unsafeUpdate(1, [])
      // Plano counts prompt tokens; a body's bytes / 4 approximates them without a tokenizer on the hot path.
      const tokens = Math.max(1, Math.ceil((seen?.bodyBytes ?? 0) / 4))
      return Effect.forEach(applicable, ({ rule, value }) => {
        const cost = rule.kind === "requests" ? 1 : tokens
        const bucket = { key: `${rule.id}:${hashed(value)}`, capacity: rule.limit, windowMs: rule.windowMs }
        return limiter.take(bucket, cost).pipe(
          Effect.catchTag("RateLimiterError", (error) =>
            failOpen
              ? Effect.as(warnStore(error.reason), { allowed: true, retryAfterMs: 0 })
              : Effect.fail(new LimiterUnavailable())),
          Effect.flatMap((outcome) => {
            if (outcome.allowed) return Effect.void
            rejections.unsafeUpdate(1, [MetricLabel.make("model", model)])
            return Effect.fail(
              new RateLimited({
                model,
                limit: `${rule.limit} ${rule.kind} per ${rule.unit}`,
                retryAfterSeconds: Math.max(1, Math.ceil(outcome.retryAfterMs / 1000))
              })
            )
          })
        )
      }, { discard: true })
    }

    /** Whether the limit store answers, and whether that matters (`fail_open: false`). */
    const readiness = Effect.map(limiter.ping, (up) => ({
      store: limiter.store,
      reachable: up,
      ready: up || failOpen
    }))

    return { admit, limit, readiness, authenticate: keys.authenticate, keysRequired: keys.required } as const
  })
}) {}
