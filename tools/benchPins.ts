/**
 * Measures the session pin cache at 10k, 100k and 1M pins (maxEntries = 1M).
 *
 *   npx tsx --expose-gc tools/benchPins.ts [--quick] [--rss-only]
 *
 * Per size: median / p99 / max ns of `get` (get-and-touch, always a hit) and `put` (half existing keys, half new
 * keys; at 1M the new ones evict), each op timed alone with `process.hrtime.bigint()`. Three layers are measured:
 * the service ops run with `Effect.runSync` (what a caller pays), the same with an `Effect.fn` span around them,
 * and the raw `PinStore` calls. Memory per pin = Δ(heapUsed + external) / n across filling the cache, with the
 * keys and model strings allocated (and kept alive) before the first reading, so their bytes are not counted;
 * `external` holds the typed-array backing stores. First, in the fresh process: RSS over idle with 1M pins and
 * its spread from 1.5M to 3M distinct session ids at capacity 1M (`rssAtScale`). Prints tables and writes
 * bench-results/pins.json.
 */
import { Effect, Exit, Scope } from "effect"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as PinCache from "../src/pinning/PinCache.js"

const quick = process.argv.includes("--quick")
// Only the RSS-at-scale part (it runs first either way, so its idle reference is a fresh process).
const scaleOnly = process.argv.includes("--rss-only")
const sizes = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]
const samples = quick ? 50_000 : 200_000
const maxEntries = 1_000_000
const models = ["openai/gpt-4o", "anthropic/claude-sonnet-4-20250514", "openai/gpt-4o-mini", "groq/llama-3.3-70b"]
const routes = ["code_generation", "complex_reasoning", null]

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error("run with: npx tsx --expose-gc tools/benchPins.ts")
  process.exit(1)
}
const settle = () => {
  for (let i = 0; i < 3; i++) gc()
}
const memory = () => {
  const m = process.memoryUsage()
  return { heap: m.heapUsed, external: m.external }
}

interface Timing {
  readonly medianNs: number
  readonly p99Ns: number
  readonly maxNs: number
}

const timeEach = (n: number, op: (i: number) => void): Timing => {
  const ns = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint()
    op(i)
    ns[i] = Number(process.hrtime.bigint() - start)
  }
  ns.sort()
  return { medianNs: ns[n >> 1]!, p99Ns: ns[Math.floor(n * 0.99)]!, maxNs: ns[n - 1]! }
}

// Times each op inside one running fiber, as in the gateway (an op runs within the request's fiber).
const timeEachInFiber = <A>(n: number, op: (i: number) => Effect.Effect<A>): Timing =>
  Effect.runSync(Effect.gen(function*() {
    const ns = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint()
      yield* op(i)
      ns[i] = Number(process.hrtime.bigint() - start)
    }
    ns.sort()
    return { medianNs: ns[n >> 1]!, p99Ns: ns[Math.floor(n * 0.99)]!, maxNs: ns[n - 1]! }
  }))

const timerOverhead = timeEach(100_000, () => {})

// Deterministic pseudo-random picks so runs compare.
let seed = 42
const random = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  return seed / 2 ** 32
}

// Flat one-byte strings like a header value (`randomUUID()` returns a rope that V8 flattens on first hashing).
const sessionId = () => Buffer.from(randomUUID(), "latin1").toString("latin1")

const target = (i: number): PinCache.PinTarget => ({
  model: models[i % models.length]!,
  route: routes[i % routes.length]!
})

interface Row {
  readonly pins: number
  readonly bytesPerPin: number
  readonly keyBytesPerPin: number
  readonly get: Timing
  readonly getRunSync: Timing
  readonly getTraced: Timing
  readonly put: Timing
  readonly putRunSync: Timing
  readonly putEvictions: number
  readonly rawGet: Timing
  readonly rawPut: Timing
  readonly sweepAllMs: number
}

