import * as Data from "effect/Data"
import type * as ConfigFile from "../config/ConfigFile.js"

/** The command line is wrong: exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
  readonly command: string
}> {}

/** A command could not do its job: exit code 1. */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{ readonly message: string }> {}

/** The config file is missing or invalid: exit code 2. */
export class InvalidConfig extends Data.TaggedError("InvalidConfig")<{
  readonly path: string
  readonly issues: ReadonlyArray<ConfigFile.ConfigIssue>
}> {}

/** Every failure a command reports; `Cli.run` maps each to its exit code. */
export type CliError = UsageError | CommandFailed | InvalidConfig
