import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { GatewayConfig } from "../config/GatewayConfig.js"

/** A parsed W3C `traceparent`. */
export interface TraceParent {
  readonly traceId: string
  readonly spanId: string
  readonly sampled: boolean
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** Parses a `traceparent` header (version 00); undefined when absent or malformed. */
export const parseTraceparent = (header: string | undefined): TraceParent | undefined => {
  if (header === undefined) return undefined
  const match = traceparentPattern.exec(header.trim().toLowerCase())
  if (match === null || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined
  return { traceId: match[1]!, spanId: match[2]!, sampled: (parseInt(match[3]!, 16) & 1) === 1 }
}

/** The `traceparent` header naming a span as the parent of the next hop. */
export const traceparentOf = (span: Tracer.AnySpan): string => `00-${span.traceId}-${span.spanId}-01`

/** Head sampling for requests. Without a tracer layer (`layerNone`) nothing is ever traced and no span is made. */
export class Tracing extends Context.Tag("switchyard/Tracing")<Tracing, {
  /** The tracer traced requests run with; undefined when tracing is off. */
  readonly tracer: Tracer.Tracer | undefined
  /**
   * Whether to trace one request: undefined = not traced; otherwise the parent to continue (`null` starts a trace).
   * A sampled incoming `traceparent` is followed; one that is not sampled is not; otherwise `random_sampling` decides.
   */
  readonly sample: (traceparent: string | undefined) => Tracer.ExternalSpan | null | undefined
}>() {}

/** No tracing: no tracer, no spans, no per-request cost beyond one boolean. */
export const layerNone: Layer.Layer<Tracing> = Layer.succeed(Tracing, { tracer: undefined, sample: () => undefined })

/** Samples `percent` of requests that come without a parent decision (for tests and embedders). */
export const sampler = (percent: number) => (header: string | undefined): Tracer.ExternalSpan | null | undefined => {
  const parent = parseTraceparent(header)
  if (parent !== undefined) {
    return parent.sampled
      ? Tracer.externalSpan({ traceId: parent.traceId, spanId: parent.spanId, sampled: true })
      : undefined
  }
  return percent > 0 && Math.random() * 100 < percent ? null : undefined
}

// How many sampled requests are running now: while none is, `childSpan` returns its effect untouched, so the span
// sites cost nothing when tracing is off and nothing for the unsampled requests of a `random_sampling: 0` gateway.
let tracedInFlight = 0

/**
 * Runs `self` as a traced request: the `childSpan` sites inside it make spans (under the span `self` runs in). The
 * gateway wraps each sampled request with it; an embedder wanting these child spans inside its own spans does too.
 */
export const inTrace = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      tracedInFlight++
    }),
    () => self,
    () =>
      Effect.sync(() => {
        tracedInFlight--
      })
  )

/**
 * Exports spans over OTLP/HTTP (JSON) to `endpoint` (a traces URL) through `@effect/opentelemetry`, sampling
 * `percent` of new traces.
 */
export const layerOtlp = (options: {
  readonly endpoint: string
  readonly percent: number
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
}): Layer.Layer<Tracing> =>
  // The OpenTelemetry SDK costs ~25 MB of heap once loaded: import it only when tracing is configured.
  Layer.unwrapEffect(Effect.promise(async () => {
    const [NodeSdk, OtelResource, OtelTracer, { OTLPTraceExporter }, { AlwaysOnSampler, BatchSpanProcessor }] =
      await Promise.all([
        import("@effect/opentelemetry/NodeSdk"),
        import("@effect/opentelemetry/Resource"),
        import("@effect/opentelemetry/Tracer"),
        import("@opentelemetry/exporter-trace-otlp-http"),
        import("@opentelemetry/sdk-trace-base")
      ])
    return Layer.effect(
      Tracing,
      Effect.map(OtelTracer.make, (tracer) => ({ tracer, sample: sampler(options.percent) }))
    ).pipe(
      Layer.provide(OtelTracer.layerTracer),
      Layer.provide(Layer.unwrapEffect(Effect.sync(() =>
        NodeSdk.layerTracerProvider(
          new BatchSpanProcessor(new OTLPTraceExporter({ url: options.endpoint }), { scheduledDelayMillis: 500 }),
          // Sampling is decided once per request before any span exists; spans that are made are exported.
          { sampler: new AlwaysOnSampler(), shutdownTimeout: "3 seconds" }
        )
      ))),
      Layer.provide(OtelResource.layer({
        serviceName: options.serviceName,
        ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion })
      }))
    )
  }))

const optionalString = (name: string) => Config.option(Config.nonEmptyString(name))

/**
 * Tracing from the config's `tracing` block and the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_SERVICE_NAME` variables; `layerNone` when no endpoint is known.
 */
export const layerConfig: Layer.Layer<Tracing, never, GatewayConfig> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* GatewayConfig
    const settings = config.observability?.tracing
    const tracesEnv = yield* optionalString("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    const baseEnv = yield* optionalString("OTEL_EXPORTER_OTLP_ENDPOINT")
    const serviceName = Option.getOrElse(yield* optionalString("OTEL_SERVICE_NAME"), () => "switchyard")
    const endpoint = Option.isSome(tracesEnv)
      ? tracesEnv.value
      : Option.isSome(baseEnv)
      ? `${baseEnv.value.replace(/\/+$/, "")}/v1/traces`
      : settings?.endpoint
    if (endpoint === undefined) {
      if (settings?.randomSampling !== undefined) {
        yield* Effect.logWarning(
          "tracing.random_sampling is set but no trace endpoint is (OTEL_EXPORTER_OTLP_ENDPOINT, " +
            "tracing.otlp_endpoint or tracing.opentracing_grpc_endpoint): tracing is off"
        )
      }
      return layerNone
    }
    const percent = settings?.randomSampling ?? 100
    yield* Effect.logInfo(`tracing to ${endpoint} (sampling ${percent}%)`)
    return layerOtlp({ endpoint, percent, serviceName })
  }).pipe(Effect.orDie, Effect.annotateLogs({ service: "Tracing" }))
)

/**
 * Runs `self` in a child span when the request is traced (a parent span exists), else as it is: untraced requests
 * make no span objects, which the default tracer would otherwise create for every `withSpan`.
 */
export const childSpan = (
  name: string,
  options: { readonly attributes?: Record<string, unknown>; readonly kind?: Tracer.SpanKind } = {}
) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  tracedInFlight === 0 ? self : Effect.withFiberRuntime((fiber) =>
    Context.getOption(fiber.currentContext, Tracer.ParentSpan)._tag === "None"
      ? self
      : Effect.withSpan(self, name, { captureStackTrace: false, ...options })
  )