const measure = async (n: number): Promise<Row> => {
  settle()
  const beforeKeys = memory()
  const keys = Array.from({ length: n }, sessionId)
  const fresh = Array.from({ length: samples }, sessionId)
  settle()
  const afterKeys = memory()
  // Each key costs its string plus a slot in the `keys` array.
  const keyBytesPerPin = (afterKeys.heap - beforeKeys.heap) / (n + samples) - 8

  const scope = Effect.runSync(Scope.make())
  const cache = Effect.runSync(
    PinCache.make({ maxEntries, ttlSeconds: 600, sweepIntervalSeconds: 3600 }).pipe(Scope.extend(scope))
  )
  settle()
  const before = memory()
  for (let i = 0; i < n; i++) Effect.runSync(cache.put(keys[i]!, target(i)))
  settle()
  const after = memory()
  const bytesPerPin = (after.heap - before.heap + after.external - before.external) / n

  const get = timeEachInFiber(samples, () => cache.get(keys[Math.floor(random() * n)]!))
  const getRunSync = timeEach(samples, () => {
    Effect.runSync(cache.get(keys[Math.floor(random() * n)]!))
  })
  const tracedGet = Effect.fn("PinCache.get")((key: string) => cache.get(key))
  const getTraced = timeEachInFiber(samples, () => tracedGet(keys[Math.floor(random() * n)]!))
  const evictionsBefore = Effect.runSync(cache.stats).evictions
  let next = 0
  const mixKey = (i: number) => i % 2 === 0 ? keys[Math.floor(random() * n)]! : fresh[next++]!
  const put = timeEachInFiber(samples / 2, (i) => cache.put(mixKey(i), target(i)))
  const putRunSync = timeEach(samples / 2, (i) => {
    Effect.runSync(cache.put(mixKey(i), target(i)))
  })
  const putEvictions = Effect.runSync(cache.stats).evictions - evictionsBefore
  await Effect.runPromise(Scope.close(scope, Exit.void))

  const store = new PinCache.PinStore({ maxEntries, ttlSeconds: 600 })
  let now = Date.now()
  for (let i = 0; i < n; i++) store.put(keys[i]!, target(i), now)
  const rawGet = timeEach(samples, () => {
    store.get(keys[Math.floor(random() * n)]!, now)
  })
  next = 0
  const rawPut = timeEach(samples, (i) => {
    store.put(mixKey(i), target(i), now)
  })
  now += 600_000
  const sweepStart = process.hrtime.bigint()
  while (store.sweep(now, 10_000) > 0) {
    // batches, as the service's sweep does
  }
  const sweepAllMs = Number(process.hrtime.bigint() - sweepStart) / 1e6

  return {
    pins: n,
    bytesPerPin,
    keyBytesPerPin,
    get,
    getRunSync,
    getTraced,
    put,
    putRunSync,
    putEvictions,
    rawGet,
    rawPut,
    sweepAllMs
  }
}


// RSS at scale: what the process holds for the pins, keys included, as the gateway holds them (a fresh key string
// and a fresh origin object per put, like a decision under `switchyard up`). Marks are in distinct session ids sent
// into a 1M-entry cache; RSS over idle is RSS − RSS before the cache existed; flatness compares the marks from 1.5M
// on (at capacity, every new id evicts one).
interface RssMark {
  readonly sessionIds: number
  readonly pins: number
  readonly rssMb: number
  readonly rssOverIdleMb: number
  /** After three full GCs: the cache without the garbage the fill left in the heap. */
  readonly settledRssMb: number
  readonly heapUsedMb: number
  readonly externalMb: number
}

const rssAtScale = async (
  marks: ReadonlyArray<number>
): Promise<{ readonly idleMb: number; readonly marks: Array<RssMark> }> => {
  const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10
  settle()
  const idle = process.memoryUsage().rss
  const scope = Effect.runSync(Scope.make())
  const cache = Effect.runSync(
    PinCache.make({ maxEntries, ttlSeconds: 3600, sweepIntervalSeconds: 3600 }).pipe(Scope.extend(scope))
  )
  const out: Array<RssMark> = []
  let sent = 0
  for (const mark of marks) {
    for (; sent < mark; sent++) {
      const i = sent
      Effect.runSync(cache.put(sessionId(), {
        model: models[i % models.length]!,
        route: routes[i % routes.length]!,
        origin: { generation: 1, provider: "openai", modelId: "gpt-4o" }
      }))
    }
    const m = process.memoryUsage()
    settle()
    out.push({
      sessionIds: mark,
      pins: Effect.runSync(cache.stats).size,
      rssMb: mb(m.rss),
      rssOverIdleMb: mb(m.rss - idle),
      settledRssMb: mb(process.memoryUsage().rss),
      heapUsedMb: mb(m.heapUsed),
      externalMb: mb(m.external)
    })
  }
  await Effect.runPromise(Scope.close(scope, Exit.void))
  return { idleMb: mb(idle), marks: out }
}

