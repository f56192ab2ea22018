import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import cluster from "node:cluster"
import type { Worker } from "node:cluster"
import * as GatewayConfig from "../config/GatewayConfig.js"
import type { ResolvedConfig } from "../config/GatewayConfig.js"
import { setPinGauges } from "../observability/GatewayMetrics.js"
import * as PrometheusMerge from "../observability/PrometheusMerge.js"
import * as PrometheusText from "../observability/PrometheusText.js"
import * as PinCache from "../pinning/PinCache.js"
import type { PinCacheService } from "../pinning/PinCache.js"
import * as PinCacheIpc from "../pinning/PinCacheIpc.js"
import * as TurnPins from "../pinning/TurnPins.js"
import type { Scrape, ScrapeLocal } from "./CliWorker.js"
import { workerEnv } from "./CliArgs.js"
import { isMessage, pinsInPrimary, stores } from "./CliWorker.js"

/**
 * The primary of `switchyard up --workers N`: forks N `node:cluster` workers on one port (the primary accepts and
 * hands connections round-robin), owns the in-memory pin stores they share over IPC, merges their `/metrics`,
 * forwards SIGHUP, replaces a worker that dies (with backoff) and, on SIGINT/SIGTERM, lets every worker drain.
 */

/** A worker that could not start (the gateway itself failed: the port is taken, the address refused, …). */
export class WorkerStartFailed extends Data.TaggedError("WorkerStartFailed")<{
  readonly worker: number
  readonly code: number | null
  readonly signal: string | null
}> {
  override get message() {
    return `worker ${this.worker} exited (${this.signal ?? `code ${this.code}`}) before it was listening`
  }
}

/** How the primary runs its workers. */
export interface ClusterOptions {
  readonly workers: number
  /** How long shutdown waits for workers to drain before killing them (default 15 s). */
  readonly drainTimeoutMs?: number | undefined
}

// A worker that dies again soon after a restart waits longer each time (100 ms doubling, up to 30 s); one that ran
// this long counts as healthy again.
const backoffBaseMs = 100
const backoffMaxMs = 30_000
const healthyAfterMs = 30_000
const gatherTimeoutMs = 2000
const pinGauges = new Set(["switchyard_pins_size", "switchyard_pins_capacity"])

interface Slot {
  readonly number: number
  worker: Worker | undefined
  ready: boolean
  startedAt: number
  crashes: number
}

const sharedStateWarnings = (config: ResolvedConfig, workers: number): Array<string> => [
  ...(config.rateLimits !== undefined && config.routing.sessionStore?.type !== "redis"
    ? [`ratelimits are counted per worker in memory (${workers} workers: up to ${workers}× the limit); ` +
      "use routing.session_cache type redis to share them"]
    : []),
  ...(config.stateStorage?.type === "memory"
    ? ["state_storage memory is per worker: a previous_response_id may not be found on another worker; use postgres"]
    : [])
]

const primaryStores = (config: ResolvedConfig) =>
  Effect.gen(function*() {
    const owned: Record<string, PinCacheService> = {}
    if (!pinsInPrimary(config)) return owned
    const context = yield* Layer.build(
      Layer.merge(PinCache.layerConfig, TurnPins.layerConfig).pipe(Layer.provide(GatewayConfig.layer(config)))
    )
    owned[stores.sessions] = Context.get(context, PinCache.PinCache)
    owned[stores.turns] = Context.get(context, TurnPins.TurnPins)
    return owned
  })

