import { type Collector, decodeAt } from "./ConfigIssue.js"
import { hasOwn, isRecord, ObservabilityInput, TracingInput } from "./ConfigSchema.js"
import type { ObservabilitySettings } from "./GatewayConfig.js"

/** Plano's `tracing` keys that Switchyard reads; the others are reported as ignored. */
export const usedTracingKeys: ReadonlyArray<string> = ["random_sampling", "opentracing_grpc_endpoint", "otlp_endpoint"]

// Plano speaks OTLP/gRPC to a collector (port 4317); the same collector takes OTLP/HTTP on 4318.
const fromGrpcEndpoint = (endpoint: string): string | undefined => {
  try {
    const url = new URL(endpoint.includes("://") ? endpoint : `http://${endpoint}`)
    if (url.port === "4317" || url.port === "") url.port = "4318"
    url.pathname = "/v1/traces"
    return url.toString()
  } catch {
    return undefined
  }
}

/** `observability` and `tracing`, resolved; problems go to the collector. */
export const resolveObservability = (
  tree: Record<string, unknown>,
  collector: Collector,
  warnings: Array<string>
): ObservabilitySettings => {
  const decoded = hasOwn(tree, "observability")
    ? decodeAt(ObservabilityInput, tree["observability"], ["observability"], collector)
    : undefined
  const rawTracing = tree["tracing"]
  const tracingFields = isRecord(rawTracing)
    ? Object.fromEntries(Object.entries(rawTracing).filter(([key]) => usedTracingKeys.includes(key)))
    : rawTracing
  const tracing = hasOwn(tree, "tracing") && rawTracing !== null
    ? decodeAt(TracingInput, tracingFields, ["tracing"], collector)
    : undefined
  let endpoint = tracing?.otlp_endpoint
  const grpc = tracing?.opentracing_grpc_endpoint
  if (endpoint === undefined && grpc !== undefined) {
    endpoint = fromGrpcEndpoint(grpc)
    if (endpoint === undefined) {
      collector.add(["tracing", "opentracing_grpc_endpoint"], "expected a URL like http://host:4317")
    } else {
      warnings.push(
        `tracing.opentracing_grpc_endpoint: Switchyard exports OTLP/HTTP, so traces go to ${endpoint} ` +
          "(the collector's HTTP port)"
      )
    }
  }
  return {
    accessLog: decoded?.access_log,
    metrics: {
      enabled: decoded?.metrics?.enabled ?? true,
      port: decoded?.metrics?.port,
      address: decoded?.metrics?.address
    },
    tracing: { randomSampling: tracing?.random_sampling, endpoint }
  }
}