const scaleMarks = quick ? [100_000, 150_000, 200_000, 300_000] : [1_000_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000]
const scaleRss = await rssAtScale(scaleMarks)
const atCapacity = scaleRss.marks.filter((m) => m.sessionIds >= 1.5 * Math.min(...scaleMarks))
const spreadOf = (xs: ReadonlyArray<number>) => xs.length === 0 ? null : Math.max(...xs) / Math.min(...xs) - 1
const flatness = spreadOf(atCapacity.map((m) => m.rssMb))
const settledFlatness = spreadOf(atCapacity.map((m) => m.settledRssMb))
console.log(`RSS at scale (capacity ${maxEntries}; idle ${scaleRss.idleMb} MB before the cache existed):`)
for (const m of scaleRss.marks) {
  console.log(
    `  ${String(m.sessionIds).padStart(9)} ids, ${String(m.pins).padStart(8)} pins: RSS ${m.rssMb} MB,` +
      ` over idle ${m.rssOverIdleMb} MB (heap used ${m.heapUsedMb} MB, external ${m.externalMb} MB);` +
      ` after full GCs ${m.settledRssMb} MB`
  )
}
if (flatness !== null) {
  console.log(
    `  RSS spread from ${atCapacity[0]!.sessionIds} ids on: ${(flatness * 100).toFixed(1)}% (max/min − 1);` +
      ` after full GCs ${((settledFlatness ?? NaN) * 100).toFixed(1)}%`
  )
}

const rows: Array<Row> = []
if (!scaleOnly) for (const n of sizes) rows.push(await measure(n))

const us = (t: Timing) => `${(t.medianNs / 1000).toFixed(2)} / ${(t.p99Ns / 1000).toFixed(2)}`
const pad = (s: string, w: number) => s.padStart(w)
console.log(`node ${process.version}, ${samples} samples per op; timer overhead median ${timerOverhead.medianNs} ns`)
console.log("times in µs as median / p99")
console.log(
  [
    "pins",
    "get",
    "get runSync",
    "get+span",
    "put",
    "put runSync",
    "raw get",
    "raw put",
    "bytes/pin",
    "key B/pin",
    "sweep all ms"
  ]
    .map((h, i) => pad(h, i === 0 ? 9 : 14))
    .join("")
)
for (const r of rows) {
  console.log(
    [
      pad(String(r.pins), 9),
      pad(us(r.get), 14),
      pad(us(r.getRunSync), 14),
      pad(us(r.getTraced), 14),
      pad(us(r.put), 14),
      pad(us(r.putRunSync), 14),
      pad(us(r.rawGet), 14),
      pad(us(r.rawPut), 14),
      pad(r.bytesPerPin.toFixed(0), 14),
      pad(r.keyBytesPerPin.toFixed(0), 14),
      pad(r.sweepAllMs.toFixed(1), 14)
    ].join("")
  )
}
for (const r of rows) {
  console.log(
    `${r.pins}: max get ${(r.get.maxNs / 1e6).toFixed(2)} ms, max put ${(r.put.maxNs / 1e6).toFixed(2)} ms, ` +
      `puts that evicted: ${r.putEvictions}`
  )
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const out = path.join(root, "bench-results", "pins.json")
fs.mkdirSync(path.dirname(out), { recursive: true })
fs.writeFileSync(
  out,
  JSON.stringify(
    {
      node: process.version,
      quick,
      samples,
      maxEntries,
      timerOverheadNs: timerOverhead.medianNs,
      memoryMethod: "(Δ heapUsed + Δ external) / n while filling, keys and model strings allocated beforehand",
      rows,
      rssAtScale: {
        ...scaleRss,
        capacity: maxEntries,
        spreadFromCapacityPct: flatness === null ? null : flatness * 100,
        settledSpreadFromCapacityPct: settledFlatness === null ? null : settledFlatness * 100
      }
    },
    null,
    2
  ) + "\n"
)
console.log(`wrote ${path.relative(root, out)}`)
