import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { timingSafeEqual } from "node:crypto"
import { GatewayConfig } from "../config/GatewayConfig.js"
import { NotFound, Unauthorized } from "../GatewayError.js"
import { PinCache } from "../pinning/PinCache.js"
import type { Pin } from "../pinning/PinCache.js"
import { Providers } from "../providers/Providers.js"
import { Cooldowns } from "../providers/Cooldowns.js"
import { PinFailover } from "../routing/PinFailover.js"
import * as SessionKey from "../pinning/SessionKey.js"
import { ClientKeys } from "../auth/ClientKeys.js"
import { isLoopback } from "../auth/Exposure.js"
import * as Either from "effect/Either"
import { recordPinRevoked } from "../observability/GatewayMetrics.js"
import { MetricsScrape } from "./MetricsScrape.js"

/** Headers of the CORS preflight answer (Plano §2.4, plus the session headers). */
export const corsHeaders = {
  allow: "GET, POST, DELETE, OPTIONS",
  "access-control-allow-origin": "*",
  "access-control-allow-headers":
    "Authorization, Content-Type, X-Routing-Session-Id, X-Model-Affinity, X-Api-Key, X-Routing-Mode",
  "access-control-allow-methods": "GET, POST, DELETE, OPTIONS"
}

const iso = (millis: number) => new Date(millis).toISOString()

const pinJson = (key: string, pin: Pin, expiresAt: number) => {
  const { id, scope } = SessionKey.unscoped(key)
  return {
    session_id: id,
    ...(scope === undefined ? {} : { scope }),
    model: pin.model,
    route: pin.route,
    created_at: iso(pin.createdAt),
    last_used_at: iso(pin.lastUsedAt),
    expires_at: iso(expiresAt),
    hits: pin.hits,
    ...(pin.origin === undefined
      ? {}
      : { generation: pin.origin.generation, provider: pin.origin.provider, model_id: pin.origin.modelId })
  }
}

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Health and model list. */
export const layerInfo = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const providers = yield* Providers
    const keys = yield* ClientKeys
    const models = JSON.stringify({ object: "list", data: providers.models })
    yield* router.add("GET", "/healthz", HttpServerResponse.unsafeJson({ status: "ok" }))
    yield* router.add(
      "GET",
      "/v1/models",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const key = keys.authenticate(request.headers)
        if (Either.isLeft(key)) return yield* key.left
        return HttpServerResponse.text(models, { contentType: "application/json" })
      })
    )
  })
)

/** The pins API: inspect, list and revoke session pins (guarded by `routing.admin_key` when set). */
export const layerPins = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const config = yield* GatewayConfig
    const pins = yield* PinCache
    const keys = yield* ClientKeys
    const failover = yield* PinFailover
    const adminKey = config.routing.adminKey
    const loopbackOnly = isLoopback(config.listener.address)
    const scopeHeader = config.routing.sessionScopeHeader?.toLowerCase()

    const authorize = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (adminKey === undefined) {
        // Off loopback the pins API needs admin_key; on loopback with client keys, any valid client key will do.
        if (!loopbackOnly) return yield* new Unauthorized()
        if (Either.isLeft(keys.authenticate(request.headers))) return yield* new Unauthorized()
        return
      }
      const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? "")
      if (match === null || !sameSecret(match[1]!, Redacted.value(adminKey))) return yield* new Unauthorized()
    })

    const keyOf = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const params = yield* HttpLayerRouter.params
      const id = params.id ?? ""
      const url = new URL(request.url, "http://localhost")
      const scope = url.searchParams.get("scope") ?? (scopeHeader === undefined ? undefined : request.headers[scopeHeader])
      return SessionKey.scoped(scope ?? undefined, id)
    })

    yield* router.add(
      "GET",
      "/v1/routing/sessions/:id",
      Effect.gen(function*() {
        yield* authorize
        const key = yield* keyOf
        const pin = yield* pins.peek(key)
        if (Option.isNone(pin)) return yield* new NotFound({ what: "Session pin" })
        const migrations = (yield* failover.history(key)).map((m) => ({ ...m, at: iso(m.at) }))
        return yield* HttpServerResponse.json({ ...pinJson(key, pin.value, pins.expiresAt(pin.value)), migrations })
      })
    )
    yield* router.add(
      "DELETE",
      "/v1/routing/sessions/:id",
      Effect.gen(function*() {
        yield* authorize
        const key = yield* keyOf
        const removed = yield* pins.remove(key)
        if (!removed) return yield* new NotFound({ what: "Session pin" })
        recordPinRevoked()
        return HttpServerResponse.empty({ status: 204 })
      })
    )
    yield* router.add(
      "GET",
      "/v1/routing/sessions",
      Effect.gen(function*() {
        yield* authorize
        const request = yield* HttpServerRequest.HttpServerRequest
        const url = new URL(request.url, "http://localhost")
        const limit = Number(url.searchParams.get("limit") ?? "100")
        const cursor = url.searchParams.get("cursor") ?? undefined
        const page = yield* pins.list({ limit: Number.isFinite(limit) ? limit : 100, cursor })
        const stats = yield* pins.stats
        return yield* HttpServerResponse.json({
          object: "list",
          data: page.items.map((item) => pinJson(item.key, item.pin, item.expiresAt)),
          next_cursor: page.nextCursor ?? null,
          total: stats.size
        })
      })
    )
  })
)

/** `GET /metrics` in the Prometheus text format (absent with `observability.metrics.enabled: false`). */
export const layerMetrics = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const scrape = yield* MetricsScrape
    if (!scrape.enabled) return
    yield* router.add(
      "GET",
      "/metrics",
      Effect.map(scrape.render, (text) => HttpServerResponse.text(text, { contentType: scrape.contentType }))
    )
  })
)

/** `GET /admin/v1/targets`: every configured target and its cooldown state (guarded by `routing.admin_key`). */
export const layerTargets = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const config = yield* GatewayConfig
    const cooldowns = yield* Cooldowns
    const adminKey = config.routing.adminKey
    const configured = config.providers.filter((p) => !p.wildcard)
    yield* router.add(
      "GET",
      "/admin/v1/targets",
      Effect.gen(function*() {
        if (adminKey !== undefined) {
          const request = yield* HttpServerRequest.HttpServerRequest
          const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? "")
          if (match === null || !sameSecret(match[1]!, Redacted.value(adminKey))) return yield* new Unauthorized()
        }
        const states = yield* cooldowns.snapshot()
        const row = (name: string, provider: string, model: string) => {
          const status = states.get(name)
          return {
            name,
            provider,
            model,
            state: status?.state ?? "available",
            recent_failures: status?.recentFailures ?? 0,
            cooling_until: status?.coolingUntil === undefined ? null : iso(status.coolingUntil)
          }
        }
        const data = configured.map((p) => row(p.name, p.provider, p.modelId))
        // Wildcard targets (`openai/<any>`) appear once they have failed.
        for (const [name, status] of states) {
          if (!configured.some((p) => p.name === name)) data.push(row(name, status.provider, status.model))
        }
        const { cooldownSeconds, failures, windowSeconds } = cooldowns.settings
        return yield* HttpServerResponse.json({
          object: "list",
          data,
          cooldown: { failures, window_seconds: windowSeconds, cooldown_seconds: cooldownSeconds }
        })
      })
    )
  })
)

/** Every route served by the `@effect/platform` app (everything but the lean proxy path). */
export const layer = Layer.mergeAll(layerInfo, layerPins, layerMetrics, layerTargets)
