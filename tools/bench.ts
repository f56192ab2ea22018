// `npm run bench`: the gateway's own reproducible overhead benchmark, on loopback, in one run.
//
// usage: tsx tools/bench.ts [--quick] [--out DIR] [--gateway-cmd "CMD ARGS"] [--parts 1,2,3,4,6,7,8] [--pins-fill proxy]
//        [--gc-variants "--max-semi-space-size=32;--max-semi-space-size=64"]
//
// Starts, each in its own child process: a mock OpenAI upstream (tools/benchMockUpstream.ts), a bare node:http
// baseline proxy doing the same JSON work (tools/benchBaseline.ts), and the gateway built from this checkout
// (`node dist/main.js --config FILE --port 0`, or `--gateway-cmd`, which gets `--config FILE --port 0` appended) with
// generated configs. Where taskset works, proxies run on CPU 0 and the mock + load generator (this process) on CPU 1.
// Measures: (1) proxy overhead json/stream at c=1 and c=32, (2) streaming time to first token, (3) routing decision
// time per path, (4) the pin cache at scale, (5) memory, (6) the CPU cost of metrics + access log and of tracing
// configured with sampling 0, (7) `--workers 1` vs `--workers 2` req/s and pin consistency (tools/benchWorkers.ts),
// (8) tail latency and GC pauses (`--trace-gc`) in a 30 s c=32 run against the baseline (tools/benchGc.ts).
// Prints tables and writes OUT/latest.json plus a timestamped
// copy. Exits non-zero when any part failed to run (speed is never asserted).
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { GcRow } from "./benchGc.js"
import { gcPart } from "./benchGc.js"
import type { LoadResult, ProbeSample, ServerProcess } from "./benchSupport.js"
import type { WorkersResult } from "./benchWorkers.js"
import { workersPart } from "./benchWorkers.js"
import {
  canPin,
  cpuMicros,
  headerCounts,
  peakRssKb,
  percentile,
  pinProcess,
  probe,
  round,
  routingDurationMs,
  rssKb,
  rssSampler,
  runLoad,
  startServer
} from "./benchSupport.js"

// ---------------------------------------------------------------------------------------------------------------
// options

const argv = process.argv.slice(2)
const argValue = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i < 0 ? undefined : argv[i + 1]
}
const quick = argv.includes("--quick")
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const outDir = resolve(argValue("--out") ?? "bench-results")
const gatewayCmdArg = argValue("--gateway-cmd")
const pinsFill = argValue("--pins-fill") === "proxy" ? "proxy" : "decision"
const parts = new Set((argValue("--parts") ?? "1,2,3,4,6,7,8").split(",").map((p) => Number(p.trim())))
// Part 8: V8 flag sets for extra gateway runs, separated by ";".
const gcVariants = (argValue("--gc-variants") ?? "").split(";").map((v) => v.trim()).filter((v) => v.length > 0)

const settings = quick
  ? {
    durationS: 1,
    warmS: 0.3,
    concurrencies: [1, 32],
    probeN: 200,
    probeWarm: 50,
    routingN: 300,
    scaleConnections: 64,
    scaleCapacity: 1_000_000,
    startupWarm: 200,
    scaleWarmup: 2_000,
    scaleWindow: 10_000,
    scaleMilestones: [10_000, 50_000]
  }
  : {
    durationS: 5,
    warmS: 1,
    concurrencies: [1, 32],
    probeN: 2000,
    probeWarm: 200,
    routingN: 2000,
    scaleConnections: 64,
    scaleCapacity: 1_000_000,
    startupWarm: 3_000,
    scaleWarmup: 20_000,
    scaleWindow: 20_000,
    scaleMilestones: [10_000, 100_000, 1_000_000, 1_500_000, 2_000_000, 3_000_000]
  }

const cpuCount = availableParallelism()
const pinning = canPin(cpuCount)
const gatewayCpu = pinning ? 0 : undefined
const harnessCpu = pinning ? 1 : undefined
// The load generator runs in this process: keep it off the proxies' CPU.
if (harnessCpu !== undefined) pinProcess(process.pid, harnessCpu)

const startedAt = new Date()
const loadAtStart = loadavg()
const t0 = Date.now()
const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1)
const log = (message: string) => process.stderr.write(`[bench ${elapsed()}s] ${message}\n`)
const failures: Array<string> = []
const fail = (message: string) => {
  failures.push(message)
  log(`FAILED: ${message}`)
}
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))

// ---------------------------------------------------------------------------------------------------------------
// request bodies and configs

const chatBody = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    model: "openai/mock-model",
    messages: [{ role: "system", content: "You are a helpful assistant." }, { role: "user", content }],
    temperature: 0.2,
    max_tokens: 64,
    ...extra
  })
const seaPrompt = "Give me one sentence about the sea, please. Keep it short and plain."
const codePrompt =
  "Write a Python function that parses a CSV file and returns a list of dicts keyed by the header row, " +
  "with type hints and a docstring."
const bodies = {
  json: chatBody(seaPrompt),
  stream: chatBody(seaPrompt, { stream: true }),
  code: chatBody(codePrompt),
  small: JSON.stringify({ model: "openai/mock-model", messages: [{ role: "user", content: "hi" }] })
}
/** `/v1/responses` bodies for the same prompt, served by a chat-completions provider (translated both ways). */
const responsesBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    model: "mistral/mock-translated",
    instructions: "You are a helpful assistant.",
    input: seaPrompt,
    temperature: 0.2,
    max_output_tokens: 64,
    store: false,
    ...extra
  })
const responsesBodies = { "responses": responsesBody(), "responses-stream": responsesBody({ stream: true }) }
type Mode = "json" | "stream" | "responses" | "responses-stream"

