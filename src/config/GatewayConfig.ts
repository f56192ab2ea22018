import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"

/** How Switchyard talks to a provider's API. */
export type ProviderInterface = "openai" | "anthropic" | "azure_openai" | "gemini" | "groq" | "plano"

/** One entry of `model_providers`, resolved: names split, defaults filled, `$VAR`s substituted. */
export interface ProviderConfig {
  /** Lookup key: the explicit `name`, else the full `model` string (e.g. `openai/gpt-4o`). */
  readonly name: string
  /** The full `model` string as written (e.g. `openai/gpt-4o`, `openai/*`). */
  readonly model: string
  /** Text before the first `/` (e.g. `openai`, `anthropic`, `together_ai`, or any custom prefix). */
  readonly provider: string
  /** Everything after the first `/` (e.g. `gpt-4o`, `hf.co/katanemo/Arch-Router-1.5B.gguf:Q4_K_M`); `*` for wildcards. */
  readonly modelId: string
  readonly wildcard: boolean
  /** The wire API of the upstream. */
  readonly interface: ProviderInterface
  /** `base_url` when given (no trailing slash), else undefined (the provider default applies). */
  readonly baseUrl: string | undefined
  /** The resolved access key; undefined when not configured or its variable is unset. */
  readonly accessKey: Redacted.Redacted<string> | undefined
  /** When `access_key` names an environment variable that is unset: its name (the request fails clearly at call time). */
  readonly missingKeyVar: string | undefined
  readonly isDefault: boolean
  readonly passthroughAuth: boolean
  readonly headers: Readonly<Record<string, string>>
  /** Hidden from `/v1/models` (e.g. a router model added only to serve routing). */
  readonly internal: boolean
}

export type SelectionPreference = "none" | "cheapest" | "fastest"

/** A routing preference (v0.4 top-level shape; v0.3 per-provider ones are migrated into it). */
export interface RoutePreference {
  readonly name: string
  readonly description: string
  /** Ranked candidate models (provider names or `provider/id` strings). */
  readonly models: ReadonlyArray<string>
  /** Switchyard extension: sample utterances that help the embedded router. */
  readonly examples: ReadonlyArray<string>
  readonly prefer: SelectionPreference
}

export type RouterSettings =
  | { readonly type: "embedded"; readonly threshold: number | undefined }
  | {
    readonly type: "llm"
    /** The provider `name` (or `provider/id`) that serves routing calls. */
    readonly model: string
    readonly timeoutMs: number
    /** Token budget of the Arch-Router prompt (Plano 5789694d: 2048). */
    readonly maxTokens: number
  }

export interface RoutingSettings {
  readonly sessionTtlSeconds: number
  readonly sessionMaxEntries: number
  readonly sessionSweepIntervalSeconds: number
  /** A request header whose value scopes session keys (e.g. a tenant id). */
  readonly sessionScopeHeader: string | undefined
  /** A shared session store (`routing.session_cache.type: redis`); undefined = the in-memory store. */
  readonly sessionStore?: {
    readonly type: "redis"
    readonly url: string
    /** `routing.session_cache.command_timeout_ms`: the longest a request waits on Redis (default 250). */
    readonly commandTimeoutMs?: number | undefined
    /** `session_cache.key_prefix`: keeps several deployments apart on one Redis (default Plano's prefix). */
    readonly keyPrefix?: string | undefined
  } | undefined
  /** Bearer key guarding the pins API; undefined = open. */
  readonly adminKey: Redacted.Redacted<string> | undefined
  readonly router: RouterSettings
  /** Replay a turn's model for requests that continue it without a session id (default true). */
  readonly turnAffinity?: boolean | undefined
  /** Idle TTL of turn pins (default 300 s). */
  readonly turnTtlSeconds?: number | undefined
  /** `routing.fallback_to_default`; only present when set (default true). */
  readonly fallbackToDefault?: boolean | undefined
  /** `routing.cooldown`; only present when set. */
  readonly cooldown?: Partial<CooldownSettings> | undefined
  /** `routing.pin_failover`; only present when set (default migrate after 2 failures). */
  readonly pinFailover?: Partial<PinFailoverSettings> | undefined
}

/** When a target is taken out of rotation: `failures` within `windowSeconds` cool it for `cooldownSeconds`. */
export interface CooldownSettings {
  readonly failures: number
  readonly windowSeconds: number
  readonly cooldownSeconds: number
}

/** What a pinned session does when its model fails (`routing.pin_failover`). */
export type PinFailoverPolicy = "migrate" | "hold" | "fail"

export interface PinFailoverSettings {
  readonly policy: PinFailoverPolicy
  /** `migrate`: consecutive failed pinned requests that move the pin. */
  readonly afterFailures: number
}

