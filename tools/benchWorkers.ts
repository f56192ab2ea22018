// Part 7 of `npm run bench`: `switchyard up --workers N`. The same routed config at --workers 1 (pins in the
// process's memory), --workers 2 (pins in the primary's memory over IPC) and --workers 2 with Redis pins, measured
// in interleaved rounds on the pinned path (c=32, 200 sessions), then a pin-consistency check: sessions asked over
// fresh connections (so the primary spreads them over the workers) with alternating prompts must keep one model.
// The gateway processes are not pinned to a CPU here: the workers need both cores, which they share with the mock
// upstream and the load generator, so the 2-worker figure is bounded by the machine, not by the gateway.
import { readFileSync, writeFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import type { LoadResult, ServerProcess } from "./benchSupport.js"
import { cpuMicros, probe, round, runLoad } from "./benchSupport.js"

/** What part 7 needs from the bench harness. */
export interface WorkersContext {
  readonly quick: boolean
  readonly tmp: string
  readonly gatewayCommand: () => Array<string>
  readonly start: (name: string, command: ReadonlyArray<string>, cpu: number | undefined) => Promise<ServerProcess>
  readonly stop: (server: ServerProcess | undefined) => Promise<void>
  readonly config: string
  readonly log: (message: string) => void
  readonly fail: (message: string) => void
}

export interface WorkersRun {
  readonly variant: string
  readonly round: number
  readonly rps: number | null
  readonly cpuUsPerReq: number | null
}

export interface WorkersConsistency {
  readonly variant: string
  readonly sessions: number
  readonly requests: number
  /** Sessions that were answered by more than one model (must be 0). */
  readonly sessionsWithTwoModels: number
  readonly requestsPerWorker: Record<string, number>
}

export interface WorkersResult {
  readonly runs: Array<WorkersRun>
  readonly summary: Array<{ readonly variant: string; readonly medianRps: number | null; readonly vsW1: number | null }>
  readonly consistency: Array<WorkersConsistency>
}

const chat = (content: string) =>
  JSON.stringify({ model: "openai/mock-model", messages: [{ role: "user", content }], max_tokens: 64 })
const code = chat("Write a Python function that parses a CSV file and returns a list of dicts keyed by the header row.")
const reasoning = chat("Compare PostgreSQL and MongoDB for an e-commerce platform and explain the trade-offs.")

const childrenOf = (pid: number): Array<number> => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter((s) => s !== "")
      .map(Number)
  } catch {
    return []
  }
}

// CPU of the primary and its workers together.
const treeCpu = (pid: number): number | undefined => {
  const own = cpuMicros(pid)
  if (own === undefined) return undefined
  return childrenOf(pid).reduce((sum, child) => sum + (cpuMicros(child) ?? 0), own)
}

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted.length === 0 ? null : sorted[Math.floor(sorted.length / 2)]!
}

