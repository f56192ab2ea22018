import * as Effect from "effect/Effect"
import { GatewayConfig } from "../config/GatewayConfig.js"
import { setPinGauges } from "../observability/GatewayMetrics.js"
import { ProcessMetrics } from "../observability/ProcessMetrics.js"
import * as PrometheusText from "../observability/PrometheusText.js"
import { PinCache } from "../pinning/PinCache.js"

/** One scrape of `/metrics`: pin and process gauges refreshed, then every metric rendered as Prometheus text. */
export class MetricsScrape extends Effect.Service<MetricsScrape>()("switchyard/MetricsScrape", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const pins = yield* PinCache
    const processMetrics = yield* ProcessMetrics
    const enabled = config.observability?.metrics.enabled ?? true
    const render = Effect.gen(function*() {
      const stats = yield* pins.stats
      setPinGauges(stats.size, stats.capacity)
      yield* processMetrics.refresh
      return PrometheusText.render()
    })
    return { enabled, contentType: PrometheusText.contentType, render } as const
  }),
  dependencies: [ProcessMetrics.Default]
}) {}
