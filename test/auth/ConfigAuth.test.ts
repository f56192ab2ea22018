import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as ConfigFile from "../../src/config/ConfigFile.js"

const withEnv = (vars: Record<string, string> = {}) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))
const doc = (extra: Record<string, unknown> = {}) => ({
  version: "v0.4.0",
  model_providers: [{ model: "openai/gpt-4o-mini", default: true }, { model: "openai/gpt-4o" }],
  ...extra
})
const load = (raw: unknown, vars?: Record<string, string>) => ConfigFile.parseObject(raw).pipe(withEnv(vars))
const fail = (raw: unknown, vars?: Record<string, string>) => Effect.flip(load(raw, vars))
const hasIssue = (error: ConfigFile.ConfigError, at: string, fragment: string) =>
  assert.isTrue(
    error.issues.some((i) => i.path === at && i.message.includes(fragment)),
    `expected ${at}: …${fragment}… in\n${error.message}`
  )
const sha = (key: string) => createHash("sha256").update(key).digest("hex")

describe("auth config", () => {
  it.effect("no block, `auth: none`, and keys from $VAR and key_sha256", () =>
    Effect.gen(function*() {
      assert.isUndefined((yield* load(doc())).auth)
      assert.deepStrictEqual((yield* load(doc({ auth: "none" }))).auth, { type: "none", failOpen: true })
      const config = yield* load(
        doc({
          auth: {
            keys: [
              { name: "a", key: "$A_KEY", models: ["openai/gpt-4o"], expires_at: "2030-01-01T00:00:00Z" },
              { name: "b", key_sha256: sha("sk-b-0123456789abcdef") }
            ],
            fail_open: false
          }
        }),
        { A_KEY: "sk-a-0123456789abcdef" }
      )
      const auth = config.auth
      assert.strictEqual(auth?.type, "keys")
      if (auth?.type !== "keys") return
      assert.isFalse(auth.failOpen)
      assert.strictEqual(Buffer.from(auth.keys[0]!.sha256).toString("hex"), sha("sk-a-0123456789abcdef"))
      assert.strictEqual(auth.keys[0]!.expiresAt, Date.UTC(2030, 0, 1))
      assert.strictEqual(Buffer.from(auth.keys[1]!.sha256).toString("hex"), sha("sk-b-0123456789abcdef"))
    }))

  it.effect("names what is wrong and never echoes a key", () =>
    Effect.gen(function*() {
      const unset = yield* fail(doc({ auth: { keys: [{ name: "a", key: "$NOPE_KEY" }] } }))
      hasIssue(unset, "auth.keys[0].key", "NOPE_KEY is not set")
      const short = yield* fail(doc({ auth: { keys: [{ name: "a", key: "$SHORT" }] } }), { SHORT: "tiny-secret" })
      hasIssue(short, "auth.keys[0].key", "shorter than 16")
      assert.notInclude(short.message, "tiny-secret")
      const both = yield* fail(doc({ auth: { keys: [{ name: "a", key: "x".repeat(20), key_sha256: sha("x") }] } }))
      hasIssue(both, "auth.keys[0]", "exactly one of")
      hasIssue(yield* fail(doc({ auth: { keys: [] } })), "auth.keys", "auth: none")
      hasIssue(yield* fail(doc({ auth: "open" })), "auth", "expected `none`")
      const twice = [{ name: "a", key: "y".repeat(20) }, { name: "a", key: "z".repeat(20) }]
      const dup = yield* fail(doc({ auth: { keys: twice } }))
      hasIssue(dup, "auth.keys[1].name", "duplicate")
      const passthrough = yield* fail({
        ...doc({ auth: { keys: [{ name: "a", key: "y".repeat(20) }] } }),
        model_providers: [{ model: "openai/gpt-4o-mini", default: true, passthrough_auth: true }]
      })
      hasIssue(passthrough, "auth", "passthrough_auth")
    }))

  it.effect("keys_file: hashed keys from a YAML file next to the config", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "switchyard-keys-")))
      const keys = `- name: filed\n  key_sha256: ${sha("sk-filed-0123456789abcdef")}\n  models: [openai/gpt-4o]\n`
      const config = `version: v0.4.0\nmodel_providers:\n  - model: openai/gpt-4o-mini\n    default: true\n` +
        `  - model: openai/gpt-4o\nauth:\n  keys_file: keys.yaml\n`
      yield* Effect.promise(() => fs.writeFile(path.join(dir, "keys.yaml"), keys))
      yield* Effect.promise(() => fs.writeFile(path.join(dir, "config.yaml"), config))
      const loaded = yield* ConfigFile.load(path.join(dir, "config.yaml")).pipe(
        Effect.provide(NodeFileSystem.layer),
        withEnv()
      )
      assert.strictEqual(loaded.auth?.type === "keys" ? loaded.auth.keys[0]!.name : "", "filed")
      const plainKeys = "- name: plain\n  key: sk-plain-0123456789abcdef\n"
      yield* Effect.promise(() => fs.writeFile(path.join(dir, "keys.yaml"), plainKeys))
      const plain = yield* Effect.flip(
        ConfigFile.load(path.join(dir, "config.yaml")).pipe(Effect.provide(NodeFileSystem.layer), withEnv())
      )
      hasIssue(plain, "auth.keys_file[0].key", "only key_sha256")
      assert.notInclude(plain.message, "sk-plain")
      yield* Effect.promise(() => fs.rm(path.join(dir, "keys.yaml")))
      const missing = yield* Effect.flip(
        ConfigFile.load(path.join(dir, "config.yaml")).pipe(Effect.provide(NodeFileSystem.layer), withEnv())
      )
      hasIssue(missing, "auth.keys_file", "cannot read keys.yaml")
      yield* Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
    }))
})

