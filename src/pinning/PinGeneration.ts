import * as Context from "effect/Context"
import type { RoutePreference } from "../config/GatewayConfig.js"
import type { ModelTarget } from "../providers/Providers.js"
import type { Pin, PinOrigin } from "./PinStore.js"

/**
 * The config generation decisions are made under. A live gateway gives each loaded config a larger one; without it
 * pins carry no origin and a shared store keeps its last-writer-wins behaviour.
 */
export class ConfigGeneration extends Context.Tag("switchyard/ConfigGeneration")<ConfigGeneration, number>() {}

/**
 * What a config makes of a pin: `current` (written under it), `kept` (its provider model and route still exist),
 * `dropped` (re-route it) or `newer` (written by a replica on a newer config: leave it alone).
 */
export type PinVerdict = "current" | "kept" | "dropped" | "newer"

/** The origin a pin decided under `generation` records for `target`. */
export const originOf = (generation: number, target: ModelTarget): PinOrigin => ({
  generation,
  provider: target.provider.provider,
  modelId: target.modelId
})

/** Judges a pin against a config: its model lookup and its routes. */
export const verdict = (
  pin: Pin,
  generation: number | undefined,
  resolve: (model: string) => ModelTarget | undefined,
  routes: ReadonlyArray<RoutePreference>
): PinVerdict => {
  const origin = pin.origin
  if (origin !== undefined && generation !== undefined) {
    if (origin.generation === generation) return "current"
    if (origin.generation > generation) return "newer"
  }
  const target = resolve(pin.model)
  if (target === undefined) return "dropped"
  if (origin === undefined) return "kept"
  if (target.provider.provider !== origin.provider || target.modelId !== origin.modelId) return "dropped"
  if (pin.route !== null && !routes.some((r) => r.name === pin.route)) return "dropped"
  return "kept"
}