const waitListening = async (server: ServerProcess, workers: number) => {
  const deadline = Date.now() + 60_000
  while ((server.output().match(/listening on http/g)?.length ?? 0) < workers) {
    if (Date.now() > deadline) throw new Error(`${server.name}: ${workers} workers did not start:\n${server.output()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

const consistency = async (variant: string, url: string, sessions: number, perSession: number) => {
  const tag = randomBytes(4).toString("hex")
  const perWorker: Record<string, number> = {}
  let split = 0
  await Promise.all(Array.from({ length: sessions }, async (_, s) => {
    const models = new Set<string>()
    for (let i = 0; i < perSession; i++) {
      // One request per connection: each new connection is handed to the next worker.
      const [sample] = await probe({
        url,
        body: i % 2 === 0 ? code : reasoning,
        n: 1,
        warmup: 0,
        headers: () => ({ "x-routing-session-id": `consistency-${tag}-${s}` })
      })
      if (sample === undefined || sample.status !== 200) throw new Error(`${variant}: HTTP ${sample?.status}`)
      models.add(String(sample.headers["x-routing-model"]))
      const worker = String(sample.headers["x-switchyard-worker"] ?? "single")
      perWorker[worker] = (perWorker[worker] ?? 0) + 1
    }
    if (models.size > 1) split++
  }))
  return { variant, sessions, requests: sessions * perSession, sessionsWithTwoModels: split, requestsPerWorker: perWorker }
}

/** Runs part 7 against a mock upstream whose routed config is `context.config`. */
export const workersPart = async (context: WorkersContext): Promise<WorkersResult> => {
  const prefix = `switchyard-bench-workers-${randomBytes(4).toString("hex")}:`
  const redisPins = `  session_cache:\n    type: redis\n    url: redis://127.0.0.1:6379\n    key_prefix: "${prefix}"\n`
  const variants = [
    { name: "workers=1 memory", workers: 1, config: context.config },
    { name: "workers=2 ipc", workers: 2, config: context.config },
    { name: "workers=2 redis", workers: 2, config: context.config + redisPins }
  ]
  const runs: Array<WorkersRun> = []
  const checks: Array<WorkersConsistency> = []
  const servers: Array<{ readonly name: string; readonly server: ServerProcess }> = []
  try {
    for (const variant of variants) {
      const file = join(context.tmp, `workers-${variant.workers}-${servers.length}.yaml`)
      writeFileSync(file, variant.config)
      const command = [...context.gatewayCommand(), "--config", file, "--port", "0", "--workers", String(variant.workers)]
      const server = await context.start(variant.name.replace(/[ =]/g, "-"), command, undefined)
      servers.push({ name: variant.name, server })
      await waitListening(server, variant.workers)
      const url = `${server.origin}/v1/chat/completions`
      let n = 0
      await runLoad({
        url,
        body: code,
        connections: 32,
        amount: context.quick ? 500 : 5000,
        perRequestHeaders: () => ({ "x-routing-session-id": `bench-workers-${n++ % 200}` })
      })
    }
    const rounds = context.quick ? 1 : 4
    const durationS = context.quick ? 1 : 3
    for (let pass = 0; pass < rounds; pass++) {
      for (const { name, server } of servers) {
        let n = 0
        const before = treeCpu(server.pid)
        const load: LoadResult = await runLoad({
          url: `${server.origin}/v1/chat/completions`,
          body: code,
          connections: 32,
          durationS,
          perRequestHeaders: () => ({ "x-routing-session-id": `bench-workers-${n++ % 200}` })
        })
        const after = treeCpu(server.pid)
        if (load.non2xx + load.errors > 0) context.fail(`part 7 ${name}: ${load.non2xx} non-2xx, ${load.errors} errors`)
        const requests = load.ok + load.non2xx
        const cpu = before === undefined || after === undefined || requests === 0 ? null : (after - before) / requests
        runs.push({ variant: name, round: pass, rps: round(load.rps, 0) ?? null, cpuUsPerReq: round(cpu ?? undefined, 1) ?? null })
        context.log(`  ${name} round ${pass}: ${round(load.rps, 0)} req/s, ${round(cpu ?? undefined, 1)} µs CPU/req`)
      }
    }
    for (const { name, server } of servers) {
      checks.push(await consistency(name, `${server.origin}/v1/chat/completions`, context.quick ? 10 : 40, 10))
    }
  } catch (e) {
    context.fail(`part 7: ${e instanceof Error ? e.message : String(e)}`)
  } finally {
    await Promise.all(servers.map(({ server }) => context.stop(server)))
    await clearRedis(prefix)
  }
  const medians = variants.map((v) => ({
    variant: v.name,
    medianRps: median(runs.filter((r) => r.variant === v.name && r.rps !== null).map((r) => r.rps!))
  }))
  const w1 = medians[0]?.medianRps ?? null
  return {
    runs,
    summary: medians.map((m) => ({
      ...m,
      vsW1: m.medianRps === null || w1 === null || w1 === 0 ? null : round(m.medianRps / w1, 2) ?? null
    })),
    consistency: checks
  }
}

const clearRedis = async (prefix: string) => {
  try {
    const { Redis } = await import("ioredis")
    const client = new Redis("redis://127.0.0.1:6379", { lazyConnect: true, maxRetriesPerRequest: 1 })
    client.on("error", () => {})
    await client.connect()
    const keys = await client.keys(`${prefix}*`)
    if (keys.length > 0) await client.del(...keys)
    await client.quit()
  } catch {
    // No Redis: the redis variant failed already and said so.
  }
}
