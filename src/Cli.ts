import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Config, Effect, Layer, Option } from "effect"
import * as Gateway from "./Gateway.js"

interface UpArgs {
  readonly config: string | undefined
  readonly port: number | undefined
  readonly host: string | undefined
}

const parseUp = (args: ReadonlyArray<string>): UpArgs => {
  let config: string | undefined
  let port: number | undefined
  let host: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--config" || arg === "-c") config = args[++i]
    else if (arg === "--port" || arg === "-p") port = Number(args[++i])
    else if (arg === "--host") host = args[++i]
    else if (!arg.startsWith("-")) config = arg
  }
  return { config, port, host }
}

const up = (args: UpArgs) =>
  Effect.gen(function*() {
    const configPath = args.config ?? Option.getOrUndefined(yield* Config.option(Config.string("SWITCHYARD_CONFIG"))) ??
      "config.yaml"
    const port = args.port ?? Option.getOrUndefined(yield* Config.option(Config.integer("SWITCHYARD_PORT")))
    return yield* Layer.launch(
      Gateway.layerServer({ port, host: args.host }).pipe(Layer.provide(Gateway.layerConfigFile(configPath)))
    )
  })

/** Runs the command line (`switchyard up` is the default command). */
export const run = (argv: ReadonlyArray<string>): void => {
  const args = argv[0] === "up" ? argv.slice(1) : argv
  NodeRuntime.runMain(
    up(parseUp(args)).pipe(
      Effect.tapErrorCause((cause) => Effect.sync(() => process.stderr.write(Cause.pretty(cause) + "\n")))
    ),
    { disableErrorReporting: true }
  )
}