/** Runs the cluster until interrupted (then drains every worker), or fails when a first worker cannot start. */
export const run = (config: ResolvedConfig, options: ClusterOptions) =>
  Effect.gen(function*() {
    const pins = yield* primaryStores(config)
    const sessions = pins[stores.sessions]
    const runtime = yield* Effect.runtime<never>()
    const runSync = Runtime.runSync(runtime)
    const runFork = Runtime.runFork(runtime)
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const failed = yield* Deferred.make<never, WorkerStartFailed>()
    const slots: Array<Slot> = Array.from(
      { length: options.workers },
      (_, i) => ({ number: i + 1, worker: undefined, ready: false, startedAt: 0, crashes: 0 })
    )
    let stopping = false
    let anyReady = false
    let gatherId = 1
    const gathers = new Map<number, { texts: Map<number, string>; done: () => void }>()

    const live = () => slots.flatMap((s) => s.worker === undefined ? [] : [[s, s.worker] as const])

    const ownText = Effect.gen(function*() {
      if (sessions !== undefined) {
        const stats = yield* sessions.stats
        setPinGauges(stats.size, stats.capacity)
      }
      return PrometheusText.render()
    })

    // Every worker's own text (those that answer in time) plus the primary's (the pin stores' counters).
    const gather = Effect.suspend(() => {
      const id = gatherId++
      const texts = new Map<number, string>()
      const targets = live().filter(([, w]) => w.isConnected())
      const all = Effect.async<void>((resume) => {
        gathers.set(id, {
          texts,
          done: () => {
            if (texts.size === targets.length) resume(Effect.void)
          }
        })
        for (const [, worker] of targets) worker.send({ switchyard: "scrape-local", id } satisfies ScrapeLocal)
        if (targets.length === 0) resume(Effect.void)
      })
      return all.pipe(
        Effect.timeout(gatherTimeoutMs),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => gathers.delete(id))),
        Effect.as(texts)
      )
    })

    const scrape = (worker: Worker, id: number) =>
      Effect.gen(function*() {
        const texts = yield* gather
        const own = yield* ownText
        const text = PrometheusMerge.merge(
          "worker",
          [
            ...[...texts].sort(([a], [b]) => a - b).map(([n, t]) => ({ value: String(n), text: t })),
            { value: "primary", text: own }
          ],
          // Workers read the pin gauges from the primary's store: reported once, by the primary.
          (family, value) => sessions !== undefined && value !== "primary" && pinGauges.has(family)
        )
        if (worker.isConnected()) worker.send({ switchyard: "scrape", id, text } satisfies Scrape)
      })

    const onMessage = (slot: Slot, worker: Worker) => (message: unknown) => {
      if (PinCacheIpc.isRequests(message)) {
        // The memory stores answer synchronously; the replies of a batch go back as one message.
        const replies = runSync(PinCacheIpc.answerAll(pins, message))
        if (worker.isConnected()) worker.send(replies)
      } else if (isMessage(message, "scrape")) {
        runFork(scrape(worker, (message as Scrape).id))
      } else if (isMessage(message, "scrape-local")) {
        const { id, text } = message as ScrapeLocal
        const pending = gathers.get(id)
        if (pending !== undefined) {
          pending.texts.set(slot.number, text ?? "")
          pending.done()
        }
      } else if (isMessage(message, "ready")) {
        slot.ready = true
        anyReady = true
      }
    }

    const fork = (slot: Slot) => {
      const worker = cluster.fork({ [workerEnv]: String(slot.number) })
      slot.worker = worker
      slot.ready = false
      slot.startedAt = now()
      worker.on("message", onMessage(slot, worker))
      // A send racing the worker's exit fails with an 'error' event; the exit itself is handled below.
      worker.on("error", () => {})
      worker.once("online", () =>
        runFork(Effect.logInfo("worker started").pipe(
          Effect.annotateLogs({ service: "CliCluster", worker: slot.number, pid: worker.process.pid })
        )))
      worker.once("exit", (code, signal) => runFork(onExit(slot, worker, code, signal)))
    }

    const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null) =>
      Effect.gen(function*() {
        if (slot.worker === worker) slot.worker = undefined
        const annotations = { service: "CliCluster", worker: slot.number, pid: worker.process.pid, code, signal }
        if (stopping) return yield* Effect.logInfo("worker stopped").pipe(Effect.annotateLogs(annotations))
        if (!slot.ready && !anyReady) {
          yield* Effect.logWarning("worker could not start; stopping").pipe(Effect.annotateLogs(annotations))
          return yield* Deferred.fail(failed, new WorkerStartFailed({ worker: slot.number, code, signal }))
        }
        yield* Effect.logWarning("worker exited; replacing it").pipe(Effect.annotateLogs(annotations))
        slot.crashes = now() - slot.startedAt > healthyAfterMs ? 0 : slot.crashes + 1
        const delay = slot.crashes === 0 ? 0 : Math.min(backoffMaxMs, backoffBaseMs * 2 ** (slot.crashes - 1))
        yield* Effect.sleep(Duration.millis(delay))
        if (!stopping && slot.worker === undefined) fork(slot)
      })

    const stopAll = Effect.gen(function*() {
      stopping = true
      const running = live()
      yield* Effect.logInfo("stopping; workers drain their in-flight requests").pipe(
        Effect.annotateLogs({ service: "CliCluster", workers: running.length })
      )
      const exited = running.map(([, worker]) =>
        Effect.async<void>((resume) => {
          if (worker.isDead()) return resume(Effect.void)
          worker.once("exit", () => resume(Effect.void))
          worker.process.kill("SIGTERM")
        })
      )
      yield* Effect.all(exited, { concurrency: "unbounded", discard: true }).pipe(
        Effect.timeout(options.drainTimeoutMs ?? 15_000),
        Effect.catchAll(() =>
          Effect.logWarning("workers did not drain in time; killing them").pipe(
            Effect.zipRight(Effect.sync(() => {
              for (const [, worker] of live()) worker.process.kill("SIGKILL")
            }))
          )
        )
      )
    })

    for (const warning of sharedStateWarnings(config, options.workers)) yield* Effect.logWarning(warning)
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const onHangup = () => {
          for (const [, worker] of live()) worker.process.kill("SIGHUP")
        }
        process.on("SIGHUP", onHangup)
        for (const slot of slots) fork(slot)
        return onHangup
      }),
      (onHangup) => Effect.sync(() => process.off("SIGHUP", onHangup)).pipe(Effect.zipRight(stopAll))
    )
    return yield* Deferred.await(failed)
  }).pipe(Effect.scoped, Effect.annotateLogs({ service: "CliCluster" }))