describe("ratelimits config", () => {
  it.effect("reads Plano's shape (tokens) and Switchyard's requests, with header or client_key selectors", () =>
    Effect.gen(function*() {
      const config = yield* load(doc({
        ratelimits: [
          {
            model: "openai/gpt-4o",
            selector: { key: "X-Team", value: "red" },
            limit: { tokens: 1000, unit: "minute" }
          },
          { model: "*", selector: { key: "client_key", value: "*" }, limit: { requests: 10, unit: "hour" } },
          { model: "gpt-4o-mini", limit: { requests: 5, unit: "second" } }
        ]
      }))
      assert.deepStrictEqual(config.rateLimits, [
        {
          model: "openai/gpt-4o",
          selectorKey: "x-team",
          selectorValue: "red",
          kind: "tokens",
          limit: 1000,
          unit: "minute"
        },
        { model: "*", selectorKey: "client_key", selectorValue: "*", kind: "requests", limit: 10, unit: "hour" },
        { model: "gpt-4o-mini", selectorKey: undefined, selectorValue: "*", kind: "requests", limit: 5, unit: "second" }
      ])
      assert.notInclude(config.ignoredKeys, "ratelimits")
    }))

  it.effect("rejects unknown models, two limits in one entry, units it does not know and key headers", () =>
    Effect.gen(function*() {
      const error = yield* fail(doc({
        ratelimits: [
          { model: "openai/gpt-5", limit: { requests: 1, unit: "minute" } },
          { model: "*", limit: { requests: 1, tokens: 5, unit: "minute" } },
          { model: "*", limit: { requests: 1, unit: "week" } },
          { model: "*", selector: { key: "Authorization", value: "*" }, limit: { requests: 1, unit: "minute" } }
        ]
      }))
      hasIssue(error, "ratelimits[0].model", "not declared")
      hasIssue(error, "ratelimits[1].limit", "exactly one of")
      hasIssue(error, "ratelimits[2].limit.unit", "")
      hasIssue(error, "ratelimits[3].selector.key", "client_key")
    }))
})
