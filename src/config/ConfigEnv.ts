import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type Collector, formatPath, isSecretPath, type Path } from "./ConfigIssue.js"
import { isRecord } from "./ConfigSchema.js"

const variablePattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g

const variablesIn = (text: string): Array<string> =>
  Array.from(text.matchAll(variablePattern), (match) => match[1] ?? match[2]!)

/**
 * Rebuilds the tree, dropping `key: null` entries (an empty YAML value means "not set") and passing every string
 * outside the skipped subtrees to `onString`; returning `undefined` from it removes a mapping entry.
 */
const walk = (
  value: unknown,
  path: Path,
  skip: ReadonlySet<string>,
  onString: (text: string, path: Path) => unknown
): unknown => {
  if (path.length > 0 && skip.has(formatPath(path))) return value
  if (typeof value === "string") return onString(value, path)
  if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i], skip, onString))
  if (isRecord(value)) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      if (item === null || item === undefined) continue
      const next = walk(item, [...path, key], skip, onString)
      if (next !== undefined) out[key] = next
    }
    return out
  }
  return value
}

const isAccessKeyPath = (path: Path): boolean =>
  path.length === 3 && (path[0] === "model_providers" || path[0] === "llm_providers") &&
  typeof path[1] === "number" && path[2] === "access_key"

interface Substituted {
  readonly tree: Record<string, unknown>
  /** Provider index → name of the unset variable its `access_key` refers to. */
  readonly missingKeyVars: ReadonlyMap<number, string>
  /** Substituted values of secrets, scrubbed from every message. */
  readonly secrets: ReadonlyArray<string>
}

/** Replaces `$VAR` / `${VAR}` with environment values; an unset `access_key` variable is recorded, not fatal. */
export const substitute = (
  raw: Record<string, unknown>,
  skip: ReadonlySet<string>,
  env: ReadonlyMap<string, string | undefined>,
  collector: Collector
): Substituted => {
  const missingKeyVars = new Map<number, string>()
  const secrets: Array<string> = []
  const tree = walk(raw, [], skip, (text, path) => {
    const names = variablesIn(text)
    const unset = names.filter((name) => env.get(name) === undefined)
    const value = text.replace(variablePattern, (whole, braced: string | undefined, bare: string | undefined) => {
      const resolved = env.get(braced ?? bare ?? "")
      return resolved ?? whole
    })
    if (isAccessKeyPath(path)) {
      const emptyVar = names.find((name) => env.get(name) === "")
      if (unset.length > 0 || emptyVar !== undefined) {
        missingKeyVars.set(path[1] as number, unset[0] ?? emptyVar!)
        return undefined
      }
    } else if (unset.length > 0) {
      for (const name of unset) {
        collector.add(path, `environment variable ${name} is not set; export it or replace $${name} with a value`)
      }
      return value
    }
    if (isSecretPath(path) && value !== "") secrets.push(value)
    return value
  })
  return { tree: isRecord(tree) ? tree : {}, missingKeyVars, secrets }
}

/** Names of every environment variable the document refers to outside the skipped subtrees. */
export const collectVariables = (raw: Record<string, unknown>, skip: ReadonlySet<string>): Array<string> => {
  const names = new Set<string>()
  walk(raw, [], skip, (text) => {
    for (const name of variablesIn(text)) names.add(name)
    return text
  })
  return Array.from(names)
}

/** Replaces every occurrence of a secret (3+ characters) in a message with `<redacted>`. */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((acc, secret) => secret.length >= 3 ? acc.split(secret).join("<redacted>") : acc, text)

/** Reads one environment variable through Effect's `Config` (unset → `undefined`). */
export const lookupVariable = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.orElseSucceed(() => Option.none<string>()),
    Effect.map((value) => [name, Option.getOrUndefined(value)] as const)
  )
