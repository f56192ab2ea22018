import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import { fileURLToPath } from "node:url"
import * as ConfigFile from "../../src/config/ConfigFile.js"
import { GatewayConfig } from "../../src/config/GatewayConfig.js"

const withEnv = (vars: Record<string, string> = {}) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

const fromText = (text: string, vars?: Record<string, string>) =>
  ConfigFile.parseText(text, "test.yaml").pipe(withEnv(vars))
const fromObject = (raw: unknown, vars?: Record<string, string>) => ConfigFile.parseObject(raw).pipe(withEnv(vars))
const failText = (text: string, vars?: Record<string, string>) => Effect.flip(fromText(text, vars))
const failObject = (raw: unknown, vars?: Record<string, string>) => Effect.flip(fromObject(raw, vars))

const expectIssue = (error: ConfigFile.ConfigError, path: string, fragment: string) =>
  assert.isTrue(
    error.issues.some((issue) => issue.path === path && issue.message.includes(fragment)),
    `expected "${path}: …${fragment}…" in:\n${error.message}`
  )

/** A minimal valid v0.4 document; `extra` is merged over it. */
const doc = (extra: Record<string, unknown> = {}) => ({
  version: "v0.4.0",
  model_providers: [{ model: "openai/gpt-4o-mini", default: true }, { model: "openai/gpt-4o" }],
  ...extra
})

const demoYaml = `version: v0.3.0

listeners:
  - type: model
    name: model_listener
    port: 12000

model_providers:

  - model: openai/gpt-4o-mini
    access_key: $OPENAI_API_KEY
    default: true

  - model: openai/gpt-4o
    access_key: $OPENAI_API_KEY
    routing_preferences:
      - name: complex_reasoning
        description: complex reasoning tasks, multi-step analysis, or detailed explanations

  - model: anthropic/claude-sonnet-4-20250514
    access_key: $ANTHROPIC_API_KEY
    routing_preferences:
      - name: code_generation
        description: generating new code, writing functions, or creating boilerplate

tracing:
  random_sampling: 100
`

// plano-behaviour.md §1.12, 5789694d session pinning demo config.
const behaviourDemoYaml = `version: v0.3.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: openai/gpt-4o-mini
    access_key: $OPENAI_API_KEY
    default: true
  - model: openai/gpt-4o
    access_key: $OPENAI_API_KEY
    routing_preferences:
      - name: complex_reasoning
        description: complex reasoning tasks, multi-step analysis, or detailed explanations
  - model: anthropic/claude-sonnet-4-20250514
    access_key: $ANTHROPIC_API_KEY
    routing_preferences:
      - name: code_generation
        description: generating new code, writing functions, or creating boilerplate
tracing:
  random_sampling: 100
`

// plano-behaviour.md §1.12, the canonical v0.4 config (model_routing_service demo), written out.
const canonicalV04Yaml = `version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: openai/gpt-4o-mini
    access_key: $OPENAI_API_KEY
    default: true
  - model: openai/gpt-4o
    access_key: $OPENAI_API_KEY
  - model: anthropic/claude-sonnet-4-20250514
    access_key: $ANTHROPIC_API_KEY
routing_preferences:
  - name: complex_reasoning
    description: complex reasoning tasks, multi-step analysis, or detailed explanations
    models: [openai/gpt-4o, openai/gpt-4o-mini]
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models: [anthropic/claude-sonnet-4-20250514, openai/gpt-4o]
`

