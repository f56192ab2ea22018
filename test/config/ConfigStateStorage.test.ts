import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import * as ConfigFile from "../../src/config/ConfigFile.js"

const plano = (state: string) => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: openai/gpt-4o
    access_key: $OPENAI_API_KEY
    default: true
${state}`

const load = (yaml: string, env: Record<string, string> = {}) =>
  ConfigFile.parseText(yaml).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

describe("state_storage", () => {
  it.effect("type: memory loads and is no longer an ignored key", () =>
    Effect.gen(function*() {
      const config = yield* load(plano("state_storage:\n  type: memory\n"), { OPENAI_API_KEY: "k" })
      assert.deepStrictEqual(config.stateStorage, { type: "memory" })
      assert.notInclude(config.ignoredKeys, "state_storage")
      assert.include(ConfigFile.describe(config).join("\n"), "state_storage: memory")
    }))

  it.effect("type: postgres substitutes $VAR in connection_string and keeps it redacted", () =>
    Effect.gen(function*() {
      const config = yield* load(
        plano("state_storage:\n  type: postgres\n  connection_string: $DATABASE_URL\n"),
        { OPENAI_API_KEY: "k", DATABASE_URL: "postgresql://app:s3cret@db.internal:5433/plano" }
      )
      const state = config.stateStorage
      assert.strictEqual(state?.type, "postgres")
      if (state?.type === "postgres") {
        assert.strictEqual(Redacted.value(state.connectionString), "postgresql://app:s3cret@db.internal:5433/plano")
      }
      const described = ConfigFile.describe(config).join("\n")
      assert.include(described, "state_storage: postgres db.internal:5433/plano")
      assert.notInclude(described, "s3cret")
    }))

  it.effect("no state_storage means none", () =>
    Effect.gen(function*() {
      const config = yield* load(plano(""), { OPENAI_API_KEY: "k" })
      assert.isUndefined(config.stateStorage)
    }))

  it.effect("problems name their path", () =>
    Effect.gen(function*() {
      const bad = [
        ["state_storage:\n  type: redis\n", "state_storage.type", "expected memory or postgres"],
        ["state_storage:\n  type: postgres\n", "state_storage.connection_string", "postgres:// or postgresql://"],
        ["state_storage:\n  type: memory\n  size: 3\n", "state_storage.size", "unknown key"]
      ] as const
      for (const [block, path, text] of bad) {
        const error = yield* Effect.flip(load(plano(block), { OPENAI_API_KEY: "k" }))
        const issue = error.issues.find((i) => i.path === path)
        assert.isDefined(issue, `${path} in ${error.message}`)
        assert.include(issue!.message, text)
      }
    }))
})
