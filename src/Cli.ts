import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Clock, Config, Data, Effect, Exit, Layer, Logger, LogLevel, Option, Schema } from "effect"
import { existsSync, readFileSync } from "node:fs"
import * as ConfigFile from "./ConfigFile.js"
import * as GatewayConfig from "./GatewayConfig.js"
import type { ProviderConfig, ResolvedConfig, RoutePreference } from "./GatewayConfig.js"
import { catalog } from "./ProviderCatalog.js"
import * as TextFeatures from "./TextFeatures.js"

/** The command line is wrong: exit code 2. */
class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string; readonly command: string }> {}

/** A command could not do its job: exit code 1. */
class CommandFailed extends Data.TaggedError("CommandFailed")<{ readonly message: string }> {}

/** The config file is missing or invalid: exit code 2. */
class InvalidConfig extends Data.TaggedError("InvalidConfig")<{
  readonly path: string
  readonly issues: ReadonlyArray<ConfigFile.ConfigIssue>
}> {}

type CliError = UsageError | CommandFailed | InvalidConfig

const defaultUrl = "http://127.0.0.1:12000"

interface Flag {
  readonly name: string
  readonly short?: string
  /** Shown in help; a flag without one is boolean. */
  readonly value?: string
  readonly help: string
}

interface Command {
  readonly name: string
  readonly usage: ReadonlyArray<string>
  readonly summary: string
  readonly flags: ReadonlyArray<Flag>
}

interface Parsed {
  readonly positionals: ReadonlyArray<string>
  readonly flags: ReadonlyMap<string, string>
}

const helpFlag: Flag = { name: "help", short: "h", help: "show this help" }
const configFlag: Flag = {
  name: "config",
  short: "c",
  value: "FILE",
  help: "config file (default: $SWITCHYARD_CONFIG, else ./config.yaml)"
}
const urlFlag: Flag = { name: "url", value: "URL", help: `the running gateway (default ${defaultUrl})` }
const adminKeyFlag: Flag = {
  name: "admin-key",
  value: "KEY",
  help: "bearer key of the pins API, when routing.admin_key is set (default: $SWITCHYARD_ADMIN_KEY)"
}
const scopeFlag: Flag = { name: "scope", value: "S", help: "the session's scope (routing.session_scope_header value)" }

const commands: ReadonlyArray<Command> = [
  {
    name: "up",
    usage: ["switchyard [up] [config.yaml] [--port N] [--host H]"],
    summary: "start the gateway (the default command)",
    flags: [
      configFlag,
      { name: "port", short: "p", value: "N", help: "listen port (default: $SWITCHYARD_PORT, else the config's port)" },
      { name: "host", value: "H", help: "listen address (default: the config's listener address)" },
      helpFlag
    ]
  },
  {
    name: "check",
    usage: ["switchyard check <config.yaml>"],
    summary: "validate a config; print its providers and routes; warn about keys and vague or overlapping routes",
    flags: [configFlag, helpFlag]
  },
  {
    name: "route",
    usage: ["switchyard route <config.yaml> \"<prompt>\" [--model M]"],
    summary: "dry-run the routing decision for a prompt (no server, no completion)",
    flags: [{ name: "model", short: "m", value: "M", help: "the model the request names (the fallback)" }, helpFlag]
  },
  {
    name: "sessions",
    usage: [
      "switchyard sessions list [--limit N] [--cursor C] [--url URL]",
      "switchyard sessions show <id> [--url URL]",
      "switchyard sessions unpin <id> [--url URL]"
    ],
    summary: "list, inspect or drop the session pins of a running gateway",
    flags: [
      urlFlag,
      adminKeyFlag,
      { name: "limit", value: "N", help: "pins per page for list (default 100)" },
      { name: "cursor", value: "C", help: "continue a list from the cursor it printed" },
      scopeFlag,
      helpFlag
    ]
  }
]

const commandNamed = (name: string): Command => commands.find((c) => c.name === name)!

