/**
 * The cost of a pinned request's lookup in each store a worker of `switchyard up --workers N` could use:
 *
 *   npx tsx tools/benchPinStores.ts [--quick]
 *
 * This script is a `node:cluster` primary owning a memory `PinCache` (as `CliCluster` does) and forks one worker.
 * The worker times `get` (a hit) on 1,000 pinned sessions: in its own memory store (what --workers 1 does), over IPC
 * to the primary (`PinCacheIpc`), and in Redis at 127.0.0.1:6379 (`PinCacheRedis`, a key prefix of this run,
 * deleted after). Each at concurrency 1 (µs per lookup: the latency a request waits) and 32 (lookups per second,
 * batched per turn), with the worker's and the primary's CPU per lookup. Redis's own CPU is not counted.
 */
import { Effect, Exit, Scope } from "effect"
import cluster from "node:cluster"
import { randomBytes } from "node:crypto"
import * as PinCache from "../src/pinning/PinCache.js"
import * as PinCacheIpc from "../src/pinning/PinCacheIpc.js"
import * as PinCacheRedis from "../src/pinning/PinCacheRedis.js"

const quick = process.argv.includes("--quick")
const lookups = quick ? 20_000 : 100_000
const sessions = 1000
const target = { model: "openai/gpt-4o", route: "code_generation" }

interface Row {
  readonly store: string
  readonly concurrency: number
  readonly perSecond: number
  readonly latencyUs: number
  readonly workerCpuUs: number
  readonly primaryCpuUs?: number
}

const cpuMicros = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

const measure = (pins: PinCache.PinCacheService, concurrency: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < sessions; i++) yield* pins.put(`s${i}`, target)
    const run = (n: number) =>
      Effect.forEach(
        Array.from({ length: concurrency }, (_, lane) => lane),
        (lane) =>
          Effect.gen(function*() {
            for (let i = lane; i < n; i += concurrency) yield* pins.get(`s${i % sessions}`)
          }),
        { concurrency: "unbounded", discard: true }
      )
    yield* run(Math.min(lookups, 5000))
    const cpu0 = cpuMicros()
    const t0 = performance.now()
    yield* run(lookups)
    const ms = performance.now() - t0
    const cpu = cpuMicros() - cpu0
    return {
      concurrency,
      perSecond: Math.round(lookups / (ms / 1000)),
      latencyUs: Number(((ms * 1000) / lookups * concurrency).toFixed(1)),
      workerCpuUs: Number((cpu / lookups).toFixed(2))
    }
  })

const primaryCpu = () =>
  new Promise<number>((resolve) => {
    const onMessage = (message: unknown) => {
      if (typeof message === "object" && message !== null && "cpu" in message && typeof message.cpu === "number") {
        process.off("message", onMessage)
        resolve(message.cpu)
      }
    }
    process.on("message", onMessage)
    process.send!({ bench: "cpu" })
  })

const worker = Effect.gen(function*() {
  const rows: Array<Row> = []
  const scope = yield* Scope.make()
  const memory = yield* PinCache.make({ maxEntries: 10_000 }).pipe(Scope.extend(scope))
  const channel = PinCacheIpc.processChannel()!
  const ipc = yield* PinCacheIpc.make(channel, { store: "sessions", ttlSeconds: 600 }).pipe(Scope.extend(scope))
  const prefix = `switchyard-bench-${randomBytes(4).toString("hex")}:`
  const redis = yield* PinCacheRedis.make({ url: "redis://127.0.0.1:6379", ttlSeconds: 600, maxEntries: 10_000, keyPrefix: prefix })
    .pipe(Scope.extend(scope))
  for (const concurrency of [1, 32]) {
    rows.push({ store: "memory (in the worker)", ...(yield* measure(memory, concurrency)) })
    const before = yield* Effect.promise(primaryCpu)
    const row = yield* measure(ipc, concurrency)
    const after = yield* Effect.promise(primaryCpu)
    rows.push({ store: "ipc (primary's memory)", ...row, primaryCpuUs: Number(((after - before) / lookups).toFixed(2)) })
    rows.push({ store: "redis 127.0.0.1:6379", ...(yield* measure(redis, concurrency)) })
  }
  const { Redis } = yield* Effect.promise(() => import("ioredis"))
  const client = new Redis("redis://127.0.0.1:6379")
  const keys = yield* Effect.promise(() => client.keys(`${prefix}*`))
  if (keys.length > 0) yield* Effect.promise(() => client.del(...keys))
  yield* Effect.promise(() => client.quit())
  yield* Scope.close(scope, Exit.void)
  process.send!({ rows })
})

const primary = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const store = yield* PinCache.make({ maxEntries: 10_000 }).pipe(Scope.extend(scope))
  const child = cluster.fork()
  const rows = yield* Effect.async<ReadonlyArray<Row>>((resume) => {
    child.on("message", (message: unknown) => {
      if (PinCacheIpc.isRequests(message)) {
        child.send(Effect.runSync(PinCacheIpc.answerAll({ sessions: store }, message)))
      } else if (typeof message === "object" && message !== null && "bench" in message) {
        child.send({ cpu: cpuMicros() })
      } else if (typeof message === "object" && message !== null && "rows" in message) {
        resume(Effect.succeed(message.rows as ReadonlyArray<Row>))
      }
    })
  })
  child.kill()
  yield* Scope.close(scope, Exit.void)
  console.log(`pinned-request lookups (get, a hit), ${lookups} per row, node ${process.version}`)
  console.table(rows)
})

Effect.runPromise(cluster.isPrimary ? primary : worker).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
