/** The `x-routing-*` headers of a gateway response. */
export interface RoutingHeaders {
  readonly model: string | null
  readonly route: string | null
  readonly reason: string | null
  readonly pin: string | null
}

/** Reads the routing headers of a response. */
export const routingOf = (response: Response): RoutingHeaders => ({
  model: response.headers.get("x-routing-model"),
  route: response.headers.get("x-routing-route"),
  reason: response.headers.get("x-routing-reason"),
  pin: response.headers.get("x-routing-pin")
})

/** The routing headers a test expects. */
export const want = (model: string, route: string | null, reason: string, pin: string): RoutingHeaders => ({
  model,
  route,
  reason,
  pin
})
