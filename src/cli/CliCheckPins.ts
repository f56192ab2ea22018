import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import type { Parsed } from "./CliArgs.js"
import { envString } from "./CliArgs.js"
import { CommandFailed } from "./CliError.js"
import * as GatewayConfig from "../config/GatewayConfig.js"
import type { ResolvedConfig } from "../config/GatewayConfig.js"
import type { Pin } from "../pinning/PinCache.js"
import { verdict } from "../pinning/PinGeneration.js"
import { Providers } from "../providers/Providers.js"

const PinJson = Schema.Struct({
  session_id: Schema.String,
  scope: Schema.optional(Schema.String),
  model: Schema.String,
  route: Schema.NullOr(Schema.String),
  generation: Schema.optional(Schema.Number),
  provider: Schema.optional(Schema.String),
  model_id: Schema.optional(Schema.String)
})
type PinJson = typeof PinJson.Type

// The pins API's page, or a saved copy of one (`curl …/v1/routing/sessions > pins.json`), or a bare array of pins.
const PinsJson = Schema.Union(
  Schema.Struct({ data: Schema.Array(PinJson), next_cursor: Schema.optional(Schema.NullOr(Schema.String)) }),
  Schema.Array(PinJson)
)

const decode = (text: string, where: string) =>
  Schema.decodeUnknown(Schema.parseJson(PinsJson))(text).pipe(
    Effect.map((v): { readonly data: ReadonlyArray<PinJson>; readonly next_cursor?: string | null | undefined } =>
      "data" in v ? v : { data: v }
    ),
    Effect.mapError(() => new CommandFailed({ message: `${where} is not a list of pins (the pins API's JSON)` }))
  )

const fetchPage = (url: string, adminKey: string | undefined, cursor: string | undefined) =>
  Effect.tryPromise({
    try: async (signal) => {
      const query = `limit=1000${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
      const response = await fetch(`${url}/v1/routing/sessions?${query}`, {
        headers: adminKey === undefined ? {} : { authorization: `Bearer ${adminKey}` },
        signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)])
      })
      if (response.status === 401) throw new Error("unauthorized: pass --admin-key or set SWITCHYARD_ADMIN_KEY")
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`)
      return response.text()
    },
    catch: (cause) =>
      new CommandFailed({
        message: `cannot read the pins of ${url}: ${cause instanceof Error ? cause.message : String(cause)}`
      })
  }).pipe(Effect.flatMap((text) => decode(text, url)))

const livePins = (url: string, adminKey: string | undefined) =>
  Effect.gen(function*() {
    const pins: Array<PinJson> = []
    let cursor: string | undefined
    do {
      const page = yield* fetchPage(url, adminKey, cursor)
      pins.push(...page.data)
      cursor = page.next_cursor ?? undefined
    } while (cursor !== undefined)
    return pins
  })

const toPin = (json: PinJson): Pin => {
  const pin: Pin = { model: json.model, route: json.route, createdAt: 0, lastUsedAt: 0, hits: 0 }
  return json.generation !== undefined && json.provider !== undefined && json.model_id !== undefined
    ? { ...pin, origin: { generation: json.generation, provider: json.provider, modelId: json.model_id } }
    : pin
}

/**
 * `check --against URL` / `check --pins FILE`: which live pins the config would drop on reload (their model, its
 * provider model id, or their route is gone), so they would re-route with `repinned_config_changed`.
 */
export const checkPins = (parsed: Parsed, config: ResolvedConfig) =>
  Effect.gen(function*() {
    const against = parsed.flags.get("against")?.replace(/\/+$/, "")
    const file = parsed.flags.get("pins")
    const adminKey = parsed.flags.get("admin-key") ?? (yield* envString("SWITCHYARD_ADMIN_KEY"))
    const pins = file !== undefined
      ? yield* Effect.tryPromise({
        try: () => readFile(file, "utf8"),
        catch: () => new CommandFailed({ message: `cannot read ${file}` })
      }).pipe(Effect.flatMap((text) => decode(text, file)), Effect.map((page) => page.data))
      : yield* livePins(against ?? "", adminKey)
    const providers = yield* Effect.provide(
      Providers,
      Providers.Default.pipe(Layer.provide(GatewayConfig.layer(config)))
    )
    const dropped: Array<readonly [string, string]> = []
    for (const json of pins) {
      const pin = toPin(json)
      if (verdict(pin, undefined, providers.resolve, config.routingPreferences) !== "dropped") continue
      const target = providers.resolve(pin.model)
      const why = target === undefined
        ? `model ${pin.model} is no longer served`
        : pin.origin !== undefined &&
            (target.provider.provider !== pin.origin.provider || target.modelId !== pin.origin.modelId)
        ? `${pin.model} now means ${target.provider.provider}/${target.modelId}`
        : `route ${pin.route} is gone`
      const who = json.scope === undefined ? json.session_id : `${json.scope}/${json.session_id}`
      dropped.push([who, why])
    }
    return { total: pins.length, dropped, source: file ?? against ?? "" }
  })