describe("ConfigFile", () => {
  describe("reference configs", () => {
    it.effect("the repo's config.yaml loads with no API keys set", () =>
      Effect.gen(function*() {
        const path = fileURLToPath(new URL("../../config.yaml", import.meta.url))
        const config = yield* ConfigFile.load(path).pipe(withEnv(), Effect.provide(NodeFileSystem.layer))
        assert.strictEqual(config.version, "v0.3.0")
        assert.deepStrictEqual(config.providers.map((p) => p.missingKeyVar), [
          "OPENAI_API_KEY",
          "OPENAI_API_KEY",
          "ANTHROPIC_API_KEY"
        ])
        assert.deepStrictEqual(
          config.routingPreferences.map((r) => [r.name, r.models]),
          [["complex_reasoning", ["openai/gpt-4o"]], ["code_generation", ["anthropic/claude-sonnet-4-20250514"]]]
        )
        assert.strictEqual(config.routing.sessionTtlSeconds, 600)
        assert.strictEqual(config.routing.sessionMaxEntries, 10000)
        assert.strictEqual(config.listener.port, 12000)
        // tracing.random_sampling is read (observability); nothing in the repo's config is ignored.
        assert.deepStrictEqual(config.ignoredKeys, [])
        assert.strictEqual(config.observability?.tracing.randomSampling, 100)
      }))

    it.effect("the session-pinning demo config (session-pinning-demo.md) loads and is migrated", () =>
      Effect.gen(function*() {
        const config = yield* fromText(demoYaml, { OPENAI_API_KEY: "sk-o", ANTHROPIC_API_KEY: "sk-a" })
        assert.deepStrictEqual(config.routingPreferences.map((r) => r.name), ["complex_reasoning", "code_generation"])
        assert.strictEqual(config.providers.find((p) => p.isDefault)?.name, "openai/gpt-4o-mini")
        assert.strictEqual(Redacted.value(config.providers[2]!.accessKey!), "sk-a")
        assert.isTrue(config.warnings.some((w) => w.includes("deprecated")))
      }))

    it.effect("the plano-behaviour.md §1.12 configs load", () =>
      Effect.gen(function*() {
        const v03 = yield* fromText(behaviourDemoYaml)
        assert.strictEqual(v03.routingPreferences.length, 2)
        const v04 = yield* fromText(canonicalV04Yaml)
        assert.deepStrictEqual(
          v04.routingPreferences[1]!.models,
          ["anthropic/claude-sonnet-4-20250514", "openai/gpt-4o"]
        )
        assert.deepStrictEqual(v04.warnings, [])
      }))

    it.effect("load of a missing file names the file", () =>
      Effect.gen(function*() {
        const error = yield* ConfigFile.load("/nonexistent/switchyard.yaml").pipe(
          Effect.flip,
          withEnv(),
          Effect.provide(NodeFileSystem.layer)
        )
        expectIssue(error, "/nonexistent/switchyard.yaml", "not found")
      }))

    it.effect("layerText provides GatewayConfig", () =>
      Effect.gen(function*() {
        const config = yield* GatewayConfig
        assert.strictEqual(config.providers.length, 3)
      }).pipe(Effect.provide(ConfigFile.layerText(canonicalV04Yaml)), withEnv()))
  })

  describe("document and defaults", () => {
    it.effect("YAML syntax errors carry file:line:column", () =>
      Effect.gen(function*() {
        const error = yield* failText("version: v0.4.0\nrouting:\n  a: 1\n  a: 2\n")
        assert.strictEqual(error.issues[0]!.path, "test.yaml:4:3")
        assert.include(error.issues[0]!.message, "YAML syntax error")
      }))

    it.effect("an empty document is an error at the root", () =>
      Effect.gen(function*() {
        const error = yield* failText("")
        expectIssue(error, "(root)", "the config is empty")
      }))

    it.effect("defaults fill listener and routing when absent", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc())
        assert.deepStrictEqual(config.listener, {
          address: "127.0.0.1",
          port: 12000,
          timeoutMs: 300_000,
          maxBodyBytes: 10 * 1024 * 1024
        })
        assert.deepStrictEqual(config.routing, {
          sessionTtlSeconds: 600,
          sessionMaxEntries: 10000,
          sessionSweepIntervalSeconds: 60,
          sessionScopeHeader: undefined,
          adminKey: undefined,
          router: { type: "embedded", threshold: undefined }
        })
        assert.deepStrictEqual(config.routingPreferences, [])
        assert.strictEqual(config.providers[0]!.name, "openai/gpt-4o-mini")
        assert.strictEqual(config.providers[0]!.interface, "openai")
        assert.isFalse(config.providers[0]!.internal)
      }))

    it.effect("missing version is reported; unknown versions are rejected, later vX.Y.Z accepted", () =>
      Effect.gen(function*() {
        const { version: _, ...noVersion } = doc()
        expectIssue(yield* failObject(noVersion), "version", "is required")
        expectIssue(yield* failObject(doc({ version: "v0.4" })), "version", "unsupported version \"v0.4\"")
        assert.strictEqual((yield* fromObject(doc({ version: "v0.5.2" }))).version, "v0.5.2")
        assert.strictEqual((yield* fromObject(doc({ version: "0.2.0" }))).version, "0.2.0")
      }))

    it.effect("unknown top-level key → remove it or check the spelling", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({ routng: {} }))
        expectIssue(error, "routng", "remove it or check the spelling")
      }))

    it.effect("wrong types name the path and the expected type, all at once", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({
          listeners: [{ type: "model", port: "abc" }],
          model_providers: [{ model: "openai/gpt-4o", default: "yes", modle: "x" }],
          routing: { session_max_entries: 0 }
        }))
        expectIssue(error, "listeners[0].port", "expected a number")
        expectIssue(error, "model_providers[0].default", "Expected boolean")
        expectIssue(error, "model_providers[0].modle", "unknown key \"modle\"; remove it or check the spelling")
        expectIssue(error, "routing.session_max_entries", "from 1 to 10000000")
        assert.include(error.message, "listeners[0].port: expected a number")
        assert.isAtLeast(error.issues.length, 4)
      }))

    it.effect("Plano keys Switchyard does not implement are listed in ignoredKeys", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          tracing: { random_sampling: 10, trace_arch_internal: "$UNSET_OTEL" },
          prompt_targets: [],
          state_storage: { type: "memory" },
          listeners: [{ type: "model", name: "m", max_retries: 3 }, { type: "prompt", name: "p", port: 10000 }],
          model_providers: [{ model: "openai/gpt-4o", http_host: "h" }],
          routing: {
            llm_provider: "x",
            model: "y",
            route_on_user_only: true,
            routing_budget: { max_switch_spend_pct: 1 }
          },
          overrides: { upstream_connect_timeout: "5s" }
        }))
        assert.deepStrictEqual(config.ignoredKeys, [
          "prompt_targets",
          "listeners[1]",
          "model_providers[0].http_host",
          "routing.llm_provider",
          "routing.model",
          "routing.route_on_user_only",
          "routing.routing_budget",
          "tracing.trace_arch_internal",
          "overrides.upstream_connect_timeout"
        ])
      }))
  })

  describe("listeners", () => {
    it.effect("timeout accepts 30s, 5m, 300ms and seconds; max_body_bytes and address are read", () =>
      Effect.gen(function*() {
        const timeoutOf = (timeout: unknown) =>
          fromObject(doc({ listeners: [{ type: "model", timeout }] })).pipe(Effect.map((c) => c.listener.timeoutMs))
        assert.strictEqual(yield* timeoutOf("30s"), 30_000)
        assert.strictEqual(yield* timeoutOf("5m"), 300_000)
        assert.strictEqual(yield* timeoutOf("300ms"), 300)
        assert.strictEqual(yield* timeoutOf(45), 45_000)
        const config = yield* fromObject(doc({
          listeners: [{ type: "model", address: "127.0.0.1", port: 8080, max_body_bytes: 1024 }]
        }))
        assert.deepStrictEqual(
          config.listener,
          { address: "127.0.0.1", port: 8080, timeoutMs: 300_000, maxBodyBytes: 1024 }
        )
        expectIssue(
          yield* failObject(doc({ listeners: [{ type: "model", timeout: "soon" }] })),
          "listeners[0].timeout",
          "30s"
        )
      }))

    it.effect("more than one model listener is an error", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({ listeners: [{ type: "model" }, { type: "model", port: 1 }] }))
        expectIssue(error, "listeners[1]", "only one model listener is allowed")
      }))

    it.effect("a port from the environment is accepted as a number", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({ listeners: [{ type: "model", port: "${PORT}" }] }), { PORT: "9000" })
        assert.strictEqual(config.listener.port, 9000)
      }))
  })

  describe("model_providers", () => {
    it.effect("no providers → There must be at least one LLM Provider", () =>
      Effect.gen(function*() {
        expectIssue(
          yield* failObject({ version: "v0.4.0" }),
          "model_providers",
          "There must be at least one LLM Provider"
        )
        expectIssue(
          yield* failObject({ version: "v0.4.0", model_providers: [] }),
          "model_providers",
          "There must be at least one LLM Provider"
        )
      }))

    it.effect("llm_providers is an alias; both present is an error", () =>
      Effect.gen(function*() {
        const config = yield* fromObject({ version: "v0.4.0", llm_providers: [{ model: "openai/gpt-4o" }] })
        assert.strictEqual(config.providers[0]!.name, "openai/gpt-4o")
        assert.isTrue(config.warnings.some((w) => w.includes("llm_providers is deprecated")))
        const error = yield* failObject(doc({ llm_providers: [{ model: "openai/gpt-4o" }] }))
        expectIssue(error, "llm_providers", "Please provide either llm_providers or model_providers, not both")
      }))

    it.effect("model without a provider prefix → Plano's Invalid model name message", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({ model_providers: [{ model: "openai/gpt-4o" }, { model: "gpt-4o" }] }))
        expectIssue(
          error,
          "model_providers[1].model",
          "Invalid model name gpt-4o. Please provide model name in the format <provider>/<model_id> or " +
            "<provider>/* for wildcards."
        )
      }))

    it.effect("known prefix with provider_interface → Plano's error", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({
          model_providers: [{ model: "openai/gpt-4o", provider_interface: "openai" }]
        }))
        expectIssue(
          error,
          "model_providers[0].provider_interface",
          "Please provide provider interface as part of model name"
        )
      }))

    it.effect("custom prefix needs base_url and provider_interface (alias provider); both given → resolved", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({ model_providers: [{ model: "acme/m1" }] }))
        expectIssue(
          error,
          "model_providers[0]",
          "Must provide base_url and provider_interface for unsupported provider acme"
        )
        const config = yield* fromObject(doc({
          model_providers: [
            { model: "acme/m1", base_url: "http://acme.local:8080/v1/", provider_interface: "openai" },
            { model: "corp/claude-x", base_url: "https://corp.example", provider: "claude" }
          ]
        }))
        assert.strictEqual(config.providers[0]!.interface, "openai")
        assert.strictEqual(config.providers[0]!.baseUrl, "http://acme.local:8080/v1")
        assert.strictEqual(config.providers[1]!.interface, "anthropic")
        const both = yield* failObject(doc({
          model_providers: [
            { model: "acme/m1", base_url: "http://a", provider: "openai", provider_interface: "openai" }
          ]
        }))
        expectIssue(both, "model_providers[0].provider", "either provider or provider_interface, not both")
      }))

    it.effect("azure_openai, qwen and plano need base_url; amazon_bedrock is not supported", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({
          model_providers: [
            { model: "azure_openai/gpt-4o" },
            { model: "plano/Arch-Router" },
            { model: "amazon_bedrock/x" }
          ]
        }))
        expectIssue(error, "model_providers[0].base_url", "Provider 'azure_openai' requires 'base_url' to be set")
        expectIssue(error, "model_providers[1].base_url", "Provider 'plano' requires 'base_url' to be set")
        expectIssue(error, "model_providers[2].model", "not supported by Switchyard")
      }))

    it.effect("base_url must be http(s)", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({ model_providers: [{ model: "openai/gpt-4o", base_url: "ftp://x" }] }))
        expectIssue(
          error,
          "model_providers[0].base_url",
          "Please provide a valid URL with scheme (http/https) in base_url"
        )
      }))

    it.effect("defaults: at most one, never a wildcard; wildcards carry no routing_preferences", () =>
      Effect.gen(function*() {
        const error = yield* failObject({
          version: "v0.3.0",
          model_providers: [
            { model: "openai/gpt-4o", default: true },
            { model: "openai/gpt-4o-mini", default: true },
            { model: "anthropic/*", default: true },
            { model: "groq/*", routing_preferences: [{ name: "x", description: "y" }] }
          ]
        })
        expectIssue(error, "model_providers[1].default", "There must be at most one default LLM Provider")
        expectIssue(error, "model_providers[2].default", "Default models cannot be wildcards.")
        expectIssue(
          error,
          "model_providers[3].routing_preferences",
          "Models with routing preferences cannot be wildcards."
        )
      }))

    it.effect("duplicate name, model and bare model id are errors", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({
          model_providers: [
            { model: "openai/gpt-4o" },
            { model: "openai/gpt-4o" },
            { model: "azure_openai/gpt-4o", base_url: "https://az.example", name: "az" },
            { model: "anthropic/claude-x", name: "az" }
          ]
        }))
        expectIssue(error, "model_providers[1].model", "Duplicate model_provider name openai/gpt-4o")
        expectIssue(error, "model_providers[1].model", "Duplicate model name openai/gpt-4o")
        expectIssue(error, "model_providers[2].model", "Duplicate model_id gpt-4o")
        expectIssue(error, "model_providers[3].name", "Duplicate model_provider name az")
      }))

    it.effect("passthrough_auth + access_key warns and drops the key; headers are kept", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          model_providers: [{
            model: "openai/gpt-4o",
            passthrough_auth: true,
            access_key: "sk-literal",
            headers: { "OpenAI-Organization": "org-1" }
          }]
        }))
        assert.isTrue(config.providers[0]!.passthroughAuth)
        assert.isUndefined(config.providers[0]!.accessKey)
        assert.deepStrictEqual(config.providers[0]!.headers, { "OpenAI-Organization": "org-1" })
        assert.isTrue(config.warnings.some((w) => w.includes("access_key will be ignored")))
        const error = yield* failObject(doc({ model_providers: [{ model: "openai/gpt-4o", headers: { "X-A": 5 } }] }))
        expectIssue(error, "model_providers[0].headers.X-A", "expected a string")
      }))

    it.effect("wildcard providers parse and satisfy route models with their prefix", () =>
      Effect.gen(function*() {
        const config = yield* fromObject({
          version: "v0.4.0",
          model_providers: [{ model: "openai/gpt-4o-mini", default: true }, { model: "openai/*" }],
          routing_preferences: [{ name: "big", description: "big jobs", models: ["openai/gpt-4.1"] }]
        })
        const wildcard = config.providers[1]!
        assert.isTrue(wildcard.wildcard)
        assert.strictEqual(wildcard.modelId, "*")
        assert.strictEqual(wildcard.provider, "openai")
        assert.deepStrictEqual(config.routingPreferences[0]!.models, ["openai/gpt-4.1"])
      }))
  })

  describe("environment substitution", () => {
    it.effect("$A and ${A} are substituted in access_key, base_url and headers", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          model_providers: [{
            model: "ollama/llama3",
            access_key: "${OLLAMA_KEY}",
            base_url: "http://$OLLAMA_HOST:11434/v1",
            headers: { "X-Team": "team-$TEAM" }
          }, { model: "openai/gpt-4o", access_key: "$OPENAI_API_KEY" }]
        }), { OLLAMA_KEY: "k-ollama", OLLAMA_HOST: "gpu-box", TEAM: "blue", OPENAI_API_KEY: "sk-open" })
        assert.strictEqual(Redacted.value(config.providers[0]!.accessKey!), "k-ollama")
        assert.strictEqual(config.providers[0]!.baseUrl, "http://gpu-box:11434/v1")
        assert.deepStrictEqual(config.providers[0]!.headers, { "X-Team": "team-blue" })
        assert.strictEqual(Redacted.value(config.providers[1]!.accessKey!), "sk-open")
      }))

    it.effect("an unset access_key variable → missingKeyVar, no error", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          model_providers: [{ model: "openai/gpt-4o", access_key: "$OPENAI_API_KEY" }, {
            model: "anthropic/claude-x",
            access_key: "${ANTHROPIC_API_KEY}"
          }]
        }), { ANTHROPIC_API_KEY: "" })
        assert.isUndefined(config.providers[0]!.accessKey)
        assert.strictEqual(config.providers[0]!.missingKeyVar, "OPENAI_API_KEY")
        assert.strictEqual(config.providers[1]!.missingKeyVar, "ANTHROPIC_API_KEY")
      }))

    it.effect("an unset variable elsewhere is an error at its path", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({
          model_providers: [{ model: "ollama/llama3", base_url: "http://${OLLAMA_HOST}:11434" }]
        }))
        expectIssue(error, "model_providers[0].base_url", "environment variable OLLAMA_HOST is not set")
      }))

    it.effect("secret values never appear in errors, warnings or describe()", () =>
      Effect.gen(function*() {
        const secret = "sk-super-secret-123"
        const error = yield* failObject(doc({
          model_providers: [{ model: "$KEY", access_key: "$KEY" }, { model: "openai/gpt-4o", access_key: 987654321 }],
          routing: { admin_key: "$KEY", router: "nope" }
        }), { KEY: secret })
        assert.notInclude(error.message, secret)
        assert.notInclude(error.message, "987654321")
        expectIssue(error, "model_providers[1].access_key", "expected a string")
        const config = yield* fromObject(doc({
          model_providers: [{ model: "openai/gpt-4o", access_key: "$KEY", passthrough_auth: true, name: "n-$KEY" }],
          routing: { admin_key: "$KEY" }
        }), { KEY: secret })
        assert.strictEqual(Redacted.value(config.routing.adminKey!), secret)
        assert.notInclude(config.warnings.join("\n"), secret)
        assert.notInclude(ConfigFile.describe(config).join("\n"), secret)
        assert.notInclude(JSON.stringify(config.routing), secret)
      }))
  })

  describe("model_aliases", () => {
    it.effect("aliases map to a provider name or bare model id; unknown targets list the available models", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          model_aliases: { "fast-llm": { target: "gpt-4o-mini" }, smart: { target: "openai/gpt-4o" } }
        }))
        assert.deepStrictEqual(Array.from(config.aliases), [["fast-llm", "gpt-4o-mini"], ["smart", "openai/gpt-4o"]])
        const error = yield* failObject(doc({ model_aliases: { smart: { target: "gpt-5" } } }))
        expectIssue(
          error,
          "model_aliases.smart.target",
          "Model alias 'smart' targets 'gpt-5' which is not defined as a model"
        )
        expectIssue(error, "model_aliases.smart.target", "Available models: gpt-4o, gpt-4o-mini, openai/gpt-4o")
      }))
  })

  describe("routing_preferences", () => {
    it.effect("top-level preferences keep config order, selection policy and examples", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          routing_preferences: [
            { name: "b_route", description: "B", models: ["openai/gpt-4o"], examples: ["write a sonnet"] },
            { name: "a_route", description: "A", models: ["gpt-4o-mini", "openai/gpt-4o"], selection_policy: {} }
          ]
        }))
        assert.deepStrictEqual(config.routingPreferences, [
          {
            name: "b_route",
            description: "B",
            models: ["openai/gpt-4o"],
            examples: ["write a sonnet"],
            prefer: "none"
          },
          { name: "a_route", description: "A", models: ["gpt-4o-mini", "openai/gpt-4o"], examples: [], prefer: "none" }
        ])
      }))

    it.effect("a route naming an undeclared model → Plano's message at models[i]", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({
          routing_preferences: [
            { name: "ok", description: "d", models: ["openai/gpt-4o"] },
            { name: "code", description: "d", models: ["openai/gpt-4o", "anthropic/claude-x"] }
          ]
        }))
        expectIssue(
          error,
          "routing_preferences[1].models[1]",
          "routing_preferences route 'code' references model 'anthropic/claude-x' which is not declared in " +
            "model_providers"
        )
      }))

    it.effect("duplicate route names and empty models lists are errors", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({
          routing_preferences: [
            { name: "x", description: "d", models: ["openai/gpt-4o"] },
            { name: "x", description: "d", models: ["openai/gpt-4o"] },
            { name: "y", description: "d", models: [] }
          ]
        }))
        expectIssue(error, "routing_preferences[1].name", "Duplicate routing preference name \"x\"")
        expectIssue(error, "routing_preferences[2].models", "non-empty list")
      }))

    it.effect("top-level preferences with a version below v0.4.0 → Plano's error", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({
          version: "v0.3.0",
          routing_preferences: [{ name: "x", description: "d", models: ["openai/gpt-4o"] }]
        }))
        expectIssue(
          error,
          "routing_preferences",
          "top-level routing_preferences requires version v0.4.0 or above. Update the version field or remove " +
            "routing_preferences."
        )
      }))

    it.effect("prefer cheapest/fastest needs a metrics source; with one it warns about declared order", () =>
      Effect.gen(function*() {
        const routes = [
          { name: "x", description: "d", models: ["openai/gpt-4o"], selection_policy: { prefer: "cheapest" } }
        ]
        const error = yield* failObject(doc({ routing_preferences: routes }))
        expectIssue(
          error,
          "routing_preferences[0].selection_policy.prefer",
          "uses prefer: cheapest but no cost metrics source is configured"
        )
        const config = yield* fromObject(doc({
          routing_preferences: routes,
          model_metrics_sources: [{ type: "cost", provider: "digitalocean" }]
        }))
        assert.strictEqual(config.routingPreferences[0]!.prefer, "cheapest")
        assert.isTrue(config.warnings.some((w) => w.includes("declared order")))
        assert.include(config.ignoredKeys, "model_metrics_sources")
      }))

    it.effect("v0.3 migration merges same-named preferences in declaration order; first description wins", () =>
      Effect.gen(function*() {
        const config = yield* fromObject({
          version: "v0.3.0",
          model_providers: [
            { model: "openai/gpt-4o-mini", default: true },
            {
              model: "openai/gpt-4o",
              routing_preferences: [{ name: "reasoning", description: "first", examples: ["why?"] }]
            },
            { model: "anthropic/claude-x", routing_preferences: [{ name: "code", description: "code" }] },
            {
              model: "groq/llama-3",
              routing_preferences: [{ name: "reasoning", description: "second", examples: ["how?"] }]
            }
          ]
        })
        assert.deepStrictEqual(config.routingPreferences, [
          {
            name: "reasoning",
            description: "first",
            models: ["openai/gpt-4o", "groq/llama-3"],
            examples: ["why?", "how?"],
            prefer: "none"
          },
          { name: "code", description: "code", models: ["anthropic/claude-x"], examples: [], prefer: "none" }
        ])
        assert.isTrue(config.warnings.some((w) => w.includes("conflicting descriptions")))
        assert.isTrue(config.warnings.some((w) => w.includes("deprecated")))
      }))

    it.effect("v0.3 migration: a top-level entry with the same name wins", () =>
      Effect.gen(function*() {
        const config = yield* fromObject({
          version: "v0.3.0",
          model_providers: [
            { model: "openai/gpt-4o", routing_preferences: [{ name: "code", description: "inline" }] },
            { model: "anthropic/claude-x", routing_preferences: [{ name: "chat", description: "chat" }] }
          ],
          routing_preferences: [{ name: "code", description: "top", models: ["anthropic/claude-x"] }]
        })
        assert.deepStrictEqual(config.routingPreferences.map((r) => [r.name, r.description, r.models]), [
          ["code", "top", ["anthropic/claude-x"]],
          ["chat", "chat", ["anthropic/claude-x"]]
        ])
        assert.isTrue(config.warnings.some((w) => w.includes("top-level entry wins")))
      }))

    it.effect("v0.4+ configs ignore stray inline preferences with a warning", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          model_providers: [{ model: "openai/gpt-4o", routing_preferences: [{ name: "code", description: "d" }] }]
        }))
        assert.deepStrictEqual(config.routingPreferences, [])
        assert.isTrue(config.warnings.some((w) => w.startsWith("model_providers[0].routing_preferences is ignored")))
      }))
  })

  describe("routing block", () => {
    it.effect("session settings, session_cache.tenant_header and admin_key are read", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          routing: {
            session_ttl_seconds: 120,
            session_max_entries: 1_000_000,
            session_sweep_interval_seconds: 5,
            session_cache: { type: "redis", url: "redis://r:6379", tenant_header: "X-Tenant-Id" },
            admin_key: "${ADMIN_KEY}"
          }
        }), { ADMIN_KEY: "adm-1" })
        assert.strictEqual(config.routing.sessionTtlSeconds, 120)
        assert.strictEqual(config.routing.sessionMaxEntries, 1_000_000)
        assert.strictEqual(config.routing.sessionSweepIntervalSeconds, 5)
        assert.strictEqual(config.routing.sessionScopeHeader, "X-Tenant-Id")
        assert.strictEqual(Redacted.value(config.routing.adminKey!), "adm-1")
        assert.deepStrictEqual(config.routing.sessionStore, { type: "redis", url: "redis://r:6379" })
        assert.notInclude(config.ignoredKeys, "routing.session_cache.url")
      }))

    it.effect("bad routing values: header names, conflicting scope headers, unset admin key", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({
          routing: {
            session_scope_header: "X-A",
            session_cache: { tenant_header: "X-B" },
            admin_key: "$ADMIN_KEY",
            session_ttl_seconds: 1.5
          }
        }))
        expectIssue(error, "routing.session_cache.tenant_header", "conflicts with routing.session_scope_header")
        expectIssue(error, "routing.admin_key", "environment variable ADMIN_KEY is not set")
        expectIssue(error, "routing.session_ttl_seconds", "expected a whole number >= 1")
        const header = yield* failObject(doc({ routing: { session_scope_header: "bad header" } }))
        expectIssue(header, "routing.session_scope_header", "expected an HTTP header name")
      }))

    it.effect("router: embedded string or mapping with threshold; llm router with defaults", () =>
      Effect.gen(function*() {
        const routerOf = (router: unknown) =>
          fromObject(doc({ routing: { router } })).pipe(Effect.map((c) => c.routing.router))
        assert.deepStrictEqual(yield* routerOf("embedded"), { type: "embedded", threshold: undefined })
        assert.deepStrictEqual(
          yield* routerOf({ type: "embedded", threshold: 0.35 }),
          { type: "embedded", threshold: 0.35 }
        )
        assert.deepStrictEqual(yield* routerOf({ type: "llm", model: "gpt-4o-mini" }), {
          type: "llm",
          model: "openai/gpt-4o-mini",
          timeoutMs: 3000,
          maxTokens: 2048
        })
        const tuned = yield* routerOf({ type: "llm", model: "openai/gpt-4o", timeout_ms: 500, max_tokens: 512 })
        assert.deepStrictEqual(tuned, {
          type: "llm",
          model: "openai/gpt-4o",
          timeoutMs: 500,
          maxTokens: 512
        })
        const error = yield* failObject(doc({ routing: { router: { type: "embedded", threshold: 2 } } }))
        expectIssue(error, "routing.router.threshold", "expected a number from 0 to 1")
        const kind = yield* failObject(doc({ routing: { router: { type: "magic" } } }))
        expectIssue(kind, "routing.router.type", "expected embedded or llm")
      }))
  })

  describe("overrides.llm_routing_model", () => {
    const arch = { model: "plano/Arch-Router", base_url: "http://localhost:11434/v1" }

    it.effect("resolves by model id after stripping the prefix; a router-only provider is internal", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          model_providers: [{ model: "openai/gpt-4o-mini", default: true }, { model: "openai/gpt-4o" }, arch],
          routing_preferences: [{ name: "r", description: "d", models: ["openai/gpt-4o"] }],
          overrides: { llm_routing_model: "katanemo/Arch-Router" }
        }))
        assert.deepStrictEqual(config.routing.router, {
          type: "llm",
          model: "plano/Arch-Router",
          timeoutMs: 3000,
          maxTokens: 2048
        })
        assert.deepStrictEqual(config.providers.map((p) => p.internal), [false, false, true])
        assert.strictEqual(config.providers[2]!.interface, "plano")
      }))

    it.effect("a router model also used by a route stays visible", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          routing_preferences: [{ name: "r", description: "d", models: ["openai/gpt-4o"] }],
          overrides: { llm_routing_model: "gpt-4o" }
        }))
        assert.strictEqual(config.routing.router.type === "llm" && config.routing.router.model, "openai/gpt-4o")
        assert.isFalse(config.providers.some((p) => p.internal))
      }))

    it.effect("an undeclared router model is an error with the fix", () =>
      Effect.gen(function*() {
        const error = yield* failObject(doc({ overrides: { llm_routing_model: "Arch-Router" } }))
        expectIssue(
          error,
          "overrides.llm_routing_model",
          "declare a provider for it, e.g. `- model: plano/Arch-Router`"
        )
      }))

    it.effect("an explicit routing.router wins with a warning", () =>
      Effect.gen(function*() {
        const config = yield* fromObject(doc({
          model_providers: [{ model: "openai/gpt-4o", default: true }, arch],
          routing: { router: "embedded" },
          overrides: { llm_routing_model: "Arch-Router", optimize_context_window: true }
        }))
        assert.strictEqual(config.routing.router.type, "embedded")
        assert.isTrue(config.warnings.some((w) => w.includes("overrides.llm_routing_model is ignored")))
        assert.include(config.ignoredKeys, "overrides.optimize_context_window")
        assert.isFalse(config.providers.some((p) => p.internal))
      }))
  })

  describe("describe", () => {
    it.effect("lists listener, providers, routes, router and ignored keys", () =>
      Effect.gen(function*() {
        const config = yield* fromText(demoYaml, { OPENAI_API_KEY: "sk-visible-nowhere" })
        const lines = ConfigFile.describe(config)
        assert.include(lines[0]!, "127.0.0.1:12000")
        assert.isTrue(lines.some((l) => l.startsWith("provider openai/gpt-4o-mini") && l.includes("[default]")))
        assert.isTrue(lines.some((l) => l.includes("$ANTHROPIC_API_KEY is not set")))
        assert.isTrue(lines.some((l) => l === "route code_generation → anthropic/claude-sonnet-4-20250514"))
        assert.isTrue(lines.some((l) => l === "router: embedded"))
        assert.isFalse(lines.some((l) => l.startsWith("ignored")))
        assert.notInclude(lines.join("\n"), "sk-visible-nowhere")
      }))
  })
})
