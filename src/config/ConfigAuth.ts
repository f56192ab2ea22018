import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import type { AuthSettings, ClientKeyConfig, RateLimitRule } from "./GatewayConfig.js"
import { type Collector, decodeAt } from "./ConfigIssue.js"
import { hasOwn, headerNamePattern, isRecord, NonEmptyString, show } from "./ConfigSchema.js"

const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

const Names = Schema.Array(NonEmptyString).annotations({ message: () => "expected a list of names" })

const PositiveInt = Schema.Number.pipe(
  Schema.filter((n) => Number.isInteger(n) && n >= 1, {
    message: (issue) => `expected a whole number >= 1, got ${show(issue.actual)}`
  })
)

const Sha256Hex = Schema.String.pipe(
  Schema.filter((s) => /^[0-9a-fA-F]{64}$/.test(s), {
    message: () => "expected 64 hex digits (the SHA-256 of the key, e.g. `printf %s \"$KEY\" | sha256sum`)"
  })
)

/** One entry of `auth.keys`. */
export const ClientKeyInput = Schema.Struct({
  name: NonEmptyString,
  key: opt(Schema.String),
  key_sha256: opt(Sha256Hex),
  models: opt(Names),
  routes: opt(Names),
  expires_at: opt(Schema.Union(Schema.String, Schema.Number))
})

/** The mapping form of `auth` (the string form is `auth: none`). */
export const AuthInput = Schema.Struct({
  keys: opt(Schema.Array(Schema.Unknown)),
  keys_file: opt(NonEmptyString),
  fail_open: opt(Schema.Boolean)
})

/** What `auth.keys_file` held: its parsed YAML, or why it could not be read. */
export type KeysFile = { readonly entries: unknown } | { readonly error: string }

/** One entry of Plano's `ratelimits` (Switchyard adds `limit.requests` and an optional selector). */
export const RateLimitInput = Schema.Struct({
  model: NonEmptyString,
  selector: opt(Schema.Struct({ key: NonEmptyString, value: opt(NonEmptyString) })),
  limit: Schema.Struct({
    tokens: opt(PositiveInt),
    requests: opt(PositiveInt),
    unit: Schema.Literal("second", "minute", "hour", "day")
  })
})

/** SHA-256 of a client key: what the gateway keeps and compares. */
export const sha256 = (key: string): Uint8Array => createHash("sha256").update(key, "utf8").digest()

