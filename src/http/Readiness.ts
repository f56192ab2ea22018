import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { Access } from "../auth/Access.js"
import { ConfigWatch } from "../config/ConfigWatch.js"

/**
 * `GET /readyz`: 200 when the config file still loads, the router is built (it is, once this route exists) and the
 * Redis store answers (or `auth.fail_open` lets requests through without it); 503 otherwise. `/healthz` stays 200.
 */
export const layer = HttpLayerRouter.use((router) =>
  Effect.gen(function*() {
    const access = yield* Access
    const watch = yield* ConfigWatch
    yield* router.add(
      "GET",
      "/readyz",
      Effect.gen(function*() {
        const [config, store] = yield* Effect.all([watch.status, access.readiness], { concurrency: 2 })
        const ready = config.ok && store.ready
        const redis = store.store === "memory"
          ? "not configured"
          : store.reachable
          ? "ok"
          : store.ready
          ? "unreachable (fail-open)"
          : "unreachable"
        const body = {
          status: ready ? "ready" : "unready",
          checks: {
            config: !config.ok
              ? "reload failed"
              : config.changed
              ? "loaded (file changed; restart to apply)"
              : "loaded",
            router: "ready",
            redis
          },
          ...(config.ok ? {} : { config_error: config.error })
        }
        return HttpServerResponse.unsafeJson(body, { status: ready ? 200 : 503 })
      })
    )
  })
)
