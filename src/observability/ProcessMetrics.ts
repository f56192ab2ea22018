import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { GaugeFamily } from "./GatewayMetrics.js"

const none: ReadonlyArray<string> = []

const gauges = {
  rss: new GaugeFamily("process_resident_memory_bytes", "Resident set size of the process", []),
  heapUsed: new GaugeFamily("nodejs_heap_used_bytes", "V8 heap in use", []),
  heapTotal: new GaugeFamily("nodejs_heap_total_bytes", "V8 heap reserved", []),
  external: new GaugeFamily("nodejs_external_memory_bytes", "Memory of C++ objects bound to JavaScript objects", []),
  lagMean: new GaugeFamily("nodejs_eventloop_lag_mean_seconds", "Mean event-loop delay since the last scrape", []),
  lagP99: new GaugeFamily("nodejs_eventloop_lag_p99_seconds", "p99 event-loop delay since the last scrape", []),
  lagMax: new GaugeFamily("nodejs_eventloop_lag_max_seconds", "Largest event-loop delay since the last scrape", []),
  uptime: new GaugeFamily("process_uptime_seconds", "Seconds since the process started", [])
}

/** Process basics (memory, event-loop delay, uptime) refreshed into gauges just before each scrape. */
export class ProcessMetrics extends Effect.Service<ProcessMetrics>()("switchyard/ProcessMetrics", {
  scoped: Effect.gen(function*() {
    const delay = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const histogram = monitorEventLoopDelay({ resolution: 20 })
        histogram.enable()
        return histogram
      }),
      (histogram) => Effect.sync(() => histogram.disable())
    )
    const refresh = Effect.gen(function*() {
      const memory = process.memoryUsage()
      gauges.rss.set(none, memory.rss)
      gauges.heapUsed.set(none, memory.heapUsed)
      gauges.heapTotal.set(none, memory.heapTotal)
      gauges.external.set(none, memory.external)
      const mean = Number.isFinite(delay.mean) ? delay.mean : 0
      gauges.lagMean.set(none, mean / 1e9)
      gauges.lagP99.set(none, delay.count === 0 ? 0 : delay.percentile(99) / 1e9)
      gauges.lagMax.set(none, delay.count === 0 ? 0 : delay.max / 1e9)
      delay.reset()
      const now = yield* Clock.currentTimeMillis
      gauges.uptime.set(none, Math.max(0, now / 1000 - (performance.timeOrigin / 1000)))
    })
    return { refresh } as const
  })
}) {}