/** The `auth` block; undefined when absent (the gateway stays on loopback and is open). */
export const resolveAuth = (
  tree: Record<string, unknown>,
  collector: Collector,
  keysFile?: KeysFile | undefined
): AuthSettings | undefined => {
  if (!hasOwn(tree, "auth")) return undefined
  const raw = tree["auth"]
  if (raw === "none") return { type: "none", failOpen: true }
  if (!isRecord(raw)) {
    collector.add(["auth"], `expected \`none\` or a mapping with keys: [...], got ${show(raw)}`)
    return undefined
  }
  const decoded = decodeAt(AuthInput, raw, ["auth"], collector)
  if (decoded === undefined) return undefined
  const fromFile: ReadonlyArray<unknown> = keysFile === undefined || "error" in keysFile
    ? []
    : Array.isArray(keysFile.entries)
    ? keysFile.entries
    : []
  if (decoded.keys_file !== undefined) {
    if (keysFile !== undefined && "error" in keysFile) {
      collector.add(["auth", "keys_file"], `cannot read ${decoded.keys_file}: ${keysFile.error}`)
    } else if (keysFile === undefined || !Array.isArray(keysFile.entries)) {
      collector.add(["auth", "keys_file"], "expected a YAML list of {name, key_sha256, models?, routes?, expires_at?}")
    }
  }
  if ((decoded.keys?.length ?? 0) + fromFile.length === 0 && !collector.issues.some((i) => i.path.startsWith("auth"))) {
    collector.add(
      ["auth", "keys"],
      "is empty; add a key (or keys_file), or write `auth: none` to run without client keys"
    )
  }
  const keys: Array<ClientKeyConfig> = []
  const names = new Set<string>()
  const items = [
    ...(decoded.keys ?? []).map((item, i) => ({ item, at: ["auth", "keys", i] as const, hashedOnly: false })),
    ...fromFile.map((item, i) => ({ item, at: ["auth", "keys_file", i] as const, hashedOnly: true }))
  ]
  items.forEach(({ at, hashedOnly, item }) => {
    const entry = decodeAt(ClientKeyInput, item, at, collector)
    if (entry === undefined) return
    if (names.has(entry.name)) collector.add([...at, "name"], `duplicate key name "${entry.name}"`)
    names.add(entry.name)
    if (hashedOnly && entry.key !== undefined) {
      collector.add([...at, "key"], "a keys file holds only key_sha256 (hashes), never keys")
      return
    }
    if ((entry.key === undefined) === (entry.key_sha256 === undefined)) {
      collector.add(at, "needs exactly one of `key` (e.g. `key: $TEAM_KEY`) or `key_sha256`")
      return
    }
    if (entry.key !== undefined && entry.key.length < 16) {
      collector.add([...at, "key"], "is shorter than 16 characters; use a long random key")
      return
    }
    let expiresAt: number | undefined
    if (entry.expires_at !== undefined) {
      expiresAt = typeof entry.expires_at === "number" ? entry.expires_at * 1000 : Date.parse(entry.expires_at)
      if (!Number.isFinite(expiresAt)) {
        collector.add(
          [...at, "expires_at"],
          `expected an ISO date like 2027-01-31T00:00:00Z, got ${show(entry.expires_at)}`
        )
        return
      }
    }
    keys.push({
      name: entry.name,
      sha256: entry.key !== undefined ? sha256(entry.key) : Buffer.from(entry.key_sha256!, "hex"),
      models: entry.models,
      routes: entry.routes,
      expiresAt
    })
  })
  return { type: "keys", keys, failOpen: decoded.fail_open ?? true }
}

/** Plano's `ratelimits`; undefined when absent. */
export const resolveRateLimits = (
  tree: Record<string, unknown>,
  isDeclaredModel: (model: string) => boolean,
  complete: boolean,
  collector: Collector
): ReadonlyArray<RateLimitRule> | undefined => {
  if (!hasOwn(tree, "ratelimits")) return undefined
  const raw = tree["ratelimits"]
  if (!Array.isArray(raw)) {
    collector.add(["ratelimits"], `expected a list of {model, selector, limit}, got ${show(raw)}`)
    return undefined
  }
  const rules: Array<RateLimitRule> = []
  raw.forEach((item, i) => {
    const at = ["ratelimits", i] as const
    const entry = decodeAt(RateLimitInput, item, at, collector)
    if (entry === undefined) return
    if (entry.model !== "*" && complete && !isDeclaredModel(entry.model)) {
      collector.add([...at, "model"], `model '${entry.model}' is not declared in model_providers (or use "*")`)
      return
    }
    const { requests, tokens, unit } = entry.limit
    if ((requests === undefined) === (tokens === undefined)) {
      collector.add([...at, "limit"], "needs exactly one of `tokens: N` or `requests: N`")
      return
    }
    const selectorKey = entry.selector?.key.toLowerCase()
    if (selectorKey !== undefined && selectorKey !== "client_key" && !headerNamePattern.test(selectorKey)) {
      collector.add([...at, "selector", "key"], `expected a header name or client_key, got ${show(selectorKey)}`)
      return
    }
    if (selectorKey === "authorization" || selectorKey === "x-api-key") {
      collector.add([...at, "selector", "key"], "would keep client keys in the limiter; use `key: client_key`")
      return
    }
    rules.push({
      model: entry.model,
      selectorKey,
      selectorValue: entry.selector?.value ?? "*",
      kind: tokens !== undefined ? "tokens" : "requests",
      limit: tokens ?? requests!,
      unit
    })
  })
  return rules
}