const gatewayConfig = (upstream: string, options: {
  readonly preferences: boolean
  readonly maxEntries: number
  readonly ttlSeconds: number
}) =>
  [
    "version: v0.4.0",
    "listeners:",
    "  - type: model",
    "    name: model_listener",
    "    address: 127.0.0.1",
    "    port: 12000",
    "model_providers:",
    "  - model: openai/mock-model",
    `    base_url: ${upstream}`,
    "    default: true",
    "  - model: openai/mock-coder",
    `    base_url: ${upstream}`,
    "  - model: mistral/mock-translated",
    `    base_url: ${upstream}`,
    ...(options.preferences
      ? [
        "routing_preferences:",
        "  - name: code_generation",
        "    description: generating new code, writing functions, or creating boilerplate",
        "    models: [openai/mock-coder]",
        "  - name: complex_reasoning",
        "    description: complex reasoning tasks, multi-step analysis, or detailed explanations",
        "    models: [openai/mock-model]"
      ]
      : []),
    "routing:",
    `  session_ttl_seconds: ${options.ttlSeconds}`,
    `  session_max_entries: ${options.maxEntries}`,
    ""
  ].join("\n")

// ---------------------------------------------------------------------------------------------------------------
// processes

const tmp = mkdtempSync(join(tmpdir(), "switchyard-bench-"))
const running = new Set<ServerProcess>()
const tsxChild = (file: string, ...args: Array<string>) => [
  process.execPath,
  "--import",
  "tsx",
  join(root, file),
  ...args
]

const gatewayCommand = (): Array<string> => {
  if (gatewayCmdArg !== undefined) return gatewayCmdArg.split(/\s+/).filter((s) => s.length > 0)
  const main = join(root, "dist", "main.js")
  if (!existsSync(main)) throw new Error(`${main} does not exist: run \`npm run build\` first`)
  return [process.execPath, main]
}

const start = async (
  name: string,
  command: ReadonlyArray<string>,
  cpu: number | undefined,
  onLine?: (line: string) => void
) => {
  const server = await startServer(name, command, { cpu, cwd: root, timeoutMs: 60_000, ...(onLine && { onLine }) })
  running.add(server)
  log(`${name} pid=${server.pid} ${server.origin}${cpu === undefined ? "" : ` cpu ${cpu}`}`)
  return server
}

const startGateway = (name: string, configText: string) => {
  const file = join(tmp, `${name}.yaml`)
  writeFileSync(file, configText)
  return start(name, [...gatewayCommand(), "--config", file, "--port", "0"], gatewayCpu)
}

const stop = async (server: ServerProcess | undefined) => {
  if (server === undefined) return
  running.delete(server)
  await server.stop()
}

const stopAll = async () => {
  await Promise.all([...running].map((s) => s.stop()))
  running.clear()
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void stopAll().finally(() => {
      rmSync(tmp, { recursive: true, force: true })
      process.exit(130)
    })
  })
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------------------------------
// measurement helpers

interface Target {
  readonly name: string
  readonly url: string
  /** The proxy process measured (undefined for direct). */
  readonly server: ServerProcess | undefined
}

interface Measured {
  readonly load: LoadResult
  readonly cpuUsPerReq: number | undefined
  readonly mockCpuUsPerReq: number | undefined
  readonly peakRssKb: number | undefined
}

const perRequest = (before: number | undefined, after: number | undefined, requests: number) =>
  before === undefined || after === undefined || requests === 0 ? undefined : (after - before) / requests

/** A closed-loop run with CPU of the target and of the mock read around it, and the target's RSS sampled. */
const measure = async (
  target: Target,
  mock: ServerProcess,
  options: Parameters<typeof runLoad>[0]
): Promise<Measured> => {
  const pid = target.server?.pid
  const sampler = pid === undefined ? undefined : rssSampler(pid)
  const cpu0 = pid === undefined ? undefined : cpuMicros(pid)
  const mock0 = cpuMicros(mock.pid)
  const load = await runLoad(options)
  const cpu1 = pid === undefined ? undefined : cpuMicros(pid)
  const mock1 = cpuMicros(mock.pid)
  const requests = load.ok + load.non2xx
  return {
    load,
    cpuUsPerReq: perRequest(cpu0, cpu1, requests),
    mockCpuUsPerReq: perRequest(mock0, mock1, requests),
    peakRssKb: sampler?.stop()
  }
}

const checkLoad = (label: string, load: LoadResult) => {
  if (load.ok === 0) fail(`${label}: no successful responses`)
  else if (load.non2xx + load.errors > 0) fail(`${label}: ${load.non2xx} non-2xx responses, ${load.errors} errors`)
}

const checkAlive = (server: ServerProcess | undefined) => {
  if (server !== undefined && server.exitCode() !== undefined) {
    throw new Error(`${server.name} exited (${server.exitCode()}):\n${server.output()}`)
  }
}

/** One request; throws unless it is a 200 (and, for streams, ends with [DONE]). */
const smoke = async (target: Target, body: string, stream: boolean, headers: Record<string, string> = {}) => {
  const [sample] = await probe({ url: target.url, body, n: 1, warmup: 0, headers: () => headers })
  if (sample === undefined || sample.status !== 200 || (stream && !sample.body.includes("[DONE]"))) {
    throw new Error(
      `${target.name} smoke ${stream ? "stream" : "json"}: HTTP ${sample?.status} ${sample?.body.slice(0, 300)}`
    )
  }
  return sample
}

const quantiles = (values: ReadonlyArray<number>) => {
  const sorted = Float64Array.from(values).sort()
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) }
}

// ---------------------------------------------------------------------------------------------------------------
// report types

interface OverheadRow {
  readonly mode: Mode
  readonly conc: number
  readonly target: string
  readonly requests: number
  readonly rps: number | null
  readonly p50Us: number | null
  readonly p99Us: number | null
  readonly addedP50Us: number | null
  readonly addedP99Us: number | null
  readonly cpuUsPerReq: number | null
  readonly mockCpuUsPerReq: number | null
  readonly peakRssKb: number | null
  readonly non2xx: number
  readonly errors: number
}

