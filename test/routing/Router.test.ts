import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { EmbeddedRouter } from "../../src/routing/EmbeddedRouter.js"
import type { RoutePreference } from "../../src/config/GatewayConfig.js"
import { Router, layerEmbedded, makeEmbeddedLazy } from "../../src/routing/Router.js"

const routes: ReadonlyArray<RoutePreference> = [
  {
    name: "writing_code",
    description: "writing new functions, classes or scripts",
    models: ["a/coder", "b/backup"],
    examples: [],
    prefer: "none"
  },
  {
    name: "travel",
    description: "planning trips, flights and hotel bookings",
    models: ["c/planner"],
    examples: [],
    prefer: "none"
  }
]

const router = layerEmbedded(undefined, routes).pipe(Layer.provide(EmbeddedRouter.Default))

describe("Router (embedded)", () => {
  it.effect("returns the matched route, its ranked models and reason routed", () =>
    Effect.gen(function*() {
      const r = yield* Router
      const decision = yield* r.decide(routes, [{ role: "user", content: "Write a Rust function that reverses a string" }])
      assert.strictEqual(decision.route, "writing_code")
      assert.deepStrictEqual(decision.models, ["a/coder", "b/backup"])
      assert.strictEqual(decision.reason, "routed")
      assert.isFalse(decision.failed)
      assert.isAtLeast(decision.latencyMs, 0)
    }).pipe(Effect.provide(router)))

  it.effect("answers no_match with no models for small talk", () =>
    Effect.gen(function*() {
      const r = yield* Router
      const decision = yield* r.decide(routes, [{ role: "user", content: "thanks, that's all for today!" }])
      assert.isNull(decision.route)
      assert.deepStrictEqual(decision.models, [])
      assert.strictEqual(decision.reason, "no_match")
    }).pipe(Effect.provide(router)))
})

describe("Router (embedded, loaded on first use)", () => {
  it.effect("decides inline routes exactly as the eagerly loaded router does", () =>
    Effect.gen(function*() {
      const lazy = yield* makeEmbeddedLazy(undefined)
      const eager = yield* Effect.provide(Router, router)
      for (
        const content of [
          "Write a Rust function that reverses a string",
          "Book me a flight to Lisbon and a hotel near the river",
          "thanks, that's all for today!"
        ]
      ) {
        const turns = [{ role: "user" as const, content }]
        const [a, b] = yield* Effect.all([lazy.decide(routes, turns), eager.decide(routes, turns)], {
          concurrency: 2
        })
        assert.strictEqual(a.route, b.route)
        assert.deepStrictEqual(a.models, b.models)
        assert.strictEqual(a.confidence, b.confidence)
        assert.isFalse(a.failed)
      }
    }))
})
