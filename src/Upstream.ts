import { Context, Effect, Layer } from "effect"
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
  readonly signal: AbortSignal
}

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
          // The listener timeout (an AbortSignal) bounds the whole call; undici's own timers would cut long streams.
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
        signal: request.signal
      } satisfies Dispatcher.RequestOptions) as Promise<UpstreamResponse>
    return Upstream.of({ send })
  })

/** The default transport: undici keep-alive pools. */
export const layer = (options: UpstreamOptions = {}): Layer.Layer<Upstream> => Layer.scoped(Upstream, make(options))