interface TtftRow {
  readonly target: string
  readonly n: number
  readonly ttftP50Us: number | null
  readonly ttftP99Us: number | null
  readonly addedP50Us: number | null
  readonly addedP99Us: number | null
  readonly totalP50Us: number | null
}

interface RoutingRow {
  readonly path: "routed" | "pinned" | "no_preferences"
  readonly gateway: string
  readonly n: number
  readonly reasons: Record<string, number>
  readonly pins: Record<string, number>
  readonly decisionP50Ms: number | null
  readonly decisionP99Ms: number | null
  readonly cpuUsPerReq: number | null
  readonly rps: number | null
}

interface ScaleRow {
  readonly sessionIds: number
  readonly pinsReported: number | null
  readonly rssKb: number | null
  readonly cpuUsPerReq: number | null
  readonly windowRequests: number
  readonly rps: number | null
  /** CPU and rate of the fill segment before the window (decision endpoint by default). */
  readonly fillCpuUsPerReq: number | null
  readonly fillRps: number | null
  readonly bytesPerPin: number | null
}

const overhead: Array<OverheadRow> = []
const observability: Array<{
  readonly variant: string
  readonly mode: string
  readonly round: number
  readonly cpuUsPerReq: number | null
  readonly rps: number | null
}> = []
const ttft: Array<TtftRow> = []
const routing: Array<RoutingRow> = []
const scale: Array<ScaleRow> = []
let workers: WorkersResult | undefined
let gcRows: Array<GcRow> = []
const idleRssKb: Record<string, number | null> = {}
const peakRssUnderLoadKb: Record<string, number | null> = {}
let scaleInfo: Record<string, unknown> = {}

// ---------------------------------------------------------------------------------------------------------------
// the run

