import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Turn } from "./Conversation.js"
import { GatewayConfig } from "../config/GatewayConfig.js"
import type { RoutePreference } from "../config/GatewayConfig.js"
import { PinCache } from "../pinning/PinCache.js"
import type { Pin, PinCacheService } from "../pinning/PinCache.js"
import { ConfigGeneration, originOf, verdict } from "../pinning/PinGeneration.js"
import { TurnPins } from "../pinning/TurnPins.js"
import type { TurnState } from "./TurnKey.js"
import { Providers } from "../providers/Providers.js"
import type { ModelTarget } from "../providers/Providers.js"
import { modelsOf, Router } from "./Router.js"
import { recordRouterCall } from "../observability/GatewayMetrics.js"
import { childSpan } from "../observability/Tracing.js"

/** Why a model was chosen (the `x-routing-reason` header). */
export type RoutingReason =
  | "routed"
  | "pinned"
  | "no_match"
  | "requested"
  | "router_error"
  | "repinned_config_changed"
  | "turn_replay"

/** What happened to the session pin (the `x-routing-pin` header). */
export type PinOutcome = "created" | "hit" | "none"

/** A decision for one request. */
export interface Selection {
  /** The model name that serves the request (`openai/gpt-4o`), or the raw requested name when unconfigured. */
  readonly model: string
  /** Its provider entry, when configured. */
  readonly target: ModelTarget | undefined
  readonly route: string | null
  readonly reason: RoutingReason
  readonly pin: PinOutcome
  /** Ranked candidates: the chosen model first, then the route's other models. */
  readonly candidates: ReadonlyArray<string>
  readonly confidence: number | undefined
  /** Time the decision took, in milliseconds. */
  readonly routingMs: number
}

/** The inputs of a decision; `turns` is only evaluated when the router actually runs. */
export interface DecisionInput {
  readonly requestedModel: string | undefined
  readonly sessionKey: string | undefined
  readonly inlinePreferences: ReadonlyArray<RoutePreference> | undefined
  readonly turns: () => ReadonlyArray<Turn>
  /** Where the request stands in its turn (for turn affinity without a session id); evaluated only when needed. */
  readonly turn?: (() => TurnState | undefined) | undefined
}

type Decided = Omit<Selection, "routingMs">

