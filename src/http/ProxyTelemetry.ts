import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Api, RequestRecord } from "../observability/RequestObserver.js"
import { sessionHash } from "../observability/RequestObserver.js"
import { childSpan, inTrace, traceparentOf } from "../observability/Tracing.js"
import type { Tracing } from "../observability/Tracing.js"
import type { ModelTarget } from "../providers/Providers.js"
import type { Selection } from "../routing/RouteDecider.js"

/** The `api` label of a lean-path endpoint. */
export const apiOf = (endpoint: string): Api =>
  endpoint === "chat" ? "chat" : endpoint === "messages" ? "messages" : "routing"

// A wildcard provider serves any model id a client names; its pattern keeps the label's values bounded.
const modelLabel = (target: ModelTarget | undefined): string =>
  target === undefined ? "unknown" : target.provider.wildcard ? target.provider.model : target.name

/** Puts a decision on the record (and the span, when traced). */
export const noteSelection = (
  record: RequestRecord,
  selection: Selection,
  requestedModel: string | undefined,
  inline: boolean,
  sessionKey: string | undefined
): void => {
  record.model = selection.model
  record.modelLabel = modelLabel(selection.target)
  record.provider = selection.target?.provider.provider ?? "unknown"
  record.route = selection.route
  // Inline routing_preferences name routes of the client's choosing: one label for all of them.
  record.routeLabel = selection.route === null ? "none" : inline ? "inline" : selection.route
  record.reason = selection.reason === "requested" && requestedModel === undefined ? "default" : selection.reason
  record.pin = selection.pin
  record.requestedModel = requestedModel
  record.sessionKey = sessionKey
  record.routingMs = selection.routingMs
  const span = record.span
  if (span === undefined) return
  if (requestedModel !== undefined) span.attribute("gen_ai.request.model", requestedModel)
  if (selection.target !== undefined) {
    span.attribute("gen_ai.provider.name", selection.target.provider.provider)
    span.attribute("switchyard.model", selection.model)
  }
  if (selection.route !== null) span.attribute("switchyard.route", selection.route)
  span.attribute("switchyard.reason", record.reason)
  span.attribute("switchyard.pin", selection.pin)
  if (sessionKey !== undefined) span.attribute("switchyard.session_hash", sessionHash(sessionKey))
}

/**
 * The upstream call (until its response headers) as a client span when traced, and the `traceparent` sent with it:
 * that span's when traced, else the client's as it came.
 */
export const upstreamSpan = (req: IncomingMessage, headers: Record<string, string>, modelId: string) =>
<A, E>(call: Effect.Effect<A, E>): Effect.Effect<A, E> => {
  const withHeader = Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (span) => {
    const given = req.headers.traceparent
    if (Option.isSome(span)) headers.traceparent = traceparentOf(span.value)
    else if (typeof given === "string") headers.traceparent = given
    return call
  })
  return childSpan(`chat ${modelId}`, { kind: "client", attributes: { "gen_ai.operation.name": "chat" } })(withHeader)
}

/** A request chosen for tracing: the tracer and the parent to continue (`null`: a new trace). */
export interface Sampled {
  readonly tracer: Tracer.Tracer
  readonly parent: Tracer.ExternalSpan | null
}

/** The head-sampling decision for one request; undefined when it is not traced (always, without a tracer). */
export const sample = (tracing: Tracing["Type"], req: IncomingMessage): Sampled | undefined => {
  const tracer = tracing.tracer
  if (tracer === undefined) return undefined
  const header = req.headers.traceparent
  const parent = tracing.sample(typeof header === "string" ? header : undefined)
  return parent === undefined ? undefined : { tracer, parent }
}

/**
 * Runs one sampled request's program in a server span (unsampled requests never get here: no span at all). The span
 * carries the request id and the GenAI operation; the decision and the usage are added as they are known.
 */
export const traced = <E>(
  sampled: Sampled,
  record: RequestRecord,
  req: IncomingMessage,
  res: ServerResponse,
  self: Effect.Effect<void, E>
): Effect.Effect<void, E> => {
  const { parent, tracer } = sampled
  const path = (req.url ?? "").split("?")[0]!
  return Effect.serviceOption(Tracer.ParentSpan).pipe(
    Effect.flatMap((span) => {
      if (Option.isSome(span) && span.value._tag === "Span") record.span = span.value
      return self
    }),
    inTrace,
    Effect.ensuring(Effect.sync(() => {
      const span = record.span
      if (span !== undefined && res.headersSent) span.attribute("http.response.status_code", res.statusCode)
    })),
    Effect.withSpan(`${req.method ?? "POST"} ${path}`, {
      kind: "server",
      captureStackTrace: false,
      ...(parent === null ? { root: true } : { parent }),
      attributes: {
        "gen_ai.operation.name": record.api === "messages" ? "chat" : record.api === "routing" ? "route" : "chat",
        "http.request.method": req.method ?? "POST",
        "url.path": path,
        "switchyard.request_id": record.requestId
      }
    }),
    Effect.withTracer(tracer)
  )
}
