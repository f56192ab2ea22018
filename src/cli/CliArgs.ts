import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { availableParallelism } from "node:os"
import * as ConfigFile from "../config/ConfigFile.js"
import { InvalidConfig, UsageError } from "./CliError.js"

/** Where `sessions` finds the gateway when `--url` is not given. */
export const defaultUrl = "http://127.0.0.1:12000"

/** A command's option as the parser and the help know it. */
export interface Flag {
  readonly name: string
  readonly short?: string
  /** Shown in help; a flag without one is boolean. */
  readonly value?: string
  readonly help: string
}

/** A subcommand: its usage lines, summary and options. */
export interface Command {
  readonly name: string
  readonly usage: ReadonlyArray<string>
  readonly summary: string
  readonly flags: ReadonlyArray<Flag>
}

/** A command line split into positionals and the flags given (a boolean flag maps to ""). */
export interface Parsed {
  readonly positionals: ReadonlyArray<string>
  readonly flags: ReadonlyMap<string, string>
}

/** `--help` / `-h`, accepted by every command. */
export const helpFlag: Flag = { name: "help", short: "h", help: "show this help" }
/** `--config FILE` / `-c`. */
export const configFlag: Flag = {
  name: "config",
  short: "c",
  value: "FILE",
  help: "config file (default: $SWITCHYARD_CONFIG, else ./config.yaml)"
}
/** `--url URL` of a running gateway. */
export const urlFlag: Flag = { name: "url", value: "URL", help: `the running gateway (default ${defaultUrl})` }
/** `--admin-key KEY` for the pins API. */
export const adminKeyFlag: Flag = {
  name: "admin-key",
  value: "KEY",
  help: "bearer key of the pins API, when routing.admin_key is set (default: $SWITCHYARD_ADMIN_KEY)"
}
const scopeFlag: Flag = { name: "scope", value: "S", help: "the session's scope (routing.session_scope_header value)" }

/** Every subcommand, in help order. */
export const commands: ReadonlyArray<Command> = [
  {
    name: "up",
    usage: ["switchyard [up] [config.yaml] [--port N] [--host H] [--workers N|auto]"],
    summary: "start the gateway (the default command)",
    flags: [
      configFlag,
      { name: "port", short: "p", value: "N", help: "listen port (default: $SWITCHYARD_PORT, else the config's port)" },
      { name: "host", value: "H", help: "listen address (default: the config's listener address)" },
      {
        name: "workers",
        short: "w",
        value: "N|auto",
        help: "worker processes on the one port, sharing pins (default: $SWITCHYARD_WORKERS, else 1; auto = one per core)"
      },
      {
        name: "no-watch",
        help: "do not reload when the config file changes (SIGHUP and the reload endpoint still do)"
      },
      helpFlag
    ]
  },
  {
    name: "check",
    usage: ["switchyard check <config.yaml> [--against URL | --pins FILE]"],
    summary: "validate a config; print its providers and routes; warn about keys and vague or overlapping routes",
    flags: [
      configFlag,
      { name: "against", value: "URL", help: "list the live pins of the gateway at URL this config would drop" },
      { name: "pins", value: "FILE", help: "the same for pins saved from the pins API (GET /v1/routing/sessions)" },
      adminKeyFlag,
      helpFlag
    ]
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

/** The subcommand of a name known to exist. */
export const commandNamed = (name: string): Command => commands.find((c) => c.name === name)!

/** Splits a command's arguments into positionals and known flags; an unknown or malformed flag is a usage error. */
export const parseArgs = (command: Command, args: ReadonlyArray<string>): Effect.Effect<Parsed, UsageError> =>
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

/** Parses an integer in [min, max], else a usage error naming `what`. */
export const wholeNumber = (raw: string, min: number, max: number, what: string, command: string) => {
  const n = Number(raw)
  return Number.isInteger(n) && n >= min && n <= max && raw.trim() !== ""
    ? Effect.succeed(n)
    : Effect.fail(
      new UsageError({ message: `${what} expects a whole number from ${min} to ${max}, got "${raw}"`, command })
    )
}

/** The integer value of a flag, if given (see `wholeNumber`). */
export const integerFlag = (parsed: Parsed, name: string, min: number, max: number, command: string) => {
  const raw = parsed.flags.get(name)
  return raw === undefined ? Effect.succeed(undefined) : wholeNumber(raw, min, max, `--${name}`, command)
}

/** The environment variable carrying a worker's number (1..N; a replacement keeps the number it replaces). */
export const workerEnv = "SWITCHYARD_WORKER"

/** The largest `--workers`. */
export const maxWorkers = 256

/** `--workers N|auto` (else $SWITCHYARD_WORKERS, else 1); `auto` is the available parallelism. */
export const workersOf = (parsed: Parsed) =>
  Effect.gen(function*() {
    const raw = parsed.flags.get("workers") ?? (yield* envString("SWITCHYARD_WORKERS"))
    if (raw === undefined) return 1
    if (raw.trim().toLowerCase() === "auto") return Math.min(maxWorkers, availableParallelism())
    const what = parsed.flags.has("workers") ? "--workers" : "SWITCHYARD_WORKERS"
    return yield* wholeNumber(raw, 1, maxWorkers, what, "up")
  })

/** An environment setting; set but empty counts as unset. */
export const envString = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.map((value) => Option.getOrUndefined(Option.filter(value, (v) => v.trim() !== ""))),
    Effect.orElseSucceed(() => undefined)
  )

/** Fails with a usage error when more than `max` positionals were given. */
export const tooMany = (parsed: Parsed, max: number, command: string) =>
  parsed.positionals.length > max
    ? Effect.fail(new UsageError({ message: `unexpected argument "${parsed.positionals[max]}"`, command }))
    : Effect.void

/** Loads and resolves a config file; any problem is an `InvalidConfig` (exit code 2). */
export const loadConfig = (path: string) =>
  ConfigFile.load(path).pipe(
    Effect.provide(NodeFileSystem.layer),
    Effect.mapError((error) => new InvalidConfig({ path, issues: error.issues }))
  )

/** The config file: `--config`, else the first positional, else $SWITCHYARD_CONFIG, else ./config.yaml. */
export const configPathOf = (parsed: Parsed) =>
  Effect.gen(function*() {
    const given = parsed.flags.get("config") ?? parsed.positionals[0]
    if (given !== undefined) return given
    return (yield* envString("SWITCHYARD_CONFIG")) ?? "config.yaml"
  })
