import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as ConfigFile from "../../src/config/ConfigFile.js"
import { resilienceOf } from "../../src/config/ConfigResilience.js"

const load = (extra: { listener?: string; routing?: string }) =>
  ConfigFile.parseText(`
version: v0.4.0
listeners:
  - type: model
    name: m
${extra.listener ?? ""}
model_providers:
  - model: openai/gpt-4o
    access_key: k
routing:
  session_ttl_seconds: 600
${extra.routing ?? ""}
`).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))

describe("resilience config", () => {
  it.effect("defaults: 1 retry, fallback to default, LiteLLM-like cooldown, migrate after 2 failures", () =>
    Effect.gen(function*() {
      const config = yield* load({})
      assert.deepStrictEqual(resilienceOf(config), {
        maxRetries: 1,
        fallbackToDefault: true,
        cooldown: { failures: 3, windowSeconds: 60, cooldownSeconds: 5 },
        pinFailover: { policy: "migrate", afterFailures: 2 }
      })
      assert.notInclude(config.ignoredKeys, "listeners[0].max_retries")
    }))

  it.effect("reads max_retries, fallback_to_default, cooldown and both forms of pin_failover", () =>
    Effect.gen(function*() {
      const config = yield* load({
        listener: "    max_retries: 3",
        routing: [
          "  fallback_to_default: false",
          "  cooldown: {failures: 5, window_seconds: 30, cooldown_seconds: 10}",
          "  pin_failover: hold"
        ].join("\n")
      })
      assert.deepStrictEqual(resilienceOf(config), {
        maxRetries: 3,
        fallbackToDefault: false,
        cooldown: { failures: 5, windowSeconds: 30, cooldownSeconds: 10 },
        pinFailover: { policy: "hold", afterFailures: 2 }
      })
      const mapping = yield* load({ routing: "  pin_failover: {policy: migrate, after_failures: 4}" })
      assert.deepStrictEqual(resilienceOf(mapping).pinFailover, { policy: "migrate", afterFailures: 4 })
      assert.include(
        ConfigFile.describe(config),
        "failures: 3 retries per model, fallback to default off, cooldown after 5 failures in 30 s for 10 s, " +
          "pin_failover hold"
      )
    }))

  it.effect("names the path of a wrong value", () =>
    Effect.gen(function*() {
      const messages = (extra: { listener?: string; routing?: string }) =>
        load(extra).pipe(Effect.flip, Effect.map((e) => e.message))
      assert.include(yield* messages({ routing: "  pin_failover: sometimes" }), "routing.pin_failover")
      assert.include(yield* messages({ routing: "  cooldown: {failures: 0}" }), "routing.cooldown.failures")
      assert.include(yield* messages({ listener: "    max_retries: -1" }), "listeners[0].max_retries")
      assert.include(yield* messages({ routing: "  fallback_to_default: maybe" }), "routing.fallback_to_default")
    }))
})
