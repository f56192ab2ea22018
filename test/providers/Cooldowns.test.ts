import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/TestClock"
import * as ConfigFile from "../../src/config/ConfigFile.js"
import * as GatewayConfig from "../../src/config/GatewayConfig.js"
import { cooldownGauge, Cooldowns } from "../../src/providers/Cooldowns.js"
import { Providers } from "../../src/providers/Providers.js"

const yaml = (cooldown: string) => `
version: v0.4.0
model_providers:
  - model: openai/cool-a
    base_url: http://127.0.0.1:1
    access_key: k
  - model: openai/cool-b
    base_url: http://127.0.0.1:1
    access_key: k
routing:
${cooldown}
`

type Target = NonNullable<ReturnType<Providers["resolve"]>>

const withCooldowns = <A, E>(
  cooldown: string,
  test: (cooldowns: Cooldowns, target: (name: string) => Target) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const config = yield* ConfigFile.parseText(yaml(cooldown)).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
    )
    const layer = Layer.merge(Cooldowns.Default, Providers.Default).pipe(Layer.provide(GatewayConfig.layer(config)))
    const [cooldowns, providers] = yield* Effect.all([Cooldowns, Providers]).pipe(Effect.provide(layer))
    return yield* test(cooldowns, (name) => providers.resolve(name)!)
  })

const gaugeOf = (model: string) =>
  Metric.value(cooldownGauge.pipe(Metric.tagged("provider", "openai"), Metric.tagged("model", model))).pipe(
    Effect.map((state) => state.value)
  )

describe("Cooldowns", () => {
  it.effect("N failures inside the window cool a target; fewer, or spread wider than the window, do not", () =>
    withCooldowns("  cooldown: {failures: 3, window_seconds: 10, cooldown_seconds: 5}", (cooldowns, target) =>
      Effect.gen(function*() {
        const a = target("openai/cool-a")
        yield* cooldowns.failed(a)
        yield* cooldowns.failed(a)
        yield* TestClock.adjust("11 seconds")
        yield* cooldowns.failed(a)
        assert.isTrue(yield* cooldowns.admit(a))
        assert.strictEqual((yield* cooldowns.snapshot()).get(a.name)!.recentFailures, 1)
        yield* cooldowns.failed(a)
        yield* cooldowns.failed(a)
        assert.isFalse(yield* cooldowns.admit(a))
        assert.isTrue(yield* cooldowns.cooling(a))
        assert.strictEqual((yield* cooldowns.snapshot()).get(a.name)!.state, "cooling")
        assert.strictEqual(yield* gaugeOf("cool-a"), 1)
        assert.isTrue(yield* cooldowns.admit(target("openai/cool-b")))
      })))

  it.effect("after the cooldown one probe is let through; its success closes the breaker, its failure reopens it", () =>
    withCooldowns("  cooldown:\n    failures: 1\n    cooldown_seconds: 5", (cooldowns, target) =>
      Effect.gen(function*() {
        const a = target("openai/cool-a")
        yield* cooldowns.failed(a)
        yield* TestClock.adjust("4 seconds")
        assert.isFalse(yield* cooldowns.admit(a))
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* cooldowns.snapshot()).get(a.name)!.state, "half_open")
        assert.isTrue(yield* cooldowns.admit(a))
        assert.isFalse(yield* cooldowns.admit(a), "only one probe at a time")
        yield* cooldowns.failed(a)
        assert.isFalse(yield* cooldowns.admit(a))
        yield* TestClock.adjust("5 seconds")
        assert.isTrue(yield* cooldowns.admit(a))
        yield* cooldowns.succeeded(a)
        assert.isTrue(yield* cooldowns.admit(a))
        assert.isTrue(yield* cooldowns.admit(a))
        assert.isFalse((yield* cooldowns.snapshot()).has(a.name))
        assert.strictEqual(yield* gaugeOf("cool-a"), 0)
      })))

  it.effect("defaults are LiteLLM's: 3 failures in 60 s cool a target for 5 s", () =>
    withCooldowns("  session_ttl_seconds: 600", (cooldowns) =>
      Effect.sync(() =>
        assert.deepStrictEqual(cooldowns.settings, { failures: 3, windowSeconds: 60, cooldownSeconds: 5 })
      )))
})
