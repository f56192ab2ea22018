import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { EventEmitter } from "node:events"
import type { IncomingHttpHeaders } from "node:http"
import type { Readable } from "node:stream"
import { Agent } from "undici"
import type { Dispatcher } from "undici"

/** One upstream HTTP call. */
export interface UpstreamRequest {
  readonly origin: string
  readonly path: string
  readonly method: "POST" | "GET"
  readonly headers: Record<string, string>
  readonly body: string | Buffer | undefined
  readonly signal: AbortSignal | Cancellation
  /** Bounds the wait for response headers and each gap between body chunks (undici's coarse timers). */
  readonly timeoutMs?: number | undefined
  /** Bounds the wait for response headers only, overriding `timeoutMs` there (one attempt of several). */
  readonly headersTimeoutMs?: number | undefined
}

/**
 * A cancel switch for one upstream call. undici accepts an EventEmitter as its signal; unlike an AbortController it
 * costs no EventTarget and no DOMException per request, which showed up in the hot path's profile.
 */
export class Cancellation extends EventEmitter {
  aborted = false
  abort(): void {
    if (this.aborted) return
    this.aborted = true
    this.emit("abort")
  }
}

/** True when an upstream call failed because its `timeoutMs` elapsed. */
export const isTimeout = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && "code" in cause &&
  (cause.code === "UND_ERR_HEADERS_TIMEOUT" || cause.code === "UND_ERR_BODY_TIMEOUT")

/** The upstream's answer; `body` is a Node stream that must be consumed or destroyed. */
export interface UpstreamResponse {
  readonly statusCode: number
  readonly headers: IncomingHttpHeaders
  readonly body: Readable
}

/**
 * The transport to providers: one keep-alive connection pool per origin. Promise-based on purpose: it sits on the
 * byte path, where an Effect per chunk would cost more than the proxying itself.
 */
export class Upstream extends Context.Tag("switchyard/Upstream")<Upstream, {
  readonly send: (request: UpstreamRequest) => Promise<UpstreamResponse>
}>() {}

export interface UpstreamOptions {
  /** Idle keep-alive sockets are closed after this long. */
  readonly keepAliveTimeoutMs?: number
  /** Max sockets per origin (undefined = unlimited). */
  readonly connectionsPerOrigin?: number
}

/** Builds the undici-backed transport; the pool is closed when the scope closes. */
export const make = (options: UpstreamOptions = {}) =>
  Effect.gen(function*() {
    const agent = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new Agent({
          keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
          keepAliveMaxTimeout: 600_000,
          connections: options.connectionsPerOrigin ?? null,
          // Each call sets its own timeouts (the listener's `timeout`).
          headersTimeout: 0,
          bodyTimeout: 0
        })
      ),
      (agent) => Effect.promise(() => agent.close().catch(() => agent.destroy()))
    )
    const send = (request: UpstreamRequest): Promise<UpstreamResponse> =>
      agent.request({
        origin: request.origin,
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        signal: request.signal,
        headersTimeout: request.headersTimeoutMs ?? request.timeoutMs ?? 0,
        bodyTimeout: request.timeoutMs ?? 0
      } satisfies Dispatcher.RequestOptions) as Promise<UpstreamResponse>
    return Upstream.of({ send })
  })

/** The default transport: undici keep-alive pools. */
export const layer = (options: UpstreamOptions = {}): Layer.Layer<Upstream> => Layer.scoped(Upstream, make(options))

/** Reads a whole upstream body, failing (and dropping the connection) past `limit` bytes. */
export const readBody = (response: UpstreamResponse, limit: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    let size = 0
    response.body.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        response.body.destroy()
        reject(new Error(`upstream body larger than ${limit} bytes`))
      } else parts.push(chunk)
    })
    response.body.once("end", () => resolve(Buffer.concat(parts, size)))
    response.body.once("error", reject)
  })
