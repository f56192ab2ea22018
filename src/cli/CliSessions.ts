import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Parsed } from "./CliArgs.js"
import { defaultUrl, envString, integerFlag, tooMany } from "./CliArgs.js"
import { CommandFailed, UsageError } from "./CliError.js"
import { out, table } from "./CliOutput.js"

const PinJson = Schema.Struct({
  session_id: Schema.String,
  scope: Schema.optional(Schema.String),
  model: Schema.String,
  route: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  last_used_at: Schema.String,
  expires_at: Schema.String,
  hits: Schema.Number
})
type PinJson = typeof PinJson.Type

const PinListJson = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(PinJson),
  next_cursor: Schema.NullOr(Schema.String),
  total: Schema.Number
})

interface PinsApi {
  readonly url: string
  readonly adminKey: string | undefined
}

const gatewayOf = (parsed: Parsed) =>
  Effect.gen(function*() {
    const raw = (parsed.flags.get("url") ?? defaultUrl).replace(/\/+$/, "")
    if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) {
      return yield* new UsageError({ message: `--url expects an http(s) URL, got "${raw}"`, command: "sessions" })
    }
    const adminKey = parsed.flags.get("admin-key") ?? (yield* envString("SWITCHYARD_ADMIN_KEY"))
    return { url: raw, adminKey } satisfies PinsApi
  })

const causeText = (cause: unknown): string => {
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause
  if (inner instanceof Error) {
    const code = "code" in inner && typeof inner.code === "string" ? inner.code : undefined
    return code ?? inner.message
  }
  return String(cause)
}

const call = (gateway: PinsApi, method: "GET" | "DELETE", path: string) =>
  Effect.tryPromise({
    try: async (signal) => {
      const headers: Record<string, string> = { accept: "application/json" }
      if (gateway.adminKey !== undefined) headers["authorization"] = `Bearer ${gateway.adminKey}`
      const response = await fetch(`${gateway.url}${path}`, {
        method,
        headers,
        signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)])
      })
      return { status: response.status, body: await response.text() }
    },
    catch: (cause) => new CommandFailed({ message: `cannot reach the gateway at ${gateway.url}: ${causeText(cause)}` })
  }).pipe(
    Effect.filterOrFail(
      (r) => r.status !== 401 && r.status !== 403,
      () =>
        new CommandFailed({
          message: `the gateway refused the pins API call (unauthorized): pass --admin-key or set SWITCHYARD_ADMIN_KEY`
        })
    )
  )

const decodeJson = <A, I>(schema: Schema.Schema<A, I>, body: string, url: string) =>
  Schema.decodeUnknown(Schema.parseJson(schema))(body).pipe(
    Effect.mapError(() => new CommandFailed({ message: `unexpected answer from ${url} (is it a Switchyard gateway?)` }))
  )

const unexpected = (status: number, body: string, url: string) =>
  new CommandFailed({ message: `the gateway at ${url} answered HTTP ${status}: ${body.slice(0, 200)}` })

const relative = (iso: string, now: number): string => {
  const ms = Date.parse(iso) - now
  if (Number.isNaN(ms)) return iso
  const abs = Math.abs(ms)
  const amount = abs < 1000
    ? "now"
    : abs < 120_000
    ? `${Math.round(abs / 1000)} s`
    : abs < 7_200_000
    ? `${Math.round(abs / 60_000)} min`
    : `${Math.round(abs / 3_600_000)} h`
  return amount === "now" ? "now" : ms < 0 ? `${amount} ago` : `in ${amount}`
}

const sessionPath = (parsed: Parsed, id: string) => {
  const scope = parsed.flags.get("scope")
  return `/v1/routing/sessions/${encodeURIComponent(id)}${
    scope === undefined ? "" : `?scope=${encodeURIComponent(scope)}`
  }`
}

const sessionsList = (parsed: Parsed, gateway: PinsApi) =>
  Effect.gen(function*() {
    yield* tooMany(parsed, 1, "sessions")
    const limit = (yield* integerFlag(parsed, "limit", 1, 10_000, "sessions")) ?? 100
    const cursor = parsed.flags.get("cursor")
    const query = `?limit=${limit}${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
    const response = yield* call(gateway, "GET", `/v1/routing/sessions${query}`)
    if (response.status !== 200) return yield* unexpected(response.status, response.body, gateway.url)
    const page = yield* decodeJson(PinListJson, response.body, gateway.url)
    if (page.data.length === 0) {
      return yield* out(page.total === 0 ? "no pinned sessions" : `no pins on this page (${page.total} in total)`)
    }
    const now = yield* Clock.currentTimeMillis
    const rows = [
      ["SESSION", "MODEL", "ROUTE", "HITS", "LAST USED", "EXPIRES"],
      ...page.data.map((pin) => [
        pin.scope === undefined ? pin.session_id : `${pin.scope}/${pin.session_id}`,
        pin.model,
        pin.route ?? "-",
        String(pin.hits),
        relative(pin.last_used_at, now),
        relative(pin.expires_at, now)
      ])
    ]
    const lines = table(rows, "")
    lines.push("", `${page.data.length} of ${page.total} pinned session(s)`)
    if (page.next_cursor !== null) {
      lines.push(`more: switchyard sessions list --cursor ${page.next_cursor} --limit ${limit}`)
    }
    yield* out(lines.join("\n"))
  })

const showPin = (pin: PinJson, now: number): string =>
  table([
    ["session", pin.session_id],
    ...(pin.scope === undefined ? [] : [["scope", pin.scope]]),
    ["model", pin.model],
    ["route", pin.route ?? "(none)"],
    ["hits", String(pin.hits)],
    ["created", `${pin.created_at} (${relative(pin.created_at, now)})`],
    ["last used", `${pin.last_used_at} (${relative(pin.last_used_at, now)})`],
    ["expires", `${pin.expires_at} (${relative(pin.expires_at, now)})`]
  ], "").join("\n")

const sessionsOne = (parsed: Parsed, gateway: PinsApi, action: "show" | "unpin") =>
  Effect.gen(function*() {
    yield* tooMany(parsed, 2, "sessions")
    const id = parsed.positionals[1]
    if (id === undefined || id === "") {
      return yield* new UsageError({ message: `sessions ${action} needs a session id`, command: "sessions" })
    }
    const response = yield* call(gateway, action === "show" ? "GET" : "DELETE", sessionPath(parsed, id))
    if (response.status === 404) return yield* new CommandFailed({ message: `no pin for session ${id}` })
    if (action === "unpin") {
      if (response.status !== 204 && response.status !== 200) {
        return yield* unexpected(response.status, response.body, gateway.url)
      }
      return yield* out(`unpinned session ${id}; its next request is routed afresh`)
    }
    if (response.status !== 200) return yield* unexpected(response.status, response.body, gateway.url)
    const pin = yield* decodeJson(PinJson, response.body, gateway.url)
    yield* out(showPin(pin, yield* Clock.currentTimeMillis))
  })

/** `switchyard sessions list|show|unpin`: the pins API of a running gateway. */
export const sessions = (parsed: Parsed) =>
  Effect.gen(function*() {
    const action = parsed.positionals[0]
    const gateway = yield* gatewayOf(parsed)
    if (action === "list") return yield* sessionsList(parsed, gateway)
    if (action === "show" || action === "unpin") return yield* sessionsOne(parsed, gateway, action)
    return yield* new UsageError({
      message: action === undefined
        ? "sessions needs an action: list, show <id> or unpin <id>"
        : `unknown sessions action "${action}" (expected list, show or unpin)`,
      command: "sessions"
    })
  })
