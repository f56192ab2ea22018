import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as MutableRef from "effect/MutableRef"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as RateLimiter from "../auth/RateLimiter.js"
import * as ConfigFile from "../config/ConfigFile.js"
import * as ConfigWatch from "../config/ConfigWatch.js"
import type { ConfigIssue } from "../config/ConfigIssue.js"
import * as GatewayConfig from "../config/GatewayConfig.js"
import type { ResolvedConfig } from "../config/GatewayConfig.js"
import * as Gateway from "../Gateway.js"
import { GatewayApp } from "../http/GatewayApp.js"
import { MetricsScrape } from "../http/MetricsScrape.js"
import { PinCache } from "../pinning/PinCache.js"
import * as PinCacheRedis from "../pinning/PinCacheRedis.js"
import { ConfigGeneration, verdict } from "../pinning/PinGeneration.js"
import * as TurnPins from "../pinning/TurnPins.js"
import { Providers } from "../providers/Providers.js"
import * as Upstream from "../providers/Upstream.js"
import { ConversationStore } from "../state/ConversationStore.js"
import * as ConversationStorePostgres from "../state/ConversationStorePostgres.js"

/** A config that was not applied: the same path-named issues as `switchyard check`. */
export class ReloadRejected extends Data.TaggedError("ReloadRejected")<{
  readonly path: string
  readonly issues: ReadonlyArray<ConfigIssue>
}> {
  override get message() {
    return `config ${this.path} not applied: ${this.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`
  }
}

/** What a reload did. */
export interface ReloadReport {
  readonly generation: number
  readonly previousGeneration: number
  /** Session pins that stay (their provider model and route still exist). */
  readonly kept: number
  /** Session pins the new config drops; their next request re-routes with `repinned_config_changed`. */
  readonly dropped: number
  /** Changes that need a restart to apply (the pin store's settings). */
  readonly warnings: ReadonlyArray<string>
}

/** One loaded config with the services built from it. */
interface Generation {
  readonly number: number
  readonly config: ResolvedConfig
  readonly scope: Scope.CloseableScope
  readonly app: GatewayApp
  readonly scrape: MetricsScrape
  inFlight: number
  onIdle: (() => void) | undefined
}

/** Options of a live gateway. */
export interface LiveOptions extends Gateway.Parts {
  /** The address actually bound when it overrides the file's (`--host`): what the app guards is decided by it. */
  readonly host?: string | undefined
  /** How long a replaced generation may keep serving its in-flight requests (default: its listener timeout). */
  readonly drainTimeoutMs?: number | undefined
}

/** The gateway whose config can be replaced while it serves: each config is a generation of the app's services. */
export class LiveGateway extends Context.Tag("switchyard/LiveGateway")<LiveGateway, {
  /** The config file it reloads from. */
  readonly path: string
  readonly current: Effect.Effect<{ readonly generation: number; readonly config: ResolvedConfig }>
  /** Loads the file, validates it, builds the next generation, swaps it in; the running one stays on failure. */
  readonly reload: Effect.Effect<ReloadReport, ReloadRejected>
  /** Node listener serving every request on the generation current when it arrives. */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void
  /** The current generation's metrics scrape (for the separate metrics port). */
  readonly scrape: () => MetricsScrape
}>() {}

const restartOnly = (before: ResolvedConfig, after: ResolvedConfig): Array<string> => {
  const a = before.routing
  const b = after.routing
  const changed = [
    a.sessionTtlSeconds !== b.sessionTtlSeconds ? "routing.session_ttl_seconds" : "",
    a.sessionMaxEntries !== b.sessionMaxEntries ? "routing.session_max_entries" : "",
    a.sessionStore?.url !== b.sessionStore?.url || a.sessionStore?.keyPrefix !== b.sessionStore?.keyPrefix
      ? "routing.session_cache"
      : "",
    a.turnTtlSeconds !== b.turnTtlSeconds ? "routing.turn_ttl_seconds" : ""
  ].filter((c) => c !== "")
  return changed.length === 0 ? [] : [`${changed.join(", ")} changed; the pin store keeps its settings until a restart`]
}

const listenerIssue = (before: ResolvedConfig, after: ResolvedConfig): ConfigIssue | undefined =>
  before.listener.address === after.listener.address && before.listener.port === after.listener.port
    ? undefined
    : {
      path: "listeners",
      message: `the listener address/port cannot change live (running with ${before.listener.address}:` +
        `${before.listener.port}, the file says ${after.listener.address}:${after.listener.port}); restart to apply it`
    }

const mtimeOf = (path: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.stat(path)).pipe(
    Effect.map((info) => Option.match(info.mtime, { onNone: () => 0, onSome: (d) => Math.floor(d.getTime()) })),
    Effect.orElseSucceed(() => 0),
    Effect.provide(NodeFileSystem.layer)
  )

/**
 * Builds a live gateway on the config file `path`, starting from the already loaded `GatewayConfig`. The pin stores
 * and the upstream pool live as long as the layer; providers, router, decider and proxy are rebuilt per config.
 * A generation's number is the file's modification time (or one more than the last), so replicas that load the same
 * file agree on it and a newer file always outranks an older one.
 */
