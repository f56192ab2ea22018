import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"

/** Seconds from 100 µs to 60 s (and +Inf): fine where the gateway's own work lives, coarse where upstreams live. */
export const latencyBoundaries = MetricBoundaries.fromIterable([
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60
])

// Label values are bounded by the callers; this only stops a bug from growing a family without limit.
const maxSeries = 2000

/**
 * One labelled metric of the global Effect metric registry (what `/metrics` renders). Each label combination's hook
 * is looked up once and cached, so an update is a Map lookup and an add: `Metric.update` with extra tags re-hashes
 * the key on every call, which measured 10× the cost.
 */
class Family<Hook extends MetricHook.MetricHook<number, unknown>> {
  private readonly hooks = new Map<string, Hook>()
  constructor(
    private readonly labelNames: ReadonlyArray<string>,
    private readonly hookOf: (labels: Array<MetricLabel.MetricLabel>) => Hook
  ) {}

  hook(values: ReadonlyArray<string>): Hook {
    const id = values.join("\u0001")
    let hook = this.hooks.get(id)
    if (hook === undefined) {
      const bounded = this.hooks.size < maxSeries ? values : values.map(() => "overflow")
      hook = this.hookOf(this.labelNames.map((name, i) => MetricLabel.make(name, bounded[i] ?? "")))
      this.hooks.set(id, hook)
    }
    return hook
  }
}

/** A counter (exported as `NAME_total`) with labels. */
export class CounterFamily extends Family<MetricHook.MetricHook.Counter<number>> {
  constructor(name: string, description: string, labelNames: ReadonlyArray<string>) {
    const key = MetricKey.counter(name, { description, incremental: true })
    super(labelNames, (labels) => Metric.globalMetricRegistry.getCounter(MetricKey.taggedWithLabels(key, labels)))
  }
  inc(values: ReadonlyArray<string>, by = 1): void {
    this.hook(values).update(by)
  }
}

/** A histogram of seconds with labels. */
export class HistogramFamily extends Family<MetricHook.MetricHook.Histogram> {
  constructor(name: string, description: string, labelNames: ReadonlyArray<string>) {
    const key = MetricKey.histogram(name, latencyBoundaries, description)
    super(labelNames, (labels) => Metric.globalMetricRegistry.getHistogram(MetricKey.taggedWithLabels(key, labels)))
  }
  observe(values: ReadonlyArray<string>, seconds: number): void {
    this.hook(values).update(seconds)
  }
}

/** A gauge with labels, set at scrape time. */
export class GaugeFamily extends Family<MetricHook.MetricHook.Gauge<number>> {
  constructor(name: string, description: string, labelNames: ReadonlyArray<string>) {
    const key = MetricKey.gauge(name, { description })
    super(labelNames, (labels) => Metric.globalMetricRegistry.getGauge(MetricKey.taggedWithLabels(key, labels)))
  }
  set(values: ReadonlyArray<string>, value: number): void {
    this.hook(values).update(value)
  }
}

/** Every metric the gateway records besides the pin counters of `PinCache.metrics`. */
export const GatewayMetrics = {
  requests: new CounterFamily(
    "switchyard_requests",
    "Requests on the model endpoints by API, status class, served model, route and routing reason",
    ["api", "status", "model", "route", "reason"]
  ),
  requestDuration: new HistogramFamily(
    "switchyard_request_duration_seconds",
    "Time from the request's arrival until its response ended",
    ["api", "status"]
  ),
  upstreamTtfb: new HistogramFamily(
    "switchyard_upstream_ttfb_seconds",
    "Time from sending the upstream request until its response headers arrived",
    ["provider"]
  ),
  gatewayOverhead: new HistogramFamily(
    "switchyard_gateway_overhead_seconds",
    "Time the gateway spent before calling the upstream (body, checks, routing, pinning, translation)",
    ["api"]
  ),
  upstreamErrors: new CounterFamily(
    "switchyard_upstream_errors",
    "Failed upstream calls by provider and kind (connect, timeout, 4xx, 5xx, stream_aborted)",
    ["provider", "kind"]
  ),
  tokens: new CounterFamily(
    "switchyard_tokens",
    "Tokens reported by the upstream's usage, by model and direction (input, output)",
    ["model", "direction"]
  ),
  routerDecisions: new CounterFamily(
    "switchyard_router_decisions",
    "Router calls by router kind and outcome (routed, no_match, router_error)",
    ["router", "outcome"]
  ),
  routerDuration: new HistogramFamily(
    "switchyard_router_duration_seconds",
    "Time one router call took",
    ["router"]
  ),
  routerErrors: new CounterFamily(
    "switchyard_router_errors",
    "Router calls that failed (kind error) or timed out (kind timeout); the request fell back",
    ["router", "kind"]
  ),
  pinsRevoked: new CounterFamily("switchyard_pins_revoked", "Session pins revoked through the pins API", []),
  pinsSize: new GaugeFamily("switchyard_pins_size", "Session pins held now", []),
  pinsCapacity: new GaugeFamily("switchyard_pins_capacity", "Session pins the store holds at most", []),
  pinStoreErrors: new CounterFamily(
    "switchyard_pin_store_errors",
    "Errors of a shared pin store by store and operation",
    ["store", "operation"]
  ),
  pinStoreFailOpen: new CounterFamily(
    "switchyard_pin_store_fail_open",
    "Requests served without the shared pin store (a failed lookup counted as a miss, a failed write dropped)",
    ["operation"]
  )
} as const

const noLabels: ReadonlyArray<string> = []

/** Records one router call. */
export const recordRouterCall = (
  router: string,
  outcome: "routed" | "no_match" | "router_error",
  latencyMs: number,
  error: string | undefined
): void => {
  GatewayMetrics.routerDecisions.inc([router, outcome])
  GatewayMetrics.routerDuration.observe([router], latencyMs / 1000)
  if (outcome === "router_error") {
    GatewayMetrics.routerErrors.inc([router, error !== undefined && /timed out/i.test(error) ? "timeout" : "error"])
  }
}

/** Records a pin revoked through the pins API. */
export const recordPinRevoked = (): void => GatewayMetrics.pinsRevoked.inc(noLabels)

/** Sets the pin store's current size and capacity (at scrape time). */
export const setPinGauges = (size: number, capacity: number): void => {
  GatewayMetrics.pinsSize.set(noLabels, size)
  GatewayMetrics.pinsCapacity.set(noLabels, capacity)
}

/** Records a failed operation of a shared pin store; `get` and `put` on the request path fail open. */
export const recordPinStoreError = (store: string, operation: string): void => {
  GatewayMetrics.pinStoreErrors.inc([store, operation])
  if (operation === "get" || operation === "put") GatewayMetrics.pinStoreFailOpen.inc([operation])
}