const run = async () => {
  const mock = await start("mock", tsxChild("tools/benchMockUpstream.ts", "--port", "0"), harnessCpu)
  const upstream = mock.origin
  const direct: Target = { name: "direct", url: `${upstream}/v1/chat/completions`, server: undefined }
  const targets: Array<Target> = [direct]

  if (parts.has(1) || parts.has(2) || parts.has(3)) {
    const started = await Promise.allSettled([
      start("baseline", tsxChild("tools/benchBaseline.ts", "--upstream", upstream, "--port", "0"), gatewayCpu),
      startGateway("gateway", gatewayConfig(upstream, { preferences: false, maxEntries: 10_000, ttlSeconds: 600 })),
      startGateway(
        "gateway-routed",
        gatewayConfig(upstream, { preferences: true, maxEntries: 10_000, ttlSeconds: 600 })
      )
    ])
    const servers: Array<ServerProcess> = []
    for (const s of started) {
      if (s.status === "fulfilled") servers.push(s.value)
      else fail(`start: ${errorText(s.reason)}`)
    }
    await sleep(1000)
    for (const s of servers) {
      idleRssKb[s.name] = rssKb(s.pid) ?? null
      targets.push({ name: s.name, url: `${s.origin}/v1/chat/completions`, server: s })
    }
    const byName = (name: string) => targets.find((t) => t.name === name)
    // Fresh processes run cold code: warm every proxy's JIT on both paths before anything is measured, one at a
    // time (they share a CPU), then let background compilation and GC settle.
    for (const t of targets) {
      if (t.server === undefined) continue
      try {
        for (const body of [bodies.json, bodies.stream, bodies.code]) {
          await runLoad({ url: t.url, body, connections: 8, amount: settings.startupWarm })
        }
      } catch (e) {
        log(`warm-up of ${t.name} failed: ${errorText(e)}`)
      }
    }
    await sleep(1000)

    // smoke every target in both modes first; a target that fails is skipped everywhere
    const healthy = new Set<string>()
    for (const t of targets) {
      try {
        await smoke(t, bodies.json, false)
        await smoke(t, bodies.stream, true)
        healthy.add(t.name)
      } catch (e) {
        fail(errorText(e))
      }
    }

    if (parts.has(1)) {
      log("part 1: proxy overhead")
      for (const mode of ["json", "stream"] as const) {
        for (const conc of settings.concurrencies) {
          let directLoad: LoadResult | undefined
          for (const t of targets) {
            if (!healthy.has(t.name)) continue
            try {
              checkAlive(t.server)
              const body = bodies[mode]
              await runLoad({ url: t.url, body, connections: conc, durationS: settings.warmS })
              const m = await measure(t, mock, { url: t.url, body, connections: conc, durationS: settings.durationS })
              checkLoad(`part 1 ${t.name} ${mode} c=${conc}`, m.load)
              if (t.name === "direct") directLoad = m.load
              const added = (k: "p50Us" | "p99Us") => {
                const here = m.load[k]
                const there = directLoad?.[k]
                return t.name === "direct" || here === undefined || there === undefined ? null : round(here - there)
              }
              overhead.push({
                mode,
                conc,
                target: t.name,
                requests: m.load.ok,
                rps: round(m.load.rps),
                p50Us: round(m.load.p50Us),
                p99Us: round(m.load.p99Us),
                addedP50Us: added("p50Us"),
                addedP99Us: added("p99Us"),
                cpuUsPerReq: round(m.cpuUsPerReq),
                mockCpuUsPerReq: round(m.mockCpuUsPerReq),
                peakRssKb: m.peakRssKb ?? null,
                non2xx: m.load.non2xx,
                errors: m.load.errors
              })
              if (conc === Math.max(...settings.concurrencies) && m.peakRssKb !== undefined) {
                peakRssUnderLoadKb[t.name] = Math.max(peakRssUnderLoadKb[t.name] ?? 0, m.peakRssKb)
              }
              log(
                `  ${mode} c=${conc} ${t.name}: ${round(m.load.rps, 0)} req/s p50 ${round(m.load.p50Us, 0)} µs` +
                  ` cpu ${round(m.cpuUsPerReq, 0) ?? "–"} µs/req`
              )
            } catch (e) {
              fail(`part 1 ${t.name} ${mode} c=${conc}: ${errorText(e)}`)
            }
          }
        }
      }
    }

    if (parts.has(1)) {
      // The same prompt over /v1/responses (translated to chat completions and back) on the plain gateway.
      const t = byName("gateway")
      for (const mode of ["responses", "responses-stream"] as const) {
        for (const conc of settings.concurrencies) {
          if (t === undefined || !healthy.has(t.name)) continue
          const url = t.url.replace("/v1/chat/completions", "/v1/responses")
          try {
            checkAlive(t.server)
            const body = responsesBodies[mode]
            await runLoad({ url, body, connections: 8, amount: settings.startupWarm })
            await runLoad({ url, body, connections: conc, durationS: settings.warmS })
            const m = await measure(t, mock, { url, body, connections: conc, durationS: settings.durationS })
            checkLoad(`part 1 ${t.name} ${mode} c=${conc}`, m.load)
            overhead.push({
              mode,
              conc,
              target: t.name,
              requests: m.load.ok,
              rps: round(m.load.rps),
              p50Us: round(m.load.p50Us),
              p99Us: round(m.load.p99Us),
              addedP50Us: null,
              addedP99Us: null,
              cpuUsPerReq: round(m.cpuUsPerReq),
              mockCpuUsPerReq: round(m.mockCpuUsPerReq),
              peakRssKb: m.peakRssKb ?? null,
              non2xx: m.load.non2xx,
              errors: m.load.errors
            })
            log(`  ${mode} c=${conc} ${t.name}: ${round(m.load.rps, 0)} req/s cpu ${round(m.cpuUsPerReq, 0) ?? "–"} µs/req`)
          } catch (e) {
            fail(`part 1 ${t.name} ${mode} c=${conc}: ${errorText(e)}`)
          }
        }
      }
    }

    if (parts.has(2)) {
      log("part 2: streaming time to first token")
      let directSamples: Array<ProbeSample> | undefined
      for (const t of targets) {
        if (!healthy.has(t.name)) continue
        try {
          const samples = await probe({
            url: t.url,
            body: bodies.stream,
            n: settings.probeN,
            warmup: settings.probeWarm,
            maxMs: 20_000
          })
          const bad = samples.filter((s) => s.status !== 200 || !s.body.includes("[DONE]")).length
          if (bad > 0) fail(`part 2 ${t.name}: ${bad} of ${samples.length} streams failed`)
          if (t.name === "direct") directSamples = samples
          const q = quantiles(samples.map((s) => s.firstByteUs))
          const d = directSamples === undefined ? undefined : quantiles(directSamples.map((s) => s.firstByteUs))
          ttft.push({
            target: t.name,
            n: samples.length,
            ttftP50Us: round(q.p50),
            ttftP99Us: round(q.p99),
            addedP50Us: t.name === "direct" || d === undefined ? null : round(q.p50 - d.p50),
            addedP99Us: t.name === "direct" || d === undefined ? null : round(q.p99 - d.p99),
            totalP50Us: round(quantiles(samples.map((s) => s.totalUs)).p50)
          })
        } catch (e) {
          fail(`part 2 ${t.name}: ${errorText(e)}`)
        }
      }
    }

    if (parts.has(3)) {
      log("part 3: routing paths")
      const paths = [
        { path: "routed" as const, target: byName("gateway-routed"), session: undefined, expect: "routed" },
        { path: "pinned" as const, target: byName("gateway-routed"), session: "bench-pinned", expect: "pinned" },
        { path: "no_preferences" as const, target: byName("gateway"), session: undefined, expect: "requested" }
      ]
      for (const p of paths) {
        if (p.target === undefined || !healthy.has(p.target.name)) continue
        try {
          checkAlive(p.target.server)
          const headers: Record<string, string> = p.session === undefined ? {} : { "x-routing-session-id": p.session }
          const samples = await probe({
            url: p.target.url,
            body: bodies.code,
            n: settings.routingN,
            warmup: Math.min(100, settings.probeWarm),
            headers: () => headers,
            maxMs: 20_000
          })
          const bad = samples.filter((s) => s.status !== 200).length
          if (bad > 0) fail(`part 3 ${p.path}: ${bad} of ${samples.length} requests failed`)
          const reasons = headerCounts(samples, "x-routing-reason")
          const pins = headerCounts(samples, "x-routing-pin")
          if ((reasons[p.expect] ?? 0) < samples.length) {
            log(`  warning: ${p.path} expected x-routing-reason ${p.expect}, saw ${JSON.stringify(reasons)}`)
          }
          const durations = samples.map(routingDurationMs).filter((x): x is number => x !== undefined)
          if (durations.length < samples.length) {
            fail(`part 3 ${p.path}: ${samples.length - durations.length} responses without server-timing routing;dur`)
          }
          const q = quantiles(durations)
          await runLoad({ url: p.target.url, body: bodies.code, headers, connections: 32, durationS: settings.warmS })
          const m = await measure(p.target, mock, {
            url: p.target.url,
            body: bodies.code,
            headers,
            connections: 32,
            durationS: settings.durationS
          })
          checkLoad(`part 3 ${p.path} c=32`, m.load)
          routing.push({
            path: p.path,
            gateway: p.target.name,
            n: samples.length,
            reasons,
            pins,
            decisionP50Ms: round(q.p50, 4),
            decisionP99Ms: round(q.p99, 4),
            cpuUsPerReq: round(m.cpuUsPerReq),
            rps: round(m.load.rps)
          })
          if (m.peakRssKb !== undefined) {
            peakRssUnderLoadKb[p.target.name] = Math.max(peakRssUnderLoadKb[p.target.name] ?? 0, m.peakRssKb)
          }
          log(`  ${p.path}: decision p50 ${round(q.p50, 4)} ms, cpu ${round(m.cpuUsPerReq, 0)} µs/req`)
        } catch (e) {
          fail(`part 3 ${p.path}: ${errorText(e)}`)
        }
      }
    }
    await Promise.all(servers.map(stop))
  }

  if (parts.has(4)) {
    log("part 4: pin cache at scale")
    let pinsGateway: ServerProcess | undefined
    try {
      const config = gatewayConfig(upstream, {
        preferences: false,
        maxEntries: settings.scaleCapacity,
        ttlSeconds: 3600
      })
      pinsGateway = await startGateway("gateway-pins", config)
      const url = `${pinsGateway.origin}/v1/chat/completions`
      const fillUrl = pinsFill === "decision" ? `${pinsGateway.origin}/routing/v1/chat/completions` : url
      const target: Target = { name: pinsGateway.name, url, server: pinsGateway }
      idleRssKb[pinsGateway.name] = rssKb(pinsGateway.pid) ?? null
      // Warm up both paths without sessions, so the RSS reference excludes JIT and pool growth.
      const connections = settings.scaleConnections
      for (const u of new Set([url, fillUrl])) {
        const warm = await runLoad({ url: u, body: bodies.small, connections, amount: settings.scaleWarmup })
        checkLoad("part 4 warm-up", warm)
      }
      await sleep(500)
      const rss0 = rssKb(pinsGateway.pid)
      scaleInfo = {
        config: "no routing_preferences (every new session pins the requested model; the router is not run)",
        fill: pinsFill === "decision"
          ? "POST /routing/v1/chat/completions (same read → decide → pin path, no upstream call)"
          : "POST /v1/chat/completions",
        window: "POST /v1/chat/completions",
        capacity: settings.scaleCapacity,
        ttlSeconds: 3600,
        connections,
        body: bodies.small,
        rssAfterWarmupKb: rss0 ?? null
      }
      let sent = 0
      let nextId = 0
      const perRequestHeaders = () => ({ "x-routing-session-id": `bench-${(nextId++).toString(36)}` })
      for (const milestone of settings.scaleMilestones) {
        checkAlive(pinsGateway)
        const segment = milestone - sent
        const window = Math.min(Math.floor(segment / 2), settings.scaleWindow)
        const fill = segment - window
        const base = { body: bodies.small, connections, perRequestHeaders, recordLatencies: false }
        let fillCpu: number | undefined
        let fillRps: number | undefined
        if (fill > 0) {
          const f = await measure(target, mock, { ...base, url: fillUrl, amount: fill })
          checkLoad(`part 4 fill to ${milestone}`, f.load)
          fillCpu = f.cpuUsPerReq
          fillRps = f.load.rps
        }
        const m = await measure(target, mock, { ...base, url, amount: window })
        checkLoad(`part 4 window at ${milestone}`, m.load)
        sent = milestone
        const rss = rssKb(pinsGateway.pid)
        const pinsReported = await pinCount(pinsGateway.origin)
        const held = Math.min(milestone, settings.scaleCapacity)
        scale.push({
          sessionIds: milestone,
          pinsReported,
          rssKb: rss ?? null,
          cpuUsPerReq: round(m.cpuUsPerReq),
          windowRequests: window,
          rps: round(m.load.rps),
          fillCpuUsPerReq: round(fillCpu),
          fillRps: round(fillRps),
          // Below ~100k pins the RSS delta is mostly heap growth slack, not pins.
          bytesPerPin: rss === undefined || rss0 === undefined || held < 100_000
            ? null
            : round(((rss - rss0) * 1024) / held, 0)
        })
        log(
          `  ${milestone} ids: rss ${round((rss ?? NaN) / 1024)} MB, pins ${pinsReported ?? "?"},` +
            ` proxy ${round(m.cpuUsPerReq, 0)} µs/req at ${round(m.load.rps, 0)} req/s,` +
            ` fill ${round(fillCpu, 0) ?? "–"} µs/req at ${round(fillRps, 0) ?? "–"} req/s`
        )
      }
      peakRssUnderLoadKb[pinsGateway.name] = peakRssKb(pinsGateway.pid) ?? null
    } catch (e) {
      fail(`part 4: ${errorText(e)}`)
    } finally {
      await stop(pinsGateway)
    }
  }
  if (parts.has(6)) await observabilityCost(mock)
  if (parts.has(7)) {
    log("part 7: all cores (--workers)")
    workers = await workersPart({
      quick,
      tmp,
      gatewayCommand,
      start,
      stop,
      config: gatewayConfig(mock.origin, { preferences: true, maxEntries: 10_000, ttlSeconds: 600 }),
      log,
      fail
    })
  }
  if (parts.has(8)) await tailLatency(mock)
  await stop(mock)
}