export const make = (path: string, options: LiveOptions = {}) =>
  Effect.gen(function*() {
    const withHost = (config: ResolvedConfig): ResolvedConfig =>
      options.host === undefined ? config : { ...config, listener: { ...config.listener, address: options.host } }
    const initial = withHost(yield* GatewayConfig.GatewayConfig)
    const layerScope = yield* Effect.scope
    // State that must survive a reload (pins, stored conversations, rate-limit buckets, readiness) and the pool.
    const shared = yield* Layer.build(
      Layer.mergeAll(
        options.pins ?? PinCacheRedis.layerConfig,
        options.turns ?? TurnPins.layerConfig,
        options.upstream ?? Upstream.layer(),
        options.conversations ?? ConversationStorePostgres.layerConfig,
        options.rateLimiter ?? RateLimiter.layerConfig,
        options.configWatch ?? ConfigWatch.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer))
      )
    )
    const pins = Context.get(shared, PinCache)
    const sharedParts = Layer.succeedContext(shared)

    const build = (config: ResolvedConfig, number: number) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const layer = Gateway.layerAppWith({
          router: options.router,
          pins: Layer.succeed(PinCache, pins),
          turns: Layer.succeed(TurnPins.TurnPins, Context.get(shared, TurnPins.TurnPins)),
          upstream: Layer.succeed(Upstream.Upstream, Context.get(shared, Upstream.Upstream)),
          conversations: Layer.succeed(ConversationStore, Context.get(shared, ConversationStore)),
          rateLimiter: Layer.succeed(RateLimiter.RateLimiter, Context.get(shared, RateLimiter.RateLimiter)),
          configWatch: Layer.succeed(ConfigWatch.ConfigWatch, Context.get(shared, ConfigWatch.ConfigWatch))
        }).pipe(
          Layer.provide(
            Layer.mergeAll(GatewayConfig.layer(config), Layer.succeed(ConfigGeneration, number), sharedParts)
          )
        )
        const context = yield* Layer.buildWithScope(layer, scope).pipe(
          Effect.tapErrorCause(() => Scope.close(scope, Exit.void))
        )
        const generation: Generation = {
          number,
          config,
          scope,
          app: Context.get(context, GatewayApp),
          scrape: Context.get(context, MetricsScrape),
          inFlight: 0,
          onIdle: undefined
        }
        return { generation, providers: Context.get(context, Providers) }
      })

    const first = yield* build(initial, Math.max(1, yield* mtimeOf(path)))
    const current = MutableRef.make(first.generation)
    const lock = yield* Effect.makeSemaphore(1)
    yield* Effect.addFinalizer(() => Effect.suspend(() => Scope.close(MutableRef.get(current).scope, Exit.void)))

    const drained = (generation: Generation) =>
      Effect.async<void>((resume) => {
        if (generation.inFlight === 0) return resume(Effect.void)
        generation.onIdle = () => resume(Effect.void)
      })

    const retire = (old: Generation) =>
      drained(old).pipe(
        Effect.timeout(options.drainTimeoutMs ?? old.config.listener.timeoutMs),
        Effect.ignore,
        // Also on interruption (the gateway stopping first), so a replaced generation never outlives the layer.
        Effect.ensuring(Scope.close(old.scope, Exit.void)),
        Effect.zipRight(Effect.logDebug("closed a replaced config generation")),
        Effect.annotateLogs({ service: "LiveGateway", generation: old.number }),
        Effect.forkIn(layerScope),
        Effect.asVoid
      )

    const countPins = (providers: Providers, config: ResolvedConfig, number: number) =>
      Effect.gen(function*() {
        let kept = 0
        let dropped = 0
        let cursor: string | undefined
        do {
          const page = yield* pins.list({ limit: 1000, cursor })
          for (const item of page.items) {
            if (verdict(item.pin, number, providers.resolve, config.routingPreferences) === "dropped") dropped++
            else kept++
          }
          cursor = page.nextCursor
        } while (cursor !== undefined)
        return { kept, dropped }
      })

    const reload = lock.withPermits(1)(
      Effect.gen(function*() {
        const old = MutableRef.get(current)
        const loadedFile = yield* ConfigFile.load(path).pipe(
          Effect.provide(NodeFileSystem.layer),
          Effect.mapError((error) => new ReloadRejected({ path, issues: error.issues }))
        )
        const loaded = withHost(loadedFile)
        const moved = listenerIssue(initial, loaded)
        if (moved !== undefined) return yield* new ReloadRejected({ path, issues: [moved] })
        const number = Math.max(old.number + 1, yield* mtimeOf(path))
        const next = yield* build(loaded, number).pipe(
          Effect.mapError((error) =>
            new ReloadRejected({ path, issues: [{ path, message: `cannot start with it: ${error.message}` }] })
          )
        )
        const { dropped, kept } = yield* countPins(next.providers, loaded, number)
        MutableRef.set(current, next.generation)
        yield* retire(old)
        const warnings = restartOnly(initial, loaded)
        yield* Effect.logInfo("config reloaded").pipe(
          Effect.annotateLogs({ generation: number, previous: old.number, pinsKept: kept, pinsDropped: dropped })
        )
        for (const warning of [...warnings, ...loaded.warnings]) yield* Effect.logWarning(warning)
        return { generation: number, previousGeneration: old.number, kept, dropped, warnings }
      }).pipe(
        Effect.tapError((error) =>
          Effect.logWarning("config reload rejected; the running config stays", error.message)
        ),
        Effect.annotateLogs({ service: "LiveGateway", path })
      )
    )

    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      const generation = MutableRef.get(current)
      generation.inFlight++
      res.once("close", () => {
        if (--generation.inFlight === 0 && generation.onIdle !== undefined) generation.onIdle()
      })
      generation.app.listener(req, res)
    }

    const httpApp: GatewayApp["httpApp"] = Effect.suspend(() => MutableRef.get(current).app.httpApp)

    return {
      service: LiveGateway.of({
        path,
        current: Effect.sync(() => {
          const g = MutableRef.get(current)
          return { generation: g.number, config: g.config }
        }),
        reload,
        listener,
        scrape: () => MutableRef.get(current).scrape
      }),
      app: GatewayApp.make({ httpApp, listener })
    }
  })
