import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Tracer from "effect/Tracer"
import { createHash, randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { GatewayConfig } from "../config/GatewayConfig.js"
import { GatewayMetrics } from "./GatewayMetrics.js"
import { type LineSink, stdoutSink } from "./JsonLogger.js"
import type { Usage } from "./UsageTap.js"
import { UsageTap } from "./UsageTap.js"

/** The API family of a model endpoint (the `api` label). */
export type Api = "chat" | "messages" | "routing"

/** How an upstream call failed (the `kind` label of `switchyard_upstream_errors_total`). */
export type UpstreamErrorKind = "connect" | "timeout" | "4xx" | "5xx" | "stream_aborted"

const requestIdPattern = /^[\x21-\x7e]{1,200}$/

/** The client's `x-request-id` when it is printable ASCII (≤ 200 bytes), else a new UUID. */
export const requestIdOf = (req: IncomingMessage): string => {
  const given = req.headers["x-request-id"]
  return typeof given === "string" && requestIdPattern.test(given) ? given : randomUUID()
}

/** A one-way digest of a session key for logs and spans: correlates requests without revealing the id. */
export const sessionHash = (key: string): string => createHash("sha256").update(key).digest("hex").slice(0, 16)

/**
 * Everything known about one request, filled in as it goes and recorded once when its response closes: one place
 * for every label, so new fields (retries, attempts) are one assignment and one column.
 */
export class RequestRecord {
  api: Api | undefined
  /** The served model (for the log) and its bounded label (a wildcard provider's pattern, `none` when undecided). */
  model: string | undefined = undefined
  modelLabel = "none"
  provider = "none"
  route: string | null = null
  routeLabel = "none"
  reason = "none"
  pin = "none"
  requestedModel: string | undefined = undefined
  sessionKey: string | undefined = undefined
  routingMs: number | undefined = undefined
  upstreamStartNs: bigint | undefined = undefined
  ttfbNs: bigint | undefined = undefined
  upstreamError: UpstreamErrorKind | undefined = undefined
  tap: UsageTap | undefined = undefined
  usage: Usage | undefined = undefined
  bytesIn = 0
  /** The request span when the request is traced. */
  span: Tracer.Span | undefined = undefined
  settled = false
  finished = false
  constructor(readonly requestId: string, readonly startNs: bigint, api: Api | undefined) {
    this.api = api
  }
}

/** Options of the observer: metrics on or off, and where access-log lines go (none: no access log). */
export interface ObserverOptions {
  readonly metrics: boolean
  readonly accessLog: LineSink | undefined
}

const statusClass = (status: number): string =>
  status >= 500 ? "5xx" : status >= 400 ? "4xx" : status >= 300 ? "3xx" : status >= 200 ? "2xx" : "1xx"

const seconds = (ns: bigint): number => Number(ns) / 1e9
const millis = (ns: bigint | undefined): number | undefined =>
  ns === undefined ? undefined : Math.round(Number(ns) / 1e3) / 1e3

const pathOf = (url: string | undefined): string => {
  if (url === undefined) return ""
  const q = url.indexOf("?")
  // The query string may carry secrets (`?key=`); only the path is logged.
  return (q < 0 ? url : url.slice(0, q)).slice(0, 200)
}

let lastMs = -1
let lastIso = ""

/** ISO time of a millisecond, reused while requests finish within the same one. */
const isoAt = (ms: number): string => {
  if (ms !== lastMs) {
    lastMs = ms
    lastIso = new Date(ms).toISOString()
  }
  return lastIso
}

const text = (key: string, value: string | undefined): string =>
  value === undefined ? "" : `,"${key}":${JSON.stringify(value)}`
const num = (key: string, value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? "" : `,"${key}":${value}`

/**
 * One access-log line: the same JSON as stringifying an object with these keys (undefined ones left out), built as a
 * string because it runs for every request.
 */
const accessLine = (
  record: RequestRecord,
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  end: bigint,
  usage: Usage | undefined,
  written: number
): string => {
  const routed = record.api !== undefined
  return `{"time":"${isoAt(Number(end / 1_000_000n))}","level":"info","msg":"request"` +
    text("request_id", record.requestId) +
    text("method", req.method) +
    text("path", pathOf(req.url)) +
    num("status", status) +
    num("duration_ms", millis(end - record.startNs)) +
    num("upstream_ttfb_ms", millis(record.ttfbNs)) +
    num(
      "gateway_ms",
      millis(record.upstreamStartNs === undefined ? undefined : record.upstreamStartNs - record.startNs)
    ) +
    text("api", record.api) +
    text("model", record.model) +
    text("provider", record.provider === "none" ? undefined : record.provider) +
    text("route", record.route ?? undefined) +
    text("reason", routed ? record.reason : undefined) +
    text("pin", routed ? record.pin : undefined) +
    text("session", record.sessionKey === undefined ? undefined : sessionHash(record.sessionKey)) +
    num("tokens_in", usage?.inputTokens) +
    num("tokens_out", usage?.outputTokens) +
    num("bytes_in", record.bytesIn) +
    num("bytes_out", written) +
    text("client", req.socket.remoteAddress) +
    text("trace_id", record.span?.traceId) +
    text("upstream_error", record.upstreamError) +
    (res.writableFinished ? "" : `,"aborted":true`) +
    "}"
}

/** Records finished requests into the metrics, the access log and the request span. */
export class RequestObserver extends Context.Tag("switchyard/RequestObserver")<RequestObserver, {
  /** Starts a record: sets `x-request-id` on the response and records the request when the response closes. */
  readonly begin: (req: IncomingMessage, res: ServerResponse, api: Api | undefined) => RequestRecord
  /** The upstream call is about to be sent. */
  readonly upstreamStarted: (record: RequestRecord) => void
  /** Upstream headers arrived: time to first byte, and the error kind of a 4xx/5xx; taps the body for `usage`. */
  readonly upstreamAnswered: (record: RequestRecord, status: number, body: NodeJS.ReadableStream) => void
  /** Reads the tapped usage and puts the outcome on the span; call once the body has been relayed. */
  readonly settle: (record: RequestRecord) => void
}>() {}

/** The observer with explicit options. */
export const make = (options: ObserverOptions) =>
  Effect.map(Effect.clock, (clock) => {
    const now = () => clock.unsafeCurrentTimeNanos()
    const sink = options.accessLog
    const metrics = options.metrics

    const settle = (record: RequestRecord): void => {
      if (record.settled) return
      record.settled = true
      if (record.tap !== undefined) record.usage = record.tap.usage()
      const span = record.span
      if (span === undefined) return
      const usage = record.usage
      if (usage?.model !== undefined) span.attribute("gen_ai.response.model", usage.model)
      if (usage?.inputTokens !== undefined) span.attribute("gen_ai.usage.input_tokens", usage.inputTokens)
      if (usage?.outputTokens !== undefined) span.attribute("gen_ai.usage.output_tokens", usage.outputTokens)
      if (record.upstreamError !== undefined) span.attribute("error.type", record.upstreamError)
    }

    const finish = (record: RequestRecord, req: IncomingMessage, res: ServerResponse, written: number): void => {
      if (record.finished) return
      record.finished = true
      settle(record)
      const end = now()
      const status = res.headersSent ? res.statusCode : 499
      const usage = record.usage
      if (metrics && record.api !== undefined) {
        const api = record.api
        const cls = statusClass(status)
        GatewayMetrics.requests.inc([api, cls, record.modelLabel, record.routeLabel, record.reason])
        GatewayMetrics.requestDuration.observe([api, cls], seconds(end - record.startNs))
        if (record.upstreamStartNs !== undefined) {
          GatewayMetrics.gatewayOverhead.observe([api], seconds(record.upstreamStartNs - record.startNs))
        }
        if (record.ttfbNs !== undefined) GatewayMetrics.upstreamTtfb.observe([record.provider], seconds(record.ttfbNs))
        const { modelLabel, provider, upstreamError } = record
        if (upstreamError !== undefined) GatewayMetrics.upstreamErrors.inc([provider, upstreamError])
        if (usage?.inputTokens !== undefined) GatewayMetrics.tokens.inc([modelLabel, "input"], usage.inputTokens)
        if (usage?.outputTokens !== undefined) GatewayMetrics.tokens.inc([modelLabel, "output"], usage.outputTokens)
      }
      if (sink === undefined) return
      sink(accessLine(record, req, res, status, end, usage, written))
    }

    const begin = (req: IncomingMessage, res: ServerResponse, api: Api | undefined): RequestRecord => {
      const record = new RequestRecord(requestIdOf(req), now(), api)
      res.setHeader("x-request-id", record.requestId)
      const socket = req.socket
      const writtenBefore = socket.bytesWritten
      const length = Number(req.headers["content-length"])
      if (Number.isFinite(length)) record.bytesIn = length
      res.once("close", () => finish(record, req, res, socket.bytesWritten - writtenBefore))
      return record
    }

    const upstreamStarted = (record: RequestRecord): void => {
      record.upstreamStartNs = now()
    }

    const upstreamAnswered = (record: RequestRecord, status: number, body: NodeJS.ReadableStream): void => {
      if (record.upstreamStartNs !== undefined) record.ttfbNs = now() - record.upstreamStartNs
      if (status >= 500) record.upstreamError = "5xx"
      else if (status >= 400) record.upstreamError = "4xx"
      else if (metrics || sink !== undefined || record.span !== undefined) {
        const tap = new UsageTap()
        record.tap = tap
        body.on("data", tap.onData)
      }
    }

    return RequestObserver.of({ begin, upstreamStarted, upstreamAnswered, settle })
  })

/** The observer with explicit options (tests, embedders). */
export const layer = (options: ObserverOptions): Layer.Layer<RequestObserver> =>
  Layer.effect(RequestObserver, make(options))

/** The observer from `observability`: metrics unless `metrics.enabled: false`; an access log with `access_log: true`. */
export const layerConfig: Layer.Layer<RequestObserver, never, GatewayConfig> = Layer.unwrapEffect(
  Effect.map(GatewayConfig, (config) =>
    layer({
      metrics: config.observability?.metrics.enabled ?? true,
      accessLog: config.observability?.accessLog === true ? stdoutSink : undefined
    }))
)