// Part 6: the same gateway with observability off, with metrics + access log, and with tracing configured at
// sampling 0 (an exporter that is never called). Runs interleave (round-robin) so load from other processes on the
// machine spreads over all variants; the median CPU µs/req per variant is compared.
const observabilityVariants = [
  { name: "obs-off", text: "observability:\n  access_log: false\n  metrics:\n    enabled: false\n" },
  { name: "obs-metrics", text: "observability:\n  access_log: false\n  metrics:\n    enabled: true\n" },
  { name: "obs-metrics+log", text: "observability:\n  access_log: true\n  metrics:\n    enabled: true\n" },
  {
    name: "obs-tracing-0",
    text: "observability:\n  access_log: false\n  metrics:\n    enabled: false\n" +
      "tracing:\n  random_sampling: 0\n  otlp_endpoint: http://127.0.0.1:9/v1/traces\n"
  }
] as const

const observabilityCost = async (mock: ServerProcess) => {
  log("part 6: observability cost")
  const servers: Array<ServerProcess> = []
  try {
    for (const variant of observabilityVariants) {
      const base = gatewayConfig(mock.origin, { preferences: false, maxEntries: 10_000, ttlSeconds: 600 })
      const server = await startGateway(variant.name, base + variant.text)
      servers.push(server)
      for (const body of [bodies.json, bodies.stream]) {
        await runLoad({ url: `${server.origin}/v1/chat/completions`, body, connections: 8, amount: settings.startupWarm })
      }
    }
    await sleep(500)
    // Short runs, many rounds: on a shared machine the spread between runs is larger than the effect measured.
    const rounds = quick ? 1 : 6
    const durationS = quick ? settings.durationS : 2
    for (let pass = 0; pass < rounds; pass++) {
      for (const mode of ["json", "stream"] as const) {
        for (const server of servers) {
          const target: Target = { name: server.name, url: `${server.origin}/v1/chat/completions`, server }
          checkAlive(server)
          const m = await measure(target, mock, {
            url: target.url,
            body: bodies[mode],
            connections: 32,
            durationS
          })
          checkLoad(`part 6 ${server.name} ${mode}`, m.load)
          observability.push({
            variant: server.name,
            mode,
            round: pass,
            cpuUsPerReq: round1(m.cpuUsPerReq),
            rps: round1(m.load.rps)
          })
          log(`  ${mode} ${server.name} round ${pass}: cpu ${round(m.cpuUsPerReq, 1) ?? "–"} µs/req`)
        }
      }
    }
  } catch (e) {
    fail(`part 6: ${errorText(e)}`)
  } finally {
    await Promise.all(servers.map(stop))
  }
}