export interface ListenerConfig {
  readonly address: string
  readonly port: number
  /** Whole-request timeout towards the upstream (listener `timeout`, default 300 s). */
  readonly timeoutMs: number
  /** Request body limit (Switchyard extension `max_body_bytes`, default 10 MiB). */
  readonly maxBodyBytes: number
  /** Plano's `max_retries`: retries per target before the next one; only present when set (default 1). */
  readonly maxRetries?: number | undefined
}

/** `state_storage`: where `/v1/responses` conversation state lives for providers that do not keep it. */
export type StateStorageSettings =
  | { readonly type: "memory" }
  | { readonly type: "postgres"; readonly connectionString: Redacted.Redacted<string> }

/** One client key of `auth.keys`: only the SHA-256 of the key is kept. */
export interface ClientKeyConfig {
  readonly name: string
  /** SHA-256 digest of the key (32 bytes). */
  readonly sha256: Uint8Array
  /** Models this key may name (provider names or `provider/id`); undefined = any. */
  readonly models: ReadonlyArray<string> | undefined
  /** Routes this key may be routed to; undefined = any. */
  readonly routes: ReadonlyArray<string> | undefined
  /** Epoch milliseconds after which the key is refused; undefined = never. */
  readonly expiresAt: number | undefined
}

/** The `auth` block: `none` (explicitly open) or client keys. */
export type AuthSettings =
  | { readonly type: "none"; readonly failOpen: boolean }
  | {
    readonly type: "keys"
    readonly keys: ReadonlyArray<ClientKeyConfig>
    /** With a Redis store: true = limits are skipped while Redis is down; false = 503 and `/readyz` unready. */
    readonly failOpen: boolean
  }

export type RateLimitUnit = "second" | "minute" | "hour" | "day"

/** One entry of Plano's `ratelimits`, resolved. */
export interface RateLimitRule {
  /** The model the limit applies to as written (a provider name, `provider/id`, or `*` for every model). */
  readonly model: string
  /**
   * Header (lower case) whose value selects the bucket, or `client_key` for the authenticated key's name; undefined =
   * one bucket for everyone.
   */
  readonly selectorKey: string | undefined
  /** The selector value the limit applies to; `*` = one bucket per distinct value. */
  readonly selectorValue: string
  readonly kind: "tokens" | "requests"
  readonly limit: number
  readonly unit: RateLimitUnit
}

/** Plano's `tracing` block, resolved. Traces are exported only when an endpoint is known (here or `OTEL_*`). */
export interface TracingSettings {
  /** Percentage (0–100) of requests without a sampled parent that start a trace (`random_sampling`). */
  readonly randomSampling: number | undefined
  /** OTLP/HTTP traces URL from the file (`otlp_endpoint`, or mapped from `opentracing_grpc_endpoint`). */
  readonly endpoint: string | undefined
}

/** The `observability` block (Switchyard extension) and `tracing`. */
export interface ObservabilitySettings {
  /** One JSON line per request on stdout; undefined = the program's default (on for `switchyard up`). */
  readonly accessLog: boolean | undefined
  /** Prometheus metrics; `port` serves `/metrics` on its own listener as well. */
  readonly metrics: { readonly enabled: boolean; readonly port: number | undefined; readonly address: string | undefined }
  readonly tracing: TracingSettings
}

/** The gateway's configuration after loading, migration and validation. */
export interface ResolvedConfig {
  readonly version: string
  readonly listener: ListenerConfig
  readonly providers: ReadonlyArray<ProviderConfig>
  /** `model_aliases`: alias → target (a provider name or bare model id). */
  readonly aliases: ReadonlyMap<string, string>
  /** Effective routing preferences in config order. */
  readonly routingPreferences: ReadonlyArray<RoutePreference>
  readonly routing: RoutingSettings
  /** `state_storage`; undefined = none configured. */
  readonly stateStorage?: StateStorageSettings | undefined
  /** Plano keys present in the file that Switchyard does not implement (dotted paths). */
  readonly ignoredKeys: ReadonlyArray<string>
  /** Non-fatal findings (deprecations, merges, ignored inline preferences, …). */
  readonly warnings: ReadonlyArray<string>
  /** The `auth` block; absent = no block (loopback only, open). */
  readonly auth?: AuthSettings | undefined
  /** Plano's `ratelimits`; absent = none. */
  readonly rateLimits?: ReadonlyArray<RateLimitRule> | undefined
  /** Metrics, access log and tracing; undefined = defaults (metrics on, no tracing). */
  readonly observability?: ObservabilitySettings | undefined
}

/** The loaded configuration. Swap it with `layer(resolved)` in tests or embedding apps. */
export class GatewayConfig extends Context.Tag("switchyard/GatewayConfig")<GatewayConfig, ResolvedConfig>() {}

export const layer = (config: ResolvedConfig): Layer.Layer<GatewayConfig> => Layer.succeed(GatewayConfig, config)