/** Chooses the model for a request: session pin, else the router, else the requested or default model. */
export class RouteDecider extends Effect.Service<RouteDecider>()("switchyard/RouteDecider", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const providers = yield* Providers
    const router = yield* Router
    const pins = yield* PinCache
    // Both optional so a decider built without a live gateway keeps its plain behaviour.
    const generation = Option.getOrUndefined(yield* Effect.serviceOption(ConfigGeneration))
    const turnPins = config.routing.turnAffinity === false
      ? undefined
      : Option.getOrUndefined(yield* Effect.serviceOption(TurnPins))
    const inFlight = new Map<string, Deferred.Deferred<Decided>>()

    const fallbackName = (requested: string | undefined): string | undefined =>
      requested !== undefined ? providers.resolve(requested)?.name ?? requested : providers.defaultTarget?.name

    const withRest = (first: string, models: ReadonlyArray<string>): ReadonlyArray<string> => [
      first,
      ...models.filter((m) => m !== first)
    ]

    const fromPin = (model: string, route: string | null, routes: ReadonlyArray<RoutePreference>): Decided | undefined => {
      const target = providers.resolve(model)
      if (target === undefined) return undefined
      const models = modelsOf(routes, route)
      return {
        model: target.name,
        target,
        route,
        reason: "pinned",
        pin: "hit",
        candidates: withRest(target.name, models),
        confidence: undefined
      }
    }

    const route = (input: DecisionInput, routes: ReadonlyArray<RoutePreference>) =>
      Effect.gen(function*() {
        const fallback = fallbackName(input.requestedModel)
        const plain = (reason: RoutingReason, routeName: string | null, confidence: number | undefined): Decided => ({
          model: fallback ?? "",
          target: fallback === undefined ? undefined : providers.resolve(fallback),
          route: routeName,
          reason,
          pin: "none",
          candidates: fallback === undefined ? [] : [fallback],
          confidence
        })
        if (routes.length === 0) return plain("requested", null, undefined)
        const decision = yield* router.decide(routes, input.turns()).pipe(
          childSpan("switchyard.router", { attributes: { "switchyard.router": router.kind } })
        )
        recordRouterCall(router.kind, decision.reason, decision.latencyMs, decision.error)
        if (decision.failed) return plain("router_error", null, undefined)
        if (decision.route === null) return plain("no_match", null, decision.confidence)
        // Inline preferences may name models this gateway does not serve; take the first one it does.
        const served = decision.models.map((m) => providers.resolve(m)).find((t) => t !== undefined)
        if (served === undefined) {
          // Reported as decided (the decision endpoint does not validate models); the proxy answers 404 for it.
          return {
            model: decision.models[0] ?? "",
            target: undefined,
            route: decision.route,
            reason: "routed" as const,
            pin: "none" as const,
            candidates: decision.models,
            confidence: decision.confidence
          }
        }
        return {
          model: served.name,
          target: served,
          route: decision.route,
          reason: "routed" as const,
          pin: "none" as const,
          candidates: withRest(served.name, decision.models.map((m) => providers.resolve(m)?.name ?? m)),
          confidence: decision.confidence
        }
      })

    const judge = (pin: Pin, routes: ReadonlyArray<RoutePreference>) =>
      verdict(pin, generation, providers.resolve, routes)

    /**
     * Pins a decision; when the store keeps another pin (a replica decided first, or runs a newer config), that pin
     * wins so every replica serves one model.
     */
    const store = (into: PinCacheService, key: string, decided: Decided, routes: ReadonlyArray<RoutePreference>) =>
      Effect.gen(function*() {
        const target = decided.target!
        const origin = generation === undefined ? undefined : originOf(generation, target)
        const stored = yield* into.put(key, { model: decided.model, route: decided.route, ...(origin && { origin }) })
        if (stored.model === decided.model) return undefined
        return fromPin(stored.model, stored.route, routes)
      })

    const routeAndPin = (key: string, input: DecisionInput, routes: ReadonlyArray<RoutePreference>) =>
      Effect.gen(function*() {
        const decided = yield* route(input, routes)
        if (decided.reason === "router_error" || decided.target === undefined) return decided
        const other = yield* store(pins, key, decided, routes)
        return other ?? { ...decided, pin: "created" as const }
      })

    /** Without a session id: a request that continues a turn replays the model the turn started on. */
    const turnAware = (input: DecisionInput, routes: ReadonlyArray<RoutePreference>) =>
      Effect.gen(function*() {
        const turn = turnPins === undefined ? undefined : input.turn?.()
        if (turnPins === undefined || turn === undefined) return yield* route(input, routes)
        if (turn.continues) {
          const pinned = yield* turnPins.get(turn.key)
          if (Option.isSome(pinned) && judge(pinned.value, routes) !== "dropped") {
            const hit = fromPin(pinned.value.model, pinned.value.route, routes)
            if (hit !== undefined) return { ...hit, reason: "turn_replay" as const, pin: "none" as const }
          }
        }
        const decided = yield* route(input, routes)
        if (decided.reason === "router_error" || decided.target === undefined) return decided
        const other = yield* store(turnPins, turn.key, decided, routes)
        return other === undefined ? decided : { ...other, reason: "turn_replay" as const, pin: "none" as const }
      })

    /** Routes once per session: concurrent first requests of a session wait for the first one's decision. */
    const singleFlight = (key: string, input: DecisionInput, routes: ReadonlyArray<RoutePreference>) =>
      Effect.gen(function*() {
        const existing = inFlight.get(key)
        if (existing !== undefined) {
          const decided = yield* Deferred.await(existing)
          return decided.pin === "created" ? { ...decided, reason: "pinned" as const, pin: "hit" as const } : decided
        }
        const deferred = yield* Deferred.make<Decided>()
        inFlight.set(key, deferred)
        // Uninterruptible so a client that hangs up mid-decision cannot strand the requests waiting on it.
        return yield* routeAndPin(key, input, routes).pipe(
          Effect.onExit((exit) => Deferred.done(deferred, exit)),
          Effect.ensuring(Effect.sync(() => inFlight.delete(key))),
          Effect.uninterruptible
        )
      })

    const decideUntimed = (input: DecisionInput): Effect.Effect<Decided> =>
      Effect.gen(function*() {
        const routes = input.inlinePreferences ?? config.routingPreferences
        const key = input.sessionKey
        if (key === undefined) return yield* turnAware(input, routes)
        const pinned = yield* pins.get(key).pipe(childSpan("switchyard.pin_lookup"))
        if (Option.isSome(pinned)) {
          const judged = judge(pinned.value, routes)
          if (judged !== "dropped") {
            const hit = fromPin(pinned.value.model, pinned.value.route, routes)
            if (hit !== undefined) return hit
          }
          // A newer config's pin this replica cannot serve: serve a decision of its own, leave the pin alone.
          if (judged === "newer") return yield* route(input, routes)
          // The pinned model or route left the config: drop the pin and route again.
          yield* pins.remove(key)
          const again = yield* singleFlight(key, input, routes)
          return again.pin === "created" ? { ...again, reason: "repinned_config_changed" as const } : again
        }
        return yield* singleFlight(key, input, routes)
      })

    /** Decides the model for one request; never fails (router trouble falls back with `router_error`). */
    const decide = (input: DecisionInput): Effect.Effect<Selection> => {
      // Nothing to decide (no session, no routes): the requested or default model, without timing a no-op.
      if (input.sessionKey === undefined && (input.inlinePreferences ?? config.routingPreferences).length === 0) {
        const name = fallbackName(input.requestedModel)
        return Effect.succeed({
          model: name ?? "",
          target: name === undefined ? undefined : providers.resolve(name),
          route: null,
          reason: "requested",
          pin: "none",
          candidates: name === undefined ? [] : [name],
          confidence: undefined,
          routingMs: 0
        })
      }
      return Effect.gen(function*() {
        const start = yield* Clock.currentTimeNanos
        const decided = yield* decideUntimed(input)
        const routingMs = Number((yield* Clock.currentTimeNanos) - start) / 1e6
        return { ...decided, routingMs }
      })
    }

    return { decide } as const
  })
}) {}