const round1 = (x: number | undefined) => round(x, 1)

// Part 8 (tools/benchGc.ts): node flags go right after the node executable of each command.
const withNodeFlags = (command: ReadonlyArray<string>, flags: ReadonlyArray<string>) =>
  /(^|\/)node(\.exe)?$/.test(command[0] ?? "") ? [command[0]!, ...flags, ...command.slice(1)] : [...command]

const tailLatency = async (mock: ServerProcess) => {
  log("part 8: tail latency and GC at c=32")
  const config = join(tmp, "gateway-gc.yaml")
  writeFileSync(config, gatewayConfig(mock.origin, { preferences: false, maxEntries: 10_000, ttlSeconds: 600 }))
  gcRows = await gcPart({
    quick,
    cpu: gatewayCpu,
    variants: gcVariants,
    baselineCommand: (flags) =>
      withNodeFlags(tsxChild("tools/benchBaseline.ts", "--upstream", mock.origin, "--port", "0"), flags),
    gatewayCommand: (flags) => [...withNodeFlags(gatewayCommand(), flags), "--config", config, "--port", "0"],
    start,
    stop,
    body: bodies.json,
    log,
    fail
  })
}

/** Median CPU µs/req per variant and mode, and each variant's change over `obs-off`. */
const observabilitySummary = () => {
  const median = (xs: ReadonlyArray<number>) => {
    const sorted = [...xs].sort((a, b) => a - b)
    return sorted.length === 0 ? null : sorted[Math.floor(sorted.length / 2)]!
  }
  const rows: Array<{ variant: string; mode: string; medianCpuUsPerReq: number | null; vsOffPct: number | null }> = []
  for (const mode of ["json", "stream"] as const) {
    const med = (variant: string) =>
      median(
        observability.filter((r) => r.variant === variant && r.mode === mode && r.cpuUsPerReq !== null).map((r) =>
          r.cpuUsPerReq!
        )
      )
    const off = med("obs-off")
    for (const variant of observabilityVariants) {
      const here = med(variant.name)
      rows.push({
        variant: variant.name,
        mode,
        medianCpuUsPerReq: here,
        vsOffPct: here === null || off === null || off === 0 ? null : round((here / off - 1) * 100, 1) ?? null
      })
    }
  }
  return rows
}

