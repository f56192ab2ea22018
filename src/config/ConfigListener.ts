import type { ListenerConfig } from "./GatewayConfig.js"
import { type Collector, decodeAt } from "./ConfigIssue.js"
import { defaults, isRecord, LegacyListenersInput, ListenerInput, show } from "./ConfigSchema.js"

/** The single model listener (list or legacy mapping form), with defaults filled in. */
export const resolveListener = (value: unknown, collector: Collector, warnings: Array<string>): ListenerConfig => {
  const base: ListenerConfig = {
    address: defaults.address,
    port: defaults.port,
    timeoutMs: defaults.timeoutMs,
    maxBodyBytes: defaults.maxBodyBytes
  }
  type ModelListener = {
    readonly address?: string
    readonly port?: number
    readonly timeout?: number
    readonly max_body_bytes?: number
    readonly max_retries?: number
  }
  const fill = (input: ModelListener): ListenerConfig => ({
    address: input.address ?? base.address,
    port: input.port ?? base.port,
    timeoutMs: input.timeout ?? base.timeoutMs,
    maxBodyBytes: input.max_body_bytes ?? base.maxBodyBytes,
    ...(input.max_retries === undefined ? {} : { maxRetries: input.max_retries })
  })
  if (value === undefined) return base
  if (isRecord(value)) {
    warnings.push("listeners: the mapping form (ingress_traffic/egress_traffic) is deprecated; use a list of listeners")
    const decoded = decodeAt(LegacyListenersInput, value, ["listeners"], collector)
    return decoded?.egress_traffic === undefined ? base : fill(decoded.egress_traffic)
  }
  if (!Array.isArray(value)) {
    collector.add(["listeners"], `expected a list of listeners (e.g. \`- type: model\`), got ${show(value)}`)
    return base
  }
  const found: Array<{ readonly config: ListenerConfig; readonly index: number }> = []
  value.forEach((item, i) => {
    if (isRecord(item) && (item["type"] === "prompt" || item["type"] === "agent")) return
    const decoded = decodeAt(ListenerInput, item, ["listeners", i], collector)
    if (decoded === undefined || decoded.type !== "model") return
    const first = found[0]
    if (first !== undefined) {
      collector.add(
        ["listeners", i],
        `only one model listener is allowed, found a second one (the first is listeners[${first.index}]); ` +
          "keep a single `type: model` listener"
      )
      return
    }
    found.push({ config: fill(decoded), index: i })
  })
  return found[0]?.config ?? base
}
