import { execFileSync, spawnSync } from "node:child_process"
import { Effect, Layer } from "effect"
import * as Router from "../../src/routing/Router.js"

/** A router that always picks route `code` (models: openai/gpt-4o), so a session's first request is `routed`. */
export const codeRouter = Layer.succeed(
  Router.Router,
  Router.Router.of({
    kind: "custom",
    decide: () =>
      Effect.succeed({
        route: "code",
        models: ["openai/gpt-4o"],
        confidence: 0.9,
        failed: false,
        reason: "routed" as const,
        error: undefined,
        latencyMs: 1
      })
  })
)

/** Parses Prometheus text into `name{labels}` → value (label order as rendered). */
export const parseMetrics = (text: string): Map<string, number> => {
  const out = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line.length === 0 || line.startsWith("#")) continue
    const space = line.lastIndexOf(" ")
    out.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return out
}

/** One `/metrics` answer, raw and parsed. */
export interface Scrape {
  readonly text: string
  readonly series: Map<string, number>
}

/** Fetches `/metrics` and parses it. */
export const scrape = async (base: string): Promise<Scrape> => {
  const response = await fetch(`${base}/metrics`)
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`)
  const text = await response.text()
  return { text, series: parseMetrics(text) }
}

/** The change of one series between two scrapes (absent counts as 0). */
export const delta = (before: Map<string, number>, after: Map<string, number>, series: string): number =>
  (after.get(series) ?? 0) - (before.get(series) ?? 0)

const tryInstallPromtool = (): void => {
  // Debian's `prometheus` package ships promtool; CI (.ci/run) installs it the same way.
  spawnSync("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus"], {
    stdio: "ignore",
    timeout: 240_000
  })
}

/** The path of `promtool`, installing the Debian package when absent; undefined when that is impossible. */
export const promtool = (): string | undefined => {
  const find = () => {
    try {
      return execFileSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" }).trim() || undefined
    } catch {
      return undefined
    }
  }
  const found = find()
  if (found !== undefined) return found
  tryInstallPromtool()
  return find()
}