const parseArgs = (command: Command, args: ReadonlyArray<string>): Effect.Effect<Parsed, UsageError> =>
  Effect.suspend(() => {
    const positionals: Array<string> = []
    const flags = new Map<string, string>()
    const usage = (message: string) => Effect.fail(new UsageError({ message, command: command.name }))
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!
      if (arg === "--") {
        positionals.push(...args.slice(i + 1))
        break
      }
      if (!arg.startsWith("-") || arg === "-") {
        positionals.push(arg)
        continue
      }
      const eq = arg.indexOf("=")
      const key = eq > 0 ? arg.slice(0, eq) : arg
      const flag = key.startsWith("--")
        ? command.flags.find((f) => f.name === key.slice(2))
        : command.flags.find((f) => f.short !== undefined && f.short === key.slice(1))
      if (flag === undefined) return usage(`unknown option ${key} for '${command.name}'`)
      if (flag.value === undefined) {
        if (eq > 0) return usage(`${key} takes no value`)
        flags.set(flag.name, "")
        continue
      }
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i]
      if (value === undefined || (eq < 0 && value.startsWith("--"))) {
        return usage(`${key} needs a value (${flag.value})`)
      }
      flags.set(flag.name, value)
    }
    return Effect.succeed({ positionals, flags })
  })

const wholeNumber = (raw: string, min: number, max: number, what: string, command: string) => {
  const n = Number(raw)
  return Number.isInteger(n) && n >= min && n <= max && raw.trim() !== ""
    ? Effect.succeed(n)
    : Effect.fail(
      new UsageError({ message: `${what} expects a whole number from ${min} to ${max}, got "${raw}"`, command })
    )
}

const integerFlag = (parsed: Parsed, name: string, min: number, max: number, command: string) => {
  const raw = parsed.flags.get(name)
  return raw === undefined ? Effect.succeed(undefined) : wholeNumber(raw, min, max, `--${name}`, command)
}

/** An environment setting; set but empty counts as unset. */
const envString = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.map((value) => Option.getOrUndefined(Option.filter(value, (v) => v.trim() !== ""))),
    Effect.orElseSucceed(() => undefined)
  )

const tooMany = (parsed: Parsed, max: number, command: string) =>
  parsed.positionals.length > max
    ? Effect.fail(new UsageError({ message: `unexpected argument "${parsed.positionals[max]}"`, command }))
    : Effect.void

const out = (text: string) => Effect.sync(() => void process.stdout.write(`${text}\n`))
const err = (text: string) => Effect.sync(() => void process.stderr.write(`${text}\n`))

const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - text.length))

const table = (rows: ReadonlyArray<ReadonlyArray<string>>, indent = "  "): Array<string> => {
  const widths: Array<number> = []
  for (const row of rows) row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length))
  return rows.map((row) =>
    indent + row.map((cell, i) => i === row.length - 1 ? cell : pad(cell, widths[i]!)).join("  ").trimEnd()
  )
}

const readVersion = (): string => {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
    if (typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string") {
      return pkg.version
    }
  } catch {
    // Fall through: a stripped install may lack package.json.
  }
  return "unknown"
}

const flagLine = (flag: Flag): readonly [string, string] => {
  const short = flag.short === undefined ? "    " : `-${flag.short}, `
  return [`${short}--${flag.name}${flag.value === undefined ? "" : ` ${flag.value}`}`, flag.help]
}

const mainHelp = (): string => {
  const usage = commands.flatMap((c) => c.usage.map((u, i) => [u, i === 0 ? c.summary : ""] as const))
  const flags = [
    configFlag,
    ...commandNamed("up").flags.filter((f) => f.name === "port" || f.name === "host"),
    urlFlag,
    adminKeyFlag,
    helpFlag,
    { name: "version", short: "v", help: "print the version" }
  ]
  return [
    "switchyard — an OpenAI- and Anthropic-compatible LLM gateway that routes by preference and pins sessions",
    "",
    "Usage:",
    ...table(usage.map(([u]) => [u])),
    "",
    "Commands:",
    ...table(commands.map((c) => [c.name, c.summary])),
    "",
    "Options:",
    ...table(flags.map(flagLine)),
    "",
    "Run `switchyard <command> --help` for a command's options.",
    "Exit codes: 0 ok, 1 runtime failure, 2 bad usage or invalid config."
  ].join("\n")
}

const commandHelp = (command: Command): string =>
  [
    `switchyard ${command.name} — ${command.summary}`,
    "",
    "Usage:",
    ...command.usage.map((u) => `  ${u}`),
    "",
    "Options:",
    ...table(command.flags.map(flagLine))
  ].join("\n")

// The server and router stacks are most of the start-up time; only `up` and `route` load them.
const loadGateway = Effect.promise(() => import("./Gateway.js"))

const loadConfig = (path: string) =>
  ConfigFile.load(path).pipe(
    Effect.provide(NodeFileSystem.layer),
    Effect.mapError((error) => new InvalidConfig({ path, issues: error.issues }))
  )

const configPathOf = (parsed: Parsed) =>
  Effect.gen(function*() {
    const given = parsed.flags.get("config") ?? parsed.positionals[0]
    if (given !== undefined) return given
    return (yield* envString("SWITCHYARD_CONFIG")) ?? "config.yaml"
  })