/** The pin count from the gateway's pins API (`GET /v1/routing/sessions` → `total`), when it has one. */
const pinCount = async (origin: string): Promise<number | null> => {
  try {
    const r = await fetch(`${origin}/v1/routing/sessions?limit=1`)
    if (!r.ok) return null
    const json: unknown = await r.json()
    const total = typeof json === "object" && json !== null ? (json as Record<string, unknown>).total : undefined
    return typeof total === "number" ? total : null
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------------------------------
// report

const fmt = (x: number | null | undefined, digits = 0) =>
  x === null || x === undefined || !Number.isFinite(x)
    ? "–"
    : x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
const mb = (kb: number | null | undefined) => (kb === null || kb === undefined ? "–" : (kb / 1024).toFixed(1))

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`)
  ].join("\n")

const cpuRatios = () => {
  const out: Record<string, Record<string, number | null>> = {}
  for (const mode of ["json", "stream"] as const) {
    out[mode] = {}
    for (const conc of settings.concurrencies) {
      const cpu = (target: string) =>
        overhead.find((r) => r.mode === mode && r.conc === conc && r.target === target)?.cpuUsPerReq
      const b = cpu("baseline")
      for (const target of ["gateway", "gateway-routed"]) {
        const g = cpu(target)
        out[mode]![`${target}/baseline c=${conc}`] = g == null || b == null || b === 0 ? null : round(g / b, 2)
      }
    }
  }
  for (const [mode, chat] of [["responses", "json"], ["responses-stream", "stream"]] as const) {
    out[mode] = {}
    for (const conc of settings.concurrencies) {
      const cpu = (m: Mode) => overhead.find((r) => r.mode === m && r.conc === conc && r.target === "gateway")?.cpuUsPerReq
      const r = cpu(mode)
      const c = cpu(chat)
      out[mode]![`gateway ${mode}/${chat} c=${conc}`] = r == null || c == null || c === 0 ? null : round(r / c, 2)
    }
  }
  return out
}

const gitRevision = () => {
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim()
    const dirty = execFileSync("git", ["status", "--porcelain"], { cwd: root, encoding: "utf8" }).trim() !== ""
    return `${rev}${dirty ? "+dirty" : ""}`
  } catch {
    return null
  }
}

const pairs = (counts: Record<string, number>) => Object.entries(counts).map(([k, v]) => `${k}×${v}`).join(" ")

const report = () => {
  const ratios = cpuRatios()
  const out: Array<string> = []
  const section = (title: string, lines: ReadonlyArray<string>) => {
    if (lines.length > 0) out.push(`### ${title}`, "", ...lines, "")
  }
  out.push(`## Switchyard bench${quick ? " (--quick)" : ""}`, "")
  out.push(
    `node ${process.version}, ${cpuCount} CPUs (${cpus()[0]?.model ?? "?"}), ` +
      (pinning ? "proxies on CPU 0, mock + load generator on CPU 1" : "no CPU pinning") +
      `, ${settings.durationS} s per run, load average ${loadAtStart[0]!.toFixed(1)} at start and` +
      ` ${loadavg()[0]!.toFixed(1)} at the end (other processes skew latencies and req/s more than CPU µs/req)`,
    ""
  )
  section("1. Proxy overhead (closed loop, autocannon)", overhead.length === 0 ? [] : [
    table(
      [
        "mode",
        "c",
        "target",
        "req/s",
        "p50 µs",
        "p99 µs",
        "+p50 µs",
        "+p99 µs",
        "CPU µs/req",
        "mock CPU µs/req",
        "errors"
      ],
      overhead.map((r) => [
        r.mode,
        String(r.conc),
        r.target,
        fmt(r.rps),
        fmt(r.p50Us),
        fmt(r.p99Us),
        fmt(r.addedP50Us),
        fmt(r.addedP99Us),
        fmt(r.cpuUsPerReq),
        fmt(r.mockCpuUsPerReq),
        r.non2xx + r.errors === 0 ? "" : String(r.non2xx + r.errors)
      ])
    ),
    "",
    "CPU ratio (process CPU µs per request, same run):",
    ...Object.entries(ratios).map(([mode, r]) =>
      `- ${mode}: ${Object.entries(r).map(([k, v]) => `${k} ${fmt(v, 2)}×`).join(", ")}`
    )
  ])
  section("2. Streaming time to first token (sequential probe, first SSE byte)", ttft.length === 0 ? [] : [
    table(
      ["target", "n", "TTFT p50 µs", "TTFT p99 µs", "+p50 µs", "+p99 µs", "last byte p50 µs"],
      ttft.map((r) => [
        r.target,
        String(r.n),
        fmt(r.ttftP50Us),
        fmt(r.ttftP99Us),
        fmt(r.addedP50Us),
        fmt(r.addedP99Us),
        fmt(r.totalP50Us)
      ])
    )
  ])
  const routingTitle = "3. Routing paths (decision time from `server-timing: routing;dur=`, CPU at c=32)"
  section(routingTitle, routing.length === 0 ? [] : [
    table(
      [
        "path",
        "gateway",
        "x-routing-reason",
        "x-routing-pin",
        "decision p50 ms",
        "decision p99 ms",
        "CPU µs/req",
        "req/s"
      ],
      routing.map((r) => [
        r.path,
        r.gateway,
        pairs(r.reasons),
        pairs(r.pins),
        fmt(r.decisionP50Ms, 3),
        fmt(r.decisionP99Ms, 3),
        fmt(r.cpuUsPerReq),
        fmt(r.rps)
      ])
    )
  ])
  const scaleTitle = `4. Pin cache at scale (capacity ${fmt(settings.scaleCapacity)}, one new session id per request)`
  section(scaleTitle, scale.length === 0 ? [] : [
    `Filled through ${String(scaleInfo.fill)}; proxy columns: the last ${fmt(settings.scaleWindow)} new ids before` +
    ` each mark, through ${String(scaleInfo.window)}. RSS after a session-less warm-up:` +
    ` ${mb(scaleInfo.rssAfterWarmupKb as number | null | undefined)} MB.`,
    "",
    table(
      [
        "session ids sent",
        "pins held (API)",
        "RSS MB",
        "bytes/pin",
        "proxy CPU µs/req",
        "proxy req/s",
        "fill CPU µs/req",
        "fill req/s"
      ],
      scale.map((r) => [
        fmt(r.sessionIds),
        fmt(r.pinsReported),
        mb(r.rssKb),
        fmt(r.bytesPerPin),
        fmt(r.cpuUsPerReq),
        fmt(r.rps),
        fmt(r.fillCpuUsPerReq),
        fmt(r.fillRps)
      ])
    )
  ])
  const names = [...new Set([...Object.keys(idleRssKb), ...Object.keys(peakRssUnderLoadKb)])]
  section("5. Memory", names.length === 0 ? [] : [
    table(
      ["process", "idle RSS MB (after start)", "peak RSS MB under load"],
      names.map((n) => [n, mb(idleRssKb[n]), mb(peakRssUnderLoadKb[n])])
    )
  ])
  const pinsAt = (ids: number) => scale.find((r) => r.sessionIds === ids)?.rssKb
  const pinsRss0 = scaleInfo.rssAfterWarmupKb as number | null | undefined
  const atCapacity = scale.filter((r) => r.sessionIds >= 1.5 * settings.scaleCapacity && r.rssKb !== null)
  const spread = atCapacity.length < 2
    ? null
    : (Math.max(...atCapacity.map((r) => r.rssKb!)) / Math.min(...atCapacity.map((r) => r.rssKb!)) - 1) * 100
  const at1M = pinsAt(settings.scaleCapacity)
  section("5b. Memory targets", names.length === 0 && scale.length === 0 ? [] : [
    `- idle RSS after start: ${["gateway", "gateway-routed", "gateway-pins"].map((n) => `${n} ${mb(idleRssKb[n])} MB`).join(", ")}`,
    `- ${fmt(settings.scaleCapacity)} pins: RSS ${mb(at1M)} MB, ` +
    `${at1M == null || pinsRss0 == null ? "–" : mb(at1M - pinsRss0)} MB over the session-less warm-up`,
    `- RSS spread from ${fmt(1.5 * settings.scaleCapacity)} to ${fmt(atCapacity.at(-1)?.sessionIds)} session ids at` +
    ` capacity ${fmt(settings.scaleCapacity)}: ${spread === null ? "–" : `${fmt(spread, 1)}%`} (max/min − 1)`
  ])
  const obs = observabilitySummary()
  section("6. Observability cost (c=32, median of interleaved runs, CPU µs/req of the gateway)", observability.length === 0 ? [] : [
    table(
      ["variant", "mode", "CPU µs/req (median)", "vs obs-off"],
      obs.map((r) => [
        r.variant,
        r.mode,
        fmt(r.medianCpuUsPerReq, 1),
        r.vsOffPct === null ? "–" : `${r.vsOffPct > 0 ? "+" : ""}${fmt(r.vsOffPct, 1)}%`
      ])
    )
  ])
  section("7. All cores: `--workers` (c=32, pinned path, median of interleaved runs; gateway not CPU-pinned)", workers === undefined ? [] : [
    table(
      ["variant", "req/s (median)", "vs workers=1"],
      workers.summary.map((r) => [r.variant, fmt(r.medianRps), r.vsW1 === null ? "–" : `${fmt(r.vsW1, 2)}×`])
    ),
    "",
    table(
      ["variant", "sessions", "requests", "sessions with 2+ models", "requests per worker"],
      workers.consistency.map((c) => [
        c.variant,
        fmt(c.sessions),
        fmt(c.requests),
        fmt(c.sessionsWithTwoModels),
        Object.entries(c.requestsPerWorker).map(([w, n]) => `${w}: ${n}`).join(", ")
      ])
    ),
    "",
    `${cpuCount} CPUs shared by the workers, the primary, the mock upstream and the load generator: the 2-worker` +
    " figure is bounded by the machine (on 2 cores the harness takes most of one), so read the ratio, not a 2×."
  ])
  section("8. Tail latency and GC pauses (json, c=32, `--trace-gc`, one process at a time)", gcRows.length === 0 ? [] : [
    table(
      [
        "process",
        "V8 flags",
        "s",
        "req/s",
        "p50 µs",
        "p99 µs",
        "p99 vs baseline",
        "Scavenge n / ms / max",
        "Mark-Compact n / ms / max",
        "MC ≥ 5 ms",
        "RSS MB before / after"
      ],
      gcRows.map((r) => {
        const kind = (k: string) => {
          const v = Object.entries(r.gc.byKind).filter(([name]) => name.startsWith(k)).map(([, x]) => x)
          if (v.length === 0) return "0"
          const n = v.reduce((a, x) => a + x.count, 0)
          const total = v.reduce((a, x) => a + x.totalMs, 0)
          return `${n} / ${fmt(total, 1)} / ${fmt(Math.max(...v.map((x) => x.maxMs)), 2)}`
        }
        return [
          r.target,
          r.flags === "" ? "–" : r.flags,
          String(r.seconds),
          fmt(r.rps),
          fmt(r.p50Us),
          fmt(r.p99Us),
          r.p99VsBaseline === null ? "–" : `${fmt(r.p99VsBaseline, 2)}×`,
          kind("Scavenge"),
          kind("Mark-"),
          String(r.gc.markCompactsOver5Ms),
          `${mb(r.rssBeforeKb)} / ${mb(r.rssAfterKb)}`
        ]
      })
    ),
    "",
    "Targets (issue 16): p99 ≤ 1.5× the baseline's p99, no Mark-Compact pause ≥ 5 ms. Pauses are the main-thread" +
    " pause `--trace-gc` prints first (incremental marking steps before a Mark-Compact are not in it)."
  ])
  section("Failures", failures.map((f) => `- ${f.split("\n")[0]}`))
  out.push(`total ${elapsed()} s`)
  return { text: out.join("\n"), ratios }
}

