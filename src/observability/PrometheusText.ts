import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"

/** The content type of the Prometheus text exposition format. */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

const escapeHelp = (text: string) => text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")
const escapeValue = (text: string) => text.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"").replaceAll("\n", "\\n")
const metricName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/^([0-9])/, "_$1")
const labelName = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^([0-9])/, "_$1")

const number = (n: number | bigint): string =>
  typeof n === "bigint"
    ? n.toString()
    : Number.isNaN(n)
    ? "NaN"
    : n === Number.POSITIVE_INFINITY
    ? "+Inf"
    : n === Number.NEGATIVE_INFINITY
    ? "-Inf"
    : String(n)

const labelsText = (pairs: ReadonlyArray<readonly [string, string]>): string =>
  pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${labelName(k)}="${escapeValue(v)}"`).join(",")}}`

type Kind = "counter" | "gauge" | "histogram"

interface Family {
  readonly kind: Kind
  readonly help: string
  readonly lines: Array<string>
}

const kindOf = (pair: MetricPair.MetricPair.Untyped): Kind | undefined => {
  const state = pair.metricState
  if (MetricState.isCounterState(state)) return "counter"
  if (MetricState.isGaugeState(state)) return "gauge"
  if (MetricState.isHistogramState(state)) return "histogram"
  return undefined
}

/**
 * Renders metric pairs (default: a snapshot of Effect's global registry) in the Prometheus text format. Counters get
 * the `_total` suffix; histograms their cumulative `_bucket`, `_sum` and `_count`. Frequencies and summaries are
 * not rendered (the gateway records none).
 */
export const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped> = Metric.unsafeSnapshot()): string => {
  const families = new Map<string, Family>()
  for (const pair of pairs) {
    const kind = kindOf(pair)
    if (kind === undefined) continue
    const base = metricName(pair.metricKey.name)
    const name = kind === "counter" && !base.endsWith("_total") ? `${base}_total` : base
    let family = families.get(name)
    if (family === undefined) {
      family = { kind, help: Option.getOrElse(pair.metricKey.description, () => name), lines: [] }
      families.set(name, family)
    } else if (family.kind !== kind) continue
    const labels = pair.metricKey.tags.map((label) => [label.key, label.value] as const)
    const state = pair.metricState
    if (MetricState.isCounterState(state)) family.lines.push(`${name}${labelsText(labels)} ${number(state.count)}`)
    else if (MetricState.isGaugeState(state)) family.lines.push(`${name}${labelsText(labels)} ${number(state.value)}`)
    else if (MetricState.isHistogramState(state)) {
      for (const [bound, count] of state.buckets) {
        family.lines.push(`${name}_bucket${labelsText([...labels, ["le", number(bound)]])} ${count}`)
      }
      family.lines.push(`${name}_sum${labelsText(labels)} ${number(state.sum)}`)
      family.lines.push(`${name}_count${labelsText(labels)} ${state.count}`)
    }
  }
  const out: Array<string> = []
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name)!
    out.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.kind}`)
    for (const line of family.lines) out.push(line)
  }
  return out.join("\n") + "\n"
}
