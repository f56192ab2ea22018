import * as Effect from "effect/Effect"
import { UpstreamTimeout, UpstreamUnavailable } from "../GatewayError.js"
import { isTimeout } from "../providers/Upstream.js"
import type { Upstream, UpstreamRequest, UpstreamResponse } from "../providers/Upstream.js"

/**
 * One upstream call with no retries (count_tokens, embeddings, Responses): a timeout before headers is an
 * `UpstreamTimeout`, any other transport failure an `UpstreamUnavailable` naming the provider.
 */
export const sendOnce = (
  upstream: Upstream["Type"],
  provider: string,
  request: UpstreamRequest & { readonly timeoutMs: number }
): Effect.Effect<UpstreamResponse, UpstreamTimeout | UpstreamUnavailable> =>
  Effect.tryPromise({
    try: () => upstream.send(request),
    catch: (cause) =>
      isTimeout(cause)
        ? new UpstreamTimeout({ provider, timeoutMs: request.timeoutMs })
        : new UpstreamUnavailable({ provider, reason: cause instanceof Error ? cause.message : "connection failed" })
  })
