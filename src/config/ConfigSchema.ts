import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { type Path } from "./ConfigIssue.js"

/** Values used when the file leaves a setting out. */
export const defaults = {
  address: "127.0.0.1",
  port: 12000,
  timeoutMs: 300_000,
  maxBodyBytes: 10 * 1024 * 1024,
  sessionTtlSeconds: 600,
  sessionMaxEntries: 10_000,
  sessionSweepIntervalSeconds: 60,
  routerTimeoutMs: 3000,
  routerMaxTokens: 2048,
  turnTtlSeconds: 300
} as const

/** True for a YAML mapping (not a list, not null). */
export { isRecord } from "../JsonValue.js"

/** A short rendering of a value for an error message. */
export const show = (u: unknown): string => {
  const text = u === undefined ? "nothing" : (JSON.stringify(u) ?? String(u))
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/** True when the object itself (not its prototype) has the key. */
export const hasOwn = (record: object, key: string): boolean => Object.prototype.hasOwnProperty.call(record, key)

const durationMs = (u: unknown): number | undefined => {
  if (typeof u === "number") return Number.isFinite(u) && u > 0 ? Math.round(u * 1000) : undefined
  if (typeof u !== "string") return undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(u)
  if (match === null) return undefined
  const unit = match[2] ?? "s"
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000
  const ms = Math.round(Number(match[1]) * factor)
  return ms > 0 ? ms : undefined
}

/** The characters allowed in an HTTP header name (RFC 9110 token). */
export const headerNamePattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

const LenientNumber = Schema.transformOrFail(Schema.Unknown, Schema.Number, {
  strict: true,
  decode: (u, _, ast) => {
    const n = typeof u === "number" ? u : typeof u === "string" && u.trim() !== "" ? Number(u) : Number.NaN
    return Number.isFinite(n)
      ? ParseResult.succeed(n)
      : ParseResult.fail(new ParseResult.Type(ast, u, `expected a number, got ${show(u)}`))
  },
  encode: ParseResult.succeed
})

const intIn = (min: number, max?: number) =>
  LenientNumber.pipe(
    Schema.filter((n) => Number.isInteger(n) && n >= min && (max === undefined || n <= max), {
      message: (issue) => {
        const range = max === undefined ? `>= ${min}` : `from ${min} to ${max}`
        return `expected a whole number ${range}, got ${show(issue.actual)}`
      }
    })
  )

const numberIn = (min: number, max: number) =>
  LenientNumber.pipe(
    Schema.filter((n) => n >= min && n <= max, {
      message: (issue) => `expected a number from ${min} to ${max}, got ${show(issue.actual)}`
    })
  )

const DurationMs = Schema.transformOrFail(Schema.Unknown, Schema.Number, {
  strict: true,
  decode: (u, _, ast) => {
    const ms = durationMs(u)
    return ms === undefined
      ? ParseResult.fail(
        new ParseResult.Type(
          ast,
          u,
          `expected a duration like "30s", "5m", "300ms" or a number of seconds, got ${show(u)}`
        )
      )
      : ParseResult.succeed(ms)
  },
  encode: ParseResult.succeed
})

const oneOf = <const A extends string>(values: ReadonlyArray<A>) =>
  Schema.String.pipe(
    Schema.filter((s): s is A => (values as ReadonlyArray<string>).includes(s), {
      message: (issue) => `expected one of ${values.join(", ")}, got ${show(issue.actual)}`
    })
  )

/** A string with something other than whitespace in it. */
export const NonEmptyString = Schema.String.pipe(
  Schema.filter((s) => s.trim() !== "", { message: () => "must not be empty" })
)

const HeaderName = Schema.String.pipe(
  Schema.filter((s) => headerNamePattern.test(s), {
    message: (issue) => `expected an HTTP header name (letters, digits, "-"), got ${show(issue.actual)}`
  })
)

const StringList = Schema.Array(Schema.String).annotations({ message: () => "expected a list of strings" })

const StringMap = Schema.Record({ key: Schema.String, value: Schema.String }).annotations({
  message: () => "expected a mapping of string to string"
})

const mapping = <F extends Schema.Struct.Fields>(fields: F) =>
  Schema.Struct(fields).annotations({
    message: (issue) => `expected a mapping (key: value), got ${show(issue.actual)}`
  })

/** One entry of the `listeners` list. */
export const ListenerInput = mapping({
  type: oneOf(["model", "prompt", "agent"]),
  name: opt(Schema.String),
  address: opt(NonEmptyString),
  port: opt(intIn(0, 65535)),
  timeout: opt(DurationMs),
  max_body_bytes: opt(intIn(1)),
  router: opt(Schema.Unknown),
  max_retries: opt(intIn(0, 10)),
  agents: opt(Schema.Unknown),
  input_filters: opt(Schema.Unknown),
  output_filters: opt(Schema.Unknown)
})

/** The deprecated mapping form of `listeners` (ingress_traffic/egress_traffic). */
export const LegacyListenersInput = mapping({
  ingress_traffic: opt(Schema.Unknown),
  egress_traffic: opt(mapping({
    address: opt(NonEmptyString),
    port: opt(intIn(0, 65535)),
    timeout: opt(DurationMs),
    max_body_bytes: opt(intIn(1)),
    message_format: opt(Schema.Unknown)
  }))
})

/** A routing preference declared inline under a provider (before v0.4.0). */
export const InlinePreferenceInput = mapping({
  name: NonEmptyString,
  description: Schema.String,
  examples: opt(StringList)
})

/** One entry of `model_providers` (or the deprecated `llm_providers`). */
export const ProviderInput = mapping({
  model: Schema.String,
  name: opt(NonEmptyString),
  access_key: opt(Schema.String),
  default: opt(Schema.Boolean),
  base_url: opt(Schema.String),
  passthrough_auth: opt(Schema.Boolean),
  http_host: opt(Schema.Unknown),
  provider_interface: opt(Schema.String),
  provider: opt(Schema.String),
  routing_preferences: opt(Schema.Array(InlinePreferenceInput)),
  headers: opt(StringMap)
})
export type ProviderInput = typeof ProviderInput.Type

/** The `model_aliases` mapping. */
export const AliasesInput = Schema.Record({ key: Schema.String, value: mapping({ target: NonEmptyString }) })
  .annotations({ message: () => "expected a mapping of alias: {target: <model>}" })

/** One entry of the top-level `routing_preferences` list. */
export const RoutePreferenceInput = mapping({
  name: NonEmptyString,
  description: Schema.String,
  models: Schema.Array(NonEmptyString).pipe(
    Schema.minItems(1, { message: () => "expected a non-empty list of model names" })
  ),
  selection_policy: opt(mapping({ prefer: opt(oneOf(["cheapest", "fastest", "none", ""])) })),
  examples: opt(StringList)
})

/** The `routing` block. */
export const RoutingInput = mapping({
  session_ttl_seconds: opt(intIn(1)),
  session_max_entries: opt(intIn(1, 10_000_000)),
  session_sweep_interval_seconds: opt(intIn(1)),
  session_scope_header: opt(HeaderName),
  session_cache: opt(mapping({
    type: opt(oneOf(["memory", "redis"])),
    url: opt(Schema.Unknown),
    tenant_header: opt(HeaderName),
    command_timeout_ms: opt(intIn(1)),
    key_prefix: opt(NonEmptyString)
  })),
  admin_key: opt(Schema.String),
  router: opt(Schema.Unknown),
  fallback_to_default: opt(Schema.Boolean),
  cooldown: opt(mapping({
    failures: opt(intIn(1)),
    window_seconds: opt(intIn(1)),
    cooldown_seconds: opt(intIn(1))
  })),
  pin_failover: opt(Schema.Unknown),
  llm_provider: opt(Schema.Unknown),
  model: opt(Schema.Unknown),
  route_on_user_only: opt(Schema.Unknown),
  routing_budget: opt(Schema.Unknown),
  turn_affinity: opt(Schema.Boolean),
  turn_ttl_seconds: opt(intIn(1))
})
export type RoutingInput = typeof RoutingInput.Type

/** `routing.pin_failover` in its mapping form (the plain form is just the policy). */
export const PinFailoverInput = mapping({
  policy: opt(oneOf(["migrate", "hold", "fail"])),
  after_failures: opt(intIn(1, 100))
})

/** `routing.router` in its `type: embedded` form. */
export const EmbeddedRouterInput = mapping({ type: Schema.Literal("embedded"), threshold: opt(numberIn(0, 1)) })

/** `routing.router` in its `type: llm` form. */
export const LlmRouterInput = mapping({
  type: Schema.Literal("llm"),
  model: NonEmptyString,
  timeout_ms: opt(intIn(1)),
  max_tokens: opt(intIn(1))
})

/** The `observability` block (Switchyard extension): access log and metrics. */
export const ObservabilityInput = mapping({
  access_log: opt(Schema.Boolean),
  metrics: opt(mapping({
    enabled: opt(Schema.Boolean),
    port: opt(intIn(0, 65535)),
    address: opt(NonEmptyString)
  }))
})

/** Plano's `tracing` block; `otlp_endpoint` is a Switchyard extension (an OTLP/HTTP traces URL). */
export const TracingInput = mapping({
  random_sampling: opt(numberIn(0, 100)),
  opentracing_grpc_endpoint: opt(NonEmptyString),
  otlp_endpoint: opt(NonEmptyString),
  trace_arch_internal: opt(Schema.Unknown),
  span_attributes: opt(Schema.Unknown)
})
