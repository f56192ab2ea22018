import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { GatewayConfig } from "../config/GatewayConfig.js"
import { setPinGauges } from "../observability/GatewayMetrics.js"
import { ProcessMetrics } from "../observability/ProcessMetrics.js"
import * as PrometheusText from "../observability/PrometheusText.js"
import { PinCache } from "../pinning/PinCache.js"

/**
 * What a scrape answers given this process's own rendering: by default that text as is; under
 * `switchyard up --workers N` the text of every worker, labelled `worker="N"`, gathered by the primary.
 */
export class ScrapeAggregation extends Context.Reference<ScrapeAggregation>()("switchyard/ScrapeAggregation", {
  defaultValue: () => (local: Effect.Effect<string>): Effect.Effect<string> => local
}) {}

/** One scrape of `/metrics`: pin and process gauges refreshed, then every metric rendered as Prometheus text. */
export class MetricsScrape extends Effect.Service<MetricsScrape>()("switchyard/MetricsScrape", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const pins = yield* PinCache
    const processMetrics = yield* ProcessMetrics
    const aggregate = yield* ScrapeAggregation
    const enabled = config.observability?.metrics.enabled ?? true
    const local = Effect.gen(function*() {
      const stats = yield* pins.stats
      setPinGauges(stats.size, stats.capacity)
      yield* processMetrics.refresh
      return PrometheusText.render()
    })
    return { enabled, contentType: PrometheusText.contentType, render: aggregate(local) } as const
  }),
  dependencies: [ProcessMetrics.Default]
}) {}
