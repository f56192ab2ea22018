import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Parsed } from "./CliArgs.js"
import { loadConfig } from "./CliArgs.js"
import { CommandFailed, UsageError } from "./CliError.js"
import { out, table } from "./CliOutput.js"
import * as GatewayConfig from "../config/GatewayConfig.js"
import type { ResolvedConfig } from "../config/GatewayConfig.js"

// Imported on demand: these modules are most of the start-up time, and only `route` needs them.
/** The gateway's decision stack (router, pins, providers) without a server. */
const loadDecider = Effect.promise(async () => {
  const [{ Providers }, { RouteDecider }, Router, PinCache, Upstream] = await Promise.all([
    import("../providers/Providers.js"),
    import("../routing/RouteDecider.js"),
    import("../routing/Router.js"),
    import("../pinning/PinCache.js"),
    import("../providers/Upstream.js")
  ])
  const layer = (config: ResolvedConfig) => {
    const base = Layer.mergeAll(Providers.Default, Upstream.layer())
    const services = Layer.mergeAll(Router.layerConfig, PinCache.layerConfig).pipe(Layer.provideMerge(base))
    return RouteDecider.Default.pipe(Layer.provide(services), Layer.provide(GatewayConfig.layer(config)))
  }
  return { RouteDecider, layer }
})

/** `switchyard route`: dry-runs the routing decision for a prompt, with no server and no completion. */
export const route = (parsed: Parsed) =>
  Effect.gen(function*() {
    const [path, ...words] = parsed.positionals
    const prompt = words.join(" ").trim()
    if (path === undefined || prompt === "") {
      return yield* new UsageError({ message: "expected a config file and a prompt", command: "route" })
    }
    const config = yield* loadConfig(path)
    const input = {
      requestedModel: parsed.flags.get("model"),
      sessionKey: undefined,
      inlinePreferences: undefined,
      turns: () => [{ role: "user" as const, content: prompt }]
    }
    const { layer, RouteDecider } = yield* loadDecider
    const selection = yield* Effect.gen(function*() {
      const decider = yield* RouteDecider
      // The gateway compiles its routes once; decide once first so the time shown is a steady-state decision.
      if (config.routing.router.type === "embedded") yield* decider.decide(input)
      return yield* decider.decide(input)
    }).pipe(
      Effect.provide(layer(config)),
      Effect.scoped,
      Effect.mapError((error) => new CommandFailed({ message: `cannot build the router: ${error.message}` }))
    )
    const router = config.routing.router
    const routerName = router.type === "embedded" ? "embedded router" : `llm via ${router.model}`
    const rows: Array<readonly [string, string]> = [
      ["route", selection.route ?? "(none)"],
      ["models", selection.route === null ? "(none)" : selection.candidates.join(", ")],
      ["model", selection.model === "" ? "(none: no default provider)" : selection.model],
      ["reason", selection.reason],
      [
        "confidence",
        selection.confidence === undefined
          ? "n/a"
          : `${selection.confidence.toFixed(2)}${selection.route === null ? " (that no route fits)" : ""}`
      ],
      ["time", `${selection.routingMs.toFixed(3)} ms (${routerName})`]
    ]
    yield* out(table(rows, "").join("\n"))
  })
