import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import type { ResolvedConfig } from "../config/GatewayConfig.js"
import type { Parts } from "../Gateway.js"
import * as PinCacheIpc from "../pinning/PinCacheIpc.js"
import type { Channel } from "../pinning/PinCacheIpc.js"
import * as TurnPins from "../pinning/TurnPins.js"

/**
 * The worker side of `switchyard up --workers N` (a `node:cluster` worker): its pin stores over IPC, its answers to
 * the primary's metrics requests, and the messages both sides exchange.
 */

/** Worker → primary: the gateway is listening. */
export interface Ready {
  readonly switchyard: "ready"
}

/** Worker → primary: a `/metrics` scrape arrived; primary → worker: the merged text of every worker. */
export interface Scrape {
  readonly switchyard: "scrape"
  readonly id: number
  readonly text?: string | undefined
}

/** Primary → worker: render your own metrics; worker → primary: the rendered text. */
export interface ScrapeLocal {
  readonly switchyard: "scrape-local"
  readonly id: number
  readonly text?: string | undefined
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** Whether a message is the `switchyard` message of kind `kind`. */
export const isMessage = <K extends string>(message: unknown, kind: K): message is { readonly switchyard: K } =>
  isRecord(message) && message["switchyard"] === kind

/** Names of the stores the primary owns. */
export const stores = { sessions: "sessions", turns: "turns" } as const

/** Whether the config keeps pins in memory, so the primary must own them for the workers to agree. */
export const pinsInPrimary = (config: ResolvedConfig): boolean => config.routing.sessionStore?.type !== "redis"

/** The pin parts of a worker: over IPC to the primary when pins are in memory; as configured (Redis) otherwise. */
export const pinParts = (config: ResolvedConfig, channel: Channel): Pick<Parts, "pins" | "turns"> => {
  if (!pinsInPrimary(config)) return {}
  const routing = config.routing
  return {
    pins: PinCacheIpc.layer(channel, { store: stores.sessions, ttlSeconds: routing.sessionTtlSeconds }),
    turns: routing.turnAffinity === false ? undefined : Layer.scoped(
      TurnPins.TurnPins,
      PinCacheIpc.make(channel, {
        store: stores.turns,
        ttlSeconds: routing.turnTtlSeconds ?? TurnPins.defaultTtlSeconds
      })
    )
  }
}

// How long a scrape waits for the primary's merged text before answering with this worker's own.
const scrapeTimeoutMs = 5000

/**
 * The worker's `/metrics` aggregation: a scrape asks the primary, which gathers every worker's own text (this one's
 * included) and merges them. Also answers the primary's requests for this worker's own text.
 */
export const scrapeAggregation = (channel: Channel) =>
  Effect.gen(function*() {
    const runPromise = Runtime.runPromise(yield* Effect.runtime<never>())
    let own: Effect.Effect<string> = Effect.succeed("")
    let nextId = 1
    const pending = new Map<number, (text: string | undefined) => void>()
    const unlisten = channel.listen((message) => {
      if (isMessage(message, "scrape-local")) {
        const { id } = message as ScrapeLocal
        void runPromise(own).then(
          (text) => channel.send({ switchyard: "scrape-local", id, text }),
          () => channel.send({ switchyard: "scrape-local", id, text: "" })
        )
      } else if (isMessage(message, "scrape")) {
        const { id, text } = message as Scrape
        pending.get(id)?.(text)
        pending.delete(id)
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(unlisten))
    const ask = Effect.async<string | undefined>((resume) => {
      const id = nextId++
      pending.set(id, (text) => resume(Effect.succeed(text)))
      if (!channel.send({ switchyard: "scrape", id })) {
        pending.delete(id)
        resume(Effect.succeed(undefined))
      }
      return Effect.sync(() => {
        pending.delete(id)
      })
    })
    return (local: Effect.Effect<string>): Effect.Effect<string> => {
      own = local
      return ask.pipe(
        Effect.timeout(scrapeTimeoutMs),
        Effect.orElseSucceed(() => undefined),
        Effect.flatMap((text) => text === undefined ? local : Effect.succeed(text))
      )
    }
  })