const up = (parsed: Parsed) =>
  Effect.gen(function*() {
    if (parsed.flags.has("config")) yield* tooMany(parsed, 0, "up")
    else yield* tooMany(parsed, 1, "up")
    const configPath = yield* configPathOf(parsed)
    const fromEnv = yield* envString("SWITCHYARD_PORT")
    const port = (yield* integerFlag(parsed, "port", 0, 65535, "up")) ??
      (fromEnv === undefined ? undefined : yield* wholeNumber(fromEnv, 0, 65535, "SWITCHYARD_PORT", "up"))
    // Load first so an invalid file is reported as such (exit 2) before anything starts.
    const config = yield* loadConfig(configPath)
    const Gateway = yield* loadGateway
    return yield* Layer.launch(
      Gateway.layerServer({ port, host: parsed.flags.get("host") }).pipe(Layer.provide(GatewayConfig.layer(config)))
    ).pipe(Effect.mapError((error) => new CommandFailed({ message: `cannot start the gateway: ${error.message}` })))
  })

const keyStatus = (p: ProviderConfig): string =>
  p.passthroughAuth
    ? "passthrough"
    : p.accessKey !== undefined
    ? "set"
    : p.missingKeyVar !== undefined
    ? `unset $${p.missingKeyVar}`
    : "none"

/** Self-hosted endpoints commonly run without auth (mirrors `Providers`). */
const needsKey = (p: ProviderConfig): boolean =>
  !p.passthroughAuth && p.baseUrl === undefined && p.provider !== "ollama" && p.provider !== "plano"

const baseUrlOf = (p: ProviderConfig): string => {
  const url = p.baseUrl ?? (Object.hasOwn(catalog, p.provider) ? catalog[p.provider]?.baseUrl : undefined)
  if (url === undefined) return "(no base_url)"
  // A base_url may carry credentials (https://user:secret@host); `check` output ends up in tickets and CI logs.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1***@")
}

const genericWords: ReadonlySet<string> = new Set(
  `general generic misc miscellaneous anything everything something stuff thing task question request query prompt
  help default various etc handle work use kind type way`.trim().split(/\s+/).map(TextFeatures.stem)
)

/** Content words of a description by stem (so "writing" and "write" meet), each with its first spelling. */
const contentWords = (text: string): ReadonlyMap<string, string> => {
  const words = text.toLowerCase().replace(/_/g, " ").match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? []
  const byStem = new Map<string, string>()
  for (const word of words) {
    const stem = TextFeatures.stem(word)
    if (word.length > 1 && !TextFeatures.stopWords.has(word) && !byStem.has(stem)) byStem.set(stem, word)
  }
  return byStem
}

/** Descriptions that share most of their content words, and descriptions too short or too generic to route on. */
const routeWarnings = (routes: ReadonlyArray<RoutePreference>): Array<string> => {
  const warnings: Array<string> = []
  const words = routes.map((r) => contentWords(r.description))
  routes.forEach((route, i) => {
    const specific = [...words[i]!.keys()].filter((w) => !genericWords.has(w))
    if (route.description.trim() === "") {
      warnings.push(`route ${route.name}: has no description; the router cannot match it`)
    } else if (specific.length < 2) {
      warnings.push(
        `route ${route.name}: description "${route.description}" is too short or generic to route on; ` +
          "say which requests it covers (e.g. \"writing new code, functions or boilerplate\")"
      )
    }
  })
  for (let i = 0; i < routes.length; i++) {
    for (let j = i + 1; j < routes.length; j++) {
      const a = words[i]!
      const b = words[j]!
      const shared = [...a.keys()].filter((w) => b.has(w) && !genericWords.has(w)).map((w) => a.get(w)!)
      const smaller = Math.min(a.size, b.size)
      if (shared.length >= 2 && smaller > 0 && shared.length / smaller >= 0.5) {
        warnings.push(
          `routes ${routes[i]!.name} and ${routes[j]!.name} overlap (shared words: ${shared.join(", ")}); ` +
            "the router may confuse them: describe what only each one covers"
        )
      }
    }
  }
  return warnings
}

