/**
 * Config problems: where they are in the YAML document and what to do about them. Every resolver in `config/`
 * reports through a `Collector` so one pass lists every problem; this module imports nothing else of ours, which is
 * what keeps the config folder free of import circles.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** One problem in the config file: where it is (a YAML path) and what to do about it. */
export const ConfigIssue = Schema.Struct({ path: Schema.String, message: Schema.String })
export type ConfigIssue = typeof ConfigIssue.Type

type Segment = string | number
/** A location in the YAML document: mapping keys and list indices. */
export type Path = ReadonlyArray<Segment>

/** Renders a path the way users read it in the file, e.g. `routing_preferences[1].models[0]`. */
export const formatPath = (path: Path): string => {
  if (path.length === 0) return "(root)"
  let out = ""
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`
    else out += `[${JSON.stringify(segment)}]`
  }
  return out
}

/** Accumulates config issues (deduplicated) so one pass reports every problem. */
export interface Collector {
  readonly issues: Array<ConfigIssue>
  readonly add: (path: Path, message: string) => void
}

/** A fresh, empty issue collector. */
export const makeCollector = (): Collector => {
  const issues: Array<ConfigIssue> = []
  const seen = new Set<string>()
  return {
    issues,
    add: (path, message) => {
      const issue = { path: formatPath(path), message }
      const key = `${issue.path}\u0000${issue.message}`
      if (seen.has(key)) return
      seen.add(key)
      issues.push(issue)
    }
  }
}

/** True for paths whose values are secrets and must never appear in a message. */
export const isSecretPath = (path: Path): boolean => {
  const last = path[path.length - 1]
  return last === "access_key" || last === "admin_key" || path.includes("headers") ||
    (path[0] === "auth" && last === "key")
}

/** The message for a key the schema does not know. */
export const unknownKey = (key: string, expected: string): string =>
  `unknown key "${key}"; remove it or check the spelling (expected one of: ${expected})`

const rewriteIssue = (issue: ParseResult.ArrayFormatterIssue, path: Path): string => {
  switch (issue._tag) {
    case "Missing":
      return "is required"
    case "Unexpected": {
      const expected = issue.message.replace(/^is unexpected, expected: /, "").replace(/"/g, "").split(" | ").join(", ")
      return unknownKey(String(path[path.length - 1]), expected)
    }
    default:
      // A wrong-typed secret must not echo its value.
      return isSecretPath(path) ? "expected a string" : issue.message
  }
}

/** Decodes a section found at `at`, reporting every problem under its YAML path; `undefined` on failure. */
export const decodeAt = <A, I>(
  schema: Schema.Schema<A, I>,
  value: unknown,
  at: Path,
  collector: Collector
): A | undefined => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(value)
  if (Either.isRight(result)) return result.right
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(result.left)) {
    const path = [...at, ...issue.path.map((segment) => typeof segment === "symbol" ? String(segment) : segment)]
    collector.add(path, rewriteIssue(issue, path))
  }
  return undefined
}
