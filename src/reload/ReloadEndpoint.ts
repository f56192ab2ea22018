import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import { timingSafeEqual } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { renderError, renderGatewayError, Unauthorized } from "../GatewayError.js"
import type { LiveGateway } from "./LiveGateway.js"

/** The reload endpoint's path. */
export const path = "/admin/v1/config/reload"

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

const send = (res: ServerResponse, status: number, body: string) => {
  if (res.headersSent) return
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}

/** True for the requests `handle` answers. */
export const matches = (req: IncomingMessage): boolean =>
  req.method === "POST" && req.url !== undefined && req.url.split("?")[0] === path

/**
 * `POST /admin/v1/config/reload`: reloads the config file. Guarded by `routing.admin_key` when set (as the pins API
 * is). 200 with the new generation and the pins kept and dropped; 400 with the path-named issues when the file is
 * not applied (the running config stays).
 */
export const make = (live: LiveGateway["Type"], runtime: Runtime.Runtime<never>) => {
  const runFork = Runtime.runFork(runtime)
  const program = (req: IncomingMessage, res: ServerResponse) =>
    Effect.gen(function*() {
      const { config } = yield* live.current
      const adminKey = config.routing.adminKey
      const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")
      if (adminKey !== undefined && (match === null || !sameSecret(match[1]!, Redacted.value(adminKey)))) {
        const rendered = renderGatewayError("openai", new Unauthorized())
        return send(res, rendered.status, rendered.body)
      }
      const result = yield* Effect.either(live.reload)
      if (result._tag === "Left") {
        const error = result.left
        const body = JSON.parse(
          renderError("openai", 400, "invalid_request_error", "invalid_config", error.message).body
        ) as { error: Record<string, unknown> }
        body.error.issues = error.issues
        return send(res, 400, JSON.stringify(body))
      }
      const report = result.right
      send(
        res,
        200,
        JSON.stringify({
          object: "config.reload",
          status: "reloaded",
          path: live.path,
          generation: report.generation,
          previous_generation: report.previousGeneration,
          pins: { kept: report.kept, dropped: report.dropped },
          warnings: report.warnings
        })
      )
    })
  return (req: IncomingMessage, res: ServerResponse): void => {
    // The body carries nothing; drain it so the connection can be reused.
    req.resume()
    runFork(program(req, res))
  }
}