const configWarnings = (config: ResolvedConfig): Array<string> => {
  const warnings: Array<string> = []
  const unset = new Map<string, Array<string>>()
  for (const p of config.providers) {
    if (p.passthroughAuth || p.accessKey !== undefined) continue
    if (p.missingKeyVar !== undefined) unset.set(p.missingKeyVar, [...(unset.get(p.missingKeyVar) ?? []), p.name])
    else if (needsKey(p)) warnings.push(`provider ${p.name} has no access_key; requests sent to it will get a 401`)
  }
  for (const [variable, names] of unset) {
    warnings.push(`$${variable} is not set: requests sent to ${names.join(", ")} will get a 401 until it is`)
  }
  if (config.ignoredKeys.length > 0) {
    warnings.push(`ignored (Plano keys Switchyard does not implement): ${config.ignoredKeys.join(", ")}`)
  }
  warnings.push(...config.warnings, ...routeWarnings(config.routingPreferences))
  return warnings
}

const formatMs = (ms: number): string => ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`

const describeConfig = (path: string, config: ResolvedConfig): Array<string> => {
  const { listener, routing } = config
  const lines = [
    `${path}: valid (version ${config.version})`,
    "",
    `listener  ${listener.address}:${listener.port} (upstream timeout ${formatMs(listener.timeoutMs)})`,
    "",
    "providers:",
    ...table(config.providers.map((p) => {
      const flags = [p.isDefault ? "default" : "", p.internal ? "internal" : ""].filter((f) => f !== "").join(", ")
      return [p.name, p.interface, baseUrlOf(p), `key: ${keyStatus(p)}`, flags]
    })),
    "",
    "routes:"
  ]
  if (config.routingPreferences.length === 0) {
    lines.push("  none: requests go to the model they name, else to the default provider")
  }
  const nameWidth = Math.max(0, ...config.routingPreferences.map((r) => r.name.length))
  for (const route of config.routingPreferences) {
    const prefer = route.prefer === "none" ? "" : ` (prefer ${route.prefer})`
    const examples = route.examples.length > 0 ? ` [${route.examples.length} examples]` : ""
    lines.push(`  ${pad(route.name, nameWidth)}  → ${route.models.join(", ")}${prefer}${examples}`)
    lines.push(`  ${" ".repeat(nameWidth)}    "${route.description}"`)
  }
  if (config.aliases.size > 0) {
    lines.push("", "aliases:", ...table([...config.aliases].map(([alias, target]) => [alias, `→ ${target}`])))
  }
  const router = routing.router
  const scope = routing.sessionScopeHeader === undefined ? "" : `, scoped by ${routing.sessionScopeHeader}`
  lines.push(
    "",
    router.type === "embedded"
      ? `router    embedded${router.threshold === undefined ? "" : ` (threshold ${router.threshold})`}`
      : `router    llm via ${router.model} (timeout ${formatMs(router.timeoutMs)})`,
    `sessions  idle ttl ${routing.sessionTtlSeconds} s, at most ${routing.sessionMaxEntries} pins${scope}; ` +
      `pins API ${routing.adminKey === undefined ? "open" : "needs the admin key"}`
  )
  return lines
}

const check = (parsed: Parsed) =>
  Effect.gen(function*() {
    if (parsed.flags.has("config")) yield* tooMany(parsed, 0, "check")
    else yield* tooMany(parsed, 1, "check")
    const path = yield* configPathOf(parsed)
    const config = yield* loadConfig(path)
    const warnings = configWarnings(config)
    const lines = describeConfig(path, config)
    lines.push("")
    if (warnings.length === 0) lines.push("no warnings")
    else lines.push(`warnings (${warnings.length}):`, ...warnings.map((w) => `  ! ${w}`))
    yield* out(lines.join("\n"))
  })

/** The gateway's decision stack (router, pins, providers) without a server. */
const loadDecider = Effect.promise(async () => {
  const [{ Providers }, { RouteDecider }, Router, PinCache, Upstream] = await Promise.all([
    import("./Providers.js"),
    import("./RouteDecider.js"),
    import("./Router.js"),
    import("./PinCache.js"),
    import("./Upstream.js")
  ])
  const layer = (config: ResolvedConfig) => {
    const base = Layer.mergeAll(Providers.Default, Upstream.layer())
    const services = Layer.mergeAll(Router.layerConfig, PinCache.layerConfig).pipe(Layer.provideMerge(base))
    return RouteDecider.Default.pipe(Layer.provide(services), Layer.provide(GatewayConfig.layer(config)))
  }
  return { RouteDecider, layer }
})

const route = (parsed: Parsed) =>
  Effect.gen(function*() {
    const [path, ...words] = parsed.positionals
    const prompt = words.join(" ").trim()
    if (path === undefined || prompt === "") {
      return yield* new UsageError({ message: "expected a config file and a prompt", command: "route" })
    }
    const config = yield* loadConfig(path)
    const input = {
      requestedModel: parsed.flags.get("model"),
      sessionKey: undefined,
      inlinePreferences: undefined,
      turns: () => [{ role: "user" as const, content: prompt }]
    }
    const { layer, RouteDecider } = yield* loadDecider
    const selection = yield* Effect.gen(function*() {
      const decider = yield* RouteDecider
      // The gateway compiles its routes once; decide once first so the time shown is a steady-state decision.
      if (config.routing.router.type === "embedded") yield* decider.decide(input)
      return yield* decider.decide(input)
    }).pipe(
      Effect.provide(layer(config)),
      Effect.scoped,
      Effect.mapError((error) => new CommandFailed({ message: `cannot build the router: ${error.message}` }))
    )
    const router = config.routing.router
    const routerName = router.type === "embedded" ? "embedded router" : `llm via ${router.model}`
    const rows: Array<readonly [string, string]> = [
      ["route", selection.route ?? "(none)"],
      ["models", selection.route === null ? "(none)" : selection.candidates.join(", ")],
      ["model", selection.model === "" ? "(none: no default provider)" : selection.model],
      ["reason", selection.reason],
      [
        "confidence",
        selection.confidence === undefined
          ? "n/a"
          : `${selection.confidence.toFixed(2)}${selection.route === null ? " (that no route fits)" : ""}`
      ],
      ["time", `${selection.routingMs.toFixed(3)} ms (${routerName})`]
    ]
    yield* out(table(rows, "").join("\n"))
  })

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

const sessions = (parsed: Parsed) =>
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

const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => Logger.withMinimumLogLevel(self, LogLevel.Warning)

const runCommand = (command: Command, args: ReadonlyArray<string>): Effect.Effect<void, CliError> =>
  Effect.gen(function*() {
    const parsed = yield* parseArgs(command, args)
    if (parsed.flags.has("help")) return yield* out(commandHelp(command))
    switch (command.name) {
      case "up":
        return yield* up(parsed)
      case "check":
        return yield* quiet(check(parsed))
      case "route":
        return yield* quiet(route(parsed))
      default:
        return yield* sessions(parsed)
    }
  })

const looksLikeConfig = (arg: string): boolean => /\.ya?ml$/i.test(arg) || arg.includes("/") || existsSync(arg)

const dispatch = (argv: ReadonlyArray<string>): Effect.Effect<void, CliError> => {
  const first = argv[0]
  if (first === "--help" || first === "-h" || first === "help") {
    const topic = argv[1] === undefined ? undefined : commands.find((c) => c.name === argv[1])
    return out(topic === undefined ? mainHelp() : commandHelp(topic))
  }
  if (first === "--version" || first === "-v") return out(`switchyard ${readVersion()}`)
  const command = first === undefined ? undefined : commands.find((c) => c.name === first)
  if (command !== undefined) return runCommand(command, argv.slice(1))
  if (first !== undefined && !first.startsWith("-") && !looksLikeConfig(first)) {
    return Effect.fail(new UsageError({ message: `unknown command "${first}"`, command: "" }))
  }
  return runCommand(commandNamed("up"), argv)
}

const report = (error: CliError): Effect.Effect<number> => {
  switch (error._tag) {
    case "UsageError": {
      const hint = error.command === "" ? "switchyard --help" : `switchyard ${error.command} --help`
      return Effect.as(err(`switchyard: ${error.message}\nsee \`${hint}\``), 2)
    }
    case "InvalidConfig": {
      const issues = error.issues.map((i) => i.path === error.path ? `  ${i.message}` : `  ${i.path}: ${i.message}`)
      return Effect.as(err([`switchyard: cannot use config ${error.path}`, ...issues].join("\n")), 2)
    }
    case "CommandFailed":
      return Effect.as(err(`switchyard: ${error.message}`), 1)
  }
}

/** Runs the command line: `up` (the default), `check`, `route`, `sessions`, `--help`, `--version`. */
export const run = (argv: ReadonlyArray<string>): void => {
  // `switchyard sessions list | head` closes the pipe early; that is not a failure worth a stack trace.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0)
  })
  const program = dispatch(argv).pipe(
    Effect.as(0),
    Effect.catchAll(report),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause)
        : Effect.as(err(`switchyard: unexpected failure\n${Cause.pretty(cause)}`), 1)
    )
  )
  NodeRuntime.runMain(program, {
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      if (Exit.isSuccess(exit)) onExit(typeof exit.value === "number" ? exit.value : 0)
      else onExit(Cause.isInterruptedOnly(exit.cause) ? 0 : 1)
    }
  })
}
