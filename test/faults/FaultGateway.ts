import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Router } from "../../src/routing/Router.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

/** A router that always picks the first route: the fault tests are about what happens after the decision. */
export const firstRoute = Layer.succeed(
  Router,
  Router.of({
    kind: "custom",
    decide: (routes) =>
      Effect.succeed({
        route: routes[0]?.name ?? null,
        models: routes[0]?.models ?? [],
        confidence: 1,
        failed: false,
        reason: routes.length > 0 ? "routed" : "no_match",
        error: undefined,
        latencyMs: 0
      })
  })
)

export interface FaultConfig {
  /** Provider blocks (`provider(...)` lines). */
  readonly providers: string
  /** Models of the single route, ranked. */
  readonly route: ReadonlyArray<string>
  readonly timeout?: string
  readonly maxRetries?: number
  /** Extra keys under `routing:` (indented two spaces). */
  readonly routing?: string
}

/** A gateway with one route over the given models and the first-route router. */
export const startFaultGateway = (config: FaultConfig): Promise<TestGateway> =>
  startGateway(
    `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
    timeout: ${config.timeout ?? "5s"}
${config.maxRetries === undefined ? "" : `    max_retries: ${config.maxRetries}\n`}model_providers:
${config.providers}
routing_preferences:
  - name: general
    description: anything at all
    models:
${config.route.map((m) => `      - ${m}`).join("\n")}
routing:
  admin_key: admin-secret
${config.routing ?? ""}
`,
    { router: firstRoute }
  )

/** The gateway's `GET /admin/v1/targets` rows by name. */
export const targets = async (url: string): Promise<Record<string, { state: string; recent_failures: number }>> => {
  const response = await fetch(`${url}/admin/v1/targets`, { headers: { authorization: "Bearer admin-secret" } })
  const body = await response.json() as { data: Array<{ name: string; state: string; recent_failures: number }> }
  return Object.fromEntries(body.data.map((row) => [row.name, row]))
}

/** A session pin as the pins API shows it. */
export const pinOf = async (url: string, session: string) => {
  const response = await fetch(`${url}/v1/routing/sessions/${session}`, {
    headers: { authorization: "Bearer admin-secret" }
  })
  return await response.json() as { model: string; migrations: Array<{ from: string; to: string; reason: string }> }
}
