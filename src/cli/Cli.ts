import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import cluster from "node:cluster"
import { existsSync, readFileSync } from "node:fs"
import type { Command, Flag, Parsed } from "./CliArgs.js"
import {
  adminKeyFlag,
  commandNamed,
  commands,
  configFlag,
  configPathOf,
  envString,
  helpFlag,
  integerFlag,
  loadConfig,
  parseArgs,
  tooMany,
  urlFlag,
  wholeNumber,
  workerEnv,
  workersOf
} from "./CliArgs.js"
import { check } from "./CliCheck.js"
import type { CliError } from "./CliError.js"
import { CommandFailed, UsageError } from "./CliError.js"
import { err, out, table } from "./CliOutput.js"
import { route } from "./CliRoute.js"
import { sessions } from "./CliSessions.js"
import * as GatewayConfig from "../config/GatewayConfig.js"
import * as JsonLogger from "../observability/JsonLogger.js"

// `switchyard up` logs every request unless the config says `observability.access_log: false`.
const withAccessLogDefault = (config: GatewayConfig.ResolvedConfig): GatewayConfig.ResolvedConfig => ({
  ...config,
  observability: {
    accessLog: config.observability?.accessLog ?? true,
    metrics: config.observability?.metrics ?? { enabled: true, port: undefined, address: undefined },
    tracing: config.observability?.tracing ?? { randomSampling: undefined, endpoint: undefined }
  }
})

const readVersion = (): string => {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
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

// The server stack is most of the start-up time; only `up` loads it (`route` loads the router the same way).
const loadLive = Effect.promise(() => import("./CliUp.js"))
const loadCluster = Effect.promise(() => import("./CliCluster.js"))

const up = (parsed: Parsed) =>
  Effect.gen(function*() {
    if (parsed.flags.has("config")) yield* tooMany(parsed, 0, "up")
    else yield* tooMany(parsed, 1, "up")
    const configPath = yield* configPathOf(parsed)
    const fromEnv = yield* envString("SWITCHYARD_PORT")
    const port = (yield* integerFlag(parsed, "port", 0, 65535, "up")) ??
      (fromEnv === undefined ? undefined : yield* wholeNumber(fromEnv, 0, 65535, "SWITCHYARD_PORT", "up"))
    // Load first so an invalid file is reported as such (exit 2) before anything starts.
    const workers = yield* workersOf(parsed)
    const config = yield* loadConfig(configPath)
    // A worker of `--workers N` runs this same command line; the variable set by its primary tells it apart.
    const worker = cluster.isWorker ? yield* envString(workerEnv) : undefined
    if (workers > 1 && cluster.isPrimary) {
      const CliCluster = yield* loadCluster
      return yield* CliCluster.run(withAccessLogDefault(config), { workers }).pipe(
        Effect.mapError((error) => new CommandFailed({ message: `cannot start the gateway: ${error.message}` })),
        Effect.provide(JsonLogger.layer())
      )
    }
    const CliUp = yield* loadLive
    return yield* CliUp.serve(configPath, withAccessLogDefault(config), {
      port,
      host: parsed.flags.get("host"),
      watch: !parsed.flags.has("no-watch"),
      worker
    }).pipe(
      Effect.mapError((error) => new CommandFailed({ message: `cannot start the gateway: ${error.message}` })),
      Effect.provide(JsonLogger.layer())
    )
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