const main = async () => {
  try {
    await run()
  } catch (e) {
    fail(`bench: ${errorText(e)}`)
  } finally {
    await stopAll()
    rmSync(tmp, { recursive: true, force: true })
  }
  const { ratios, text } = report()
  const result = {
    version: 1,
    quick,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    seconds: Number(elapsed()),
    revision: gitRevision(),
    host: {
      node: process.version,
      cpus: cpuCount,
      cpuModel: cpus()[0]?.model ?? null,
      pinning,
      loadAverage1mAtStart: round(loadAtStart[0], 2),
      loadAverage1mAtEnd: round(loadavg()[0], 2)
    },
    gatewayCommand: gatewayCmdArg ?? "node dist/main.js",
    settings,
    overhead,
    cpuRatio: ratios,
    ttft,
    routing,
    pinCache: { ...scaleInfo, rows: scale },
    memory: { idleRssKb, peakRssUnderLoadKb },
    tailLatency: gcRows,
    observability: { runs: observability, summary: observabilitySummary() },
    workers: workers ?? null,
    failures
  }
  mkdirSync(outDir, { recursive: true })
  const json = JSON.stringify(result, null, 2) + "\n"
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-")
  writeFileSync(join(outDir, "latest.json"), json)
  writeFileSync(join(outDir, `bench-${stamp}${quick ? "-quick" : ""}.json`), json)
  process.stdout.write(text + "\n")
  log(`wrote ${join(outDir, "latest.json")}`)
  process.exit(failures.length > 0 ? 1 : 0)
}

void main()
