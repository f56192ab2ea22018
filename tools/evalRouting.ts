/**
 * Evaluates the preference router on a labelled JSONL file (see /work/shared/routing-eval/README.md).
 *
 *   npx tsx tools/evalRouting.ts [file.jsonl] [--routesets routesets.json] [--url http://host:port] [--json]
 *                                [--threshold 0.2] [--split even|odd] [--verbose] [--params JSON]
 *                                [--grid JSON] [--loro]
 *
 * Without --url it runs the embedded router in-process; with --url it posts every case to a running gateway's
 * decision endpoint. --split keeps only even- or odd-numbered cases (a hold-out check while tuning).
 * --grid '{"simFloor":[0.5,0.6]}' tries every combination of those router parameters (and thresholds 0.01–0.20) and
 * prints the best; --loro does leave-one-routeset-out over the grid: for each routeset, the combination that scores
 * best on the other routesets is chosen and scored on the one left out.
 */
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Turn } from "../src/routing/Conversation.js"
import * as EmbeddedRouter from "../src/routing/EmbeddedRouter.js"
import * as WordVectors from "../src/routing/WordVectors.js"

interface OpenAiMessage {
  readonly role: string
  readonly content?: string | ReadonlyArray<{ readonly type?: string; readonly text?: string }> | null
  readonly tool_calls?: ReadonlyArray<unknown>
}

interface Case {
  readonly id: string
  readonly routeset: string
  readonly messages: ReadonlyArray<OpenAiMessage>
  readonly expected: string | null
  readonly kind: string
  readonly note?: string
}

type Routesets = Record<string, ReadonlyArray<EmbeddedRouter.RouteSpec>>

const roles = new Set(["system", "developer", "user", "assistant", "tool"])

/** A local converter (the gateway's own lives in src/Conversation.ts): text parts only, tool calls dropped. */
export const toTurns = (messages: ReadonlyArray<OpenAiMessage>): Array<Turn> =>
  messages.flatMap((m): Array<Turn> => {
    if (!roles.has(m.role)) return []
    const content = typeof m.content === "string"
      ? m.content
      : Array.isArray(m.content)
      ? m.content.map((p) => (typeof p.text === "string" ? p.text : "")).join("\n")
      : ""
    return [{ role: m.role as Turn["role"], content }]
  })

const argv = process.argv.slice(2)
const flag = (name: string) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const valueFlags = new Set(["--routesets", "--url", "--threshold", "--split", "--params", "--grid"])
const positional = argv.filter((a, i) => !a.startsWith("--") && !valueFlags.has(argv[i - 1] ?? ""))
// Default: the dev set in ../shared beside the repository (CI's layout), else the workplace copy.
const besideRepo = fileURLToPath(new URL("../../shared/routing-eval/dev.jsonl", import.meta.url))
const file = positional[0] ?? (fs.existsSync(besideRepo) ? besideRepo : "/work/shared/routing-eval/dev.jsonl")
const routesetsFile = flag("--routesets") ?? path.join(path.dirname(file), "routesets.json")
const url = flag("--url")
const asJson = argv.includes("--json")
const verbose = argv.includes("--verbose")
const thresholdArg = flag("--threshold")
const threshold = thresholdArg === undefined ? undefined : Number(thresholdArg)
const split = flag("--split")
const paramsArg = flag("--params")
if (paramsArg !== undefined) Object.assign(EmbeddedRouter.params, JSON.parse(paramsArg) as object)
const sweep = argv.includes("--sweep")
const gridArg = flag("--grid")
const loro = argv.includes("--loro")

const routesets = JSON.parse(fs.readFileSync(routesetsFile, "utf8")) as Routesets
const cases = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim().length > 0)
  .map((l) => JSON.parse(l) as Case)
  .filter((_c, i) => split === undefined || (split === "even" ? i % 2 === 0 : i % 2 === 1))

interface Outcome {
  readonly c: Case
  readonly got: string | null
  readonly ms: number
  readonly detail?: string
}

const percentile = (xs: ReadonlyArray<number>, p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

const runEmbedded = async (): Promise<{ outcomes: Array<Outcome>; loadMs: number }> => {
  const t0 = performance.now()
  const vectors = await Effect.runPromise(WordVectors.load())
  const loadMs = performance.now() - t0
  const compiled = new Map<string, EmbeddedRouter.CompiledRoutes>()
  const compiledFor = (id: string) => {
    let c = compiled.get(id)
    if (c === undefined) {
      c = EmbeddedRouter.compileRoutes(vectors, routesets[id] ?? [])
      compiled.set(id, c)
    }
    return c
  }
  const inputs = cases.map((c) => ({ c, turns: toTurns(c.messages), compiled: compiledFor(c.routeset) }))
  if (sweep) {
    for (let th = 0; th <= 0.3001; th += 0.01) {
      const got = inputs.map((i) => ({ i, r: EmbeddedRouter.classify(i.compiled, i.turns, th).route }))
      const ok = got.filter((g) => g.r === g.i.c.expected).length
      const per = [...new Set(cases.map((c) => c.routeset))].sort().map((rs) => {
        const xs = got.filter((g) => g.i.c.routeset === rs)
        return `${rs}=${(100 * xs.filter((g) => g.r === g.i.c.expected).length / xs.length).toFixed(0)}`
      })
      console.log(`threshold ${th.toFixed(2)}: ${(100 * ok / inputs.length).toFixed(1)}%  ${per.join(" ")}`)
    }
  }
  if (gridArg !== undefined || loro) {
    searchGrid(vectors, JSON.parse(gridArg ?? "{}") as Record<string, ReadonlyArray<number>>)
    process.exit(0)
  }
  // Warm-up: JIT and the per-word caches, as in a long-running gateway.
  for (let k = 0; k < 3; k++) for (const i of inputs) EmbeddedRouter.classify(i.compiled, i.turns, threshold)
  const outcomes = inputs.map(({ c, compiled, turns }) => {
    const t = performance.now()
    const result = EmbeddedRouter.classify(compiled, turns, threshold)
    const ms = performance.now() - t
    const detail = verbose
      ? [...EmbeddedRouter.scores(compiled, turns).scores].map((s, r) => `${compiled.routes[r]!.name}=${s.toFixed(3)}`)
        .join(" ")
      : undefined
    return detail === undefined ? { c, got: result.route, ms } : { c, got: result.route, ms, detail }
  })
  return { outcomes, loadMs }
}

/** Every combination of the grid's values (each key a router parameter). */
const combinations = (grid: Record<string, ReadonlyArray<number>>): Array<Record<string, number>> =>
  Object.entries(grid).reduce<Array<Record<string, number>>>(
    (acc, [key, values]) => acc.flatMap((c) => values.map((v) => ({ ...c, [key]: v }))),
    [{}]
  )

const searchGrid = (vectors: WordVectors.WordVectors, grid: Record<string, ReadonlyArray<number>>) => {
  const base = { ...EmbeddedRouter.params }
  const routesetIds = [...new Set(cases.map((c) => c.routeset))].sort()
  // correct[config][routeset] = number right; thresholds are part of the config.
  const rows: Array<{ config: Record<string, number>; correct: Map<string, number> }> = []
  for (const combo of combinations(grid)) {
    Object.assign(EmbeddedRouter.params, base, combo)
    const compiled = new Map(routesetIds.map((id) => [id, EmbeddedRouter.compileRoutes(vectors, routesets[id] ?? [])]))
    const scored = cases.map((c) => {
      const turns = toTurns(c.messages)
      return { c, turns, compiled: compiled.get(c.routeset)! }
    })
    for (let th = 0.005; th <= 0.6; th *= 1.15) {
      const correct = new Map<string, number>()
      for (const s of scored) {
        if (EmbeddedRouter.classify(s.compiled, s.turns, th).route === s.c.expected) {
          correct.set(s.c.routeset, (correct.get(s.c.routeset) ?? 0) + 1)
        }
      }
      rows.push({ config: { ...combo, threshold: Number(th.toFixed(4)) }, correct })
    }
  }
  Object.assign(EmbeddedRouter.params, base)
  const sizeOf = new Map(routesetIds.map((id) => [id, cases.filter((c) => c.routeset === id).length]))
  const total = (r: (typeof rows)[number], without?: string) =>
    routesetIds.filter((id) => id !== without).reduce((n, id) => n + (r.correct.get(id) ?? 0), 0)
  const best = (without?: string) => rows.reduce((a, b) => (total(b, without) > total(a, without) ? b : a))
  const pct = (n: number, d: number) => `${(100 * n / d).toFixed(1)}%`
  const top = [...rows].sort((a, b) => total(b) - total(a)).slice(0, Number(process.env.GRID_TOP ?? 5))
  console.log(`grid: ${rows.length} configurations over ${cases.length} cases`)
  for (const r of top) {
    console.log(`  ${pct(total(r), cases.length)}  ${JSON.stringify(r.config)}  ${
      routesetIds.map((id) => `${id}=${pct(r.correct.get(id) ?? 0, sizeOf.get(id)!)}`).join(" ")
    }`)
  }
  if (!loro) return
  console.log("leave-one-routeset-out (tuned on the other routesets, scored on the one left out):")
  let right = 0
  for (const id of routesetIds) {
    const chosen = best(id)
    right += chosen.correct.get(id) ?? 0
    console.log(`  ${id.padEnd(16)} ${pct(chosen.correct.get(id) ?? 0, sizeOf.get(id)!).padStart(6)}  with ${
      JSON.stringify(chosen.config)
    }`)
  }
  console.log(`  ${"overall".padEnd(16)} ${pct(right, cases.length).padStart(6)}`)
}

const runRemote = async (base: string): Promise<Array<Outcome>> => {
  const outcomes: Array<Outcome> = []
  for (const c of cases) {
    // No model: the decision endpoint refuses one no provider serves (as the proxy does), and routing needs none.
    const body = {
      messages: c.messages,
      routing_preferences: (routesets[c.routeset] ?? []).map((r) => ({
        name: r.name,
        description: r.description,
        models: [`eval/${r.name}`]
      }))
    }
    const t = performance.now()
    const res = await fetch(`${base.replace(/\/$/, "")}/routing/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    })
    const wall = performance.now() - t
    const json = (await res.json()) as { route?: string | null; latency_ms?: number }
    const route = typeof json.route === "string" && json.route.length > 0 && json.route !== "other" ? json.route : null
    outcomes.push({ c, got: route, ms: typeof json.latency_ms === "number" ? json.latency_ms : wall })
  }
  return outcomes
}

const main = async () => {
  const { loadMs, outcomes } = url === undefined
    ? await runEmbedded()
    : { outcomes: await runRemote(url), loadMs: undefined }
  const acc = (xs: ReadonlyArray<Outcome>) => ({
    correct: xs.filter((o) => o.got === o.c.expected).length,
    total: xs.length,
    accuracy: xs.length === 0 ? 0 : xs.filter((o) => o.got === o.c.expected).length / xs.length
  })
  const groupBy = (key: (o: Outcome) => string) => {
    const groups = new Map<string, Array<Outcome>>()
    for (const o of outcomes) groups.set(key(o), [...(groups.get(key(o)) ?? []), o])
    return Object.fromEntries([...groups].sort().map(([k, xs]) => [k, acc(xs)]))
  }
  const predictedNull = outcomes.filter((o) => o.got === null)
  const expectedNull = outcomes.filter((o) => o.c.expected === null)
  const ms = outcomes.map((o) => o.ms)
  const report = {
    mode: url === undefined ? "embedded" : `remote ${url}`,
    file,
    overall: acc(outcomes),
    byRouteset: groupBy((o) => o.c.routeset),
    byKind: groupBy((o) => o.c.kind),
    noRoute: {
      precision: predictedNull.length === 0 ? 1 : predictedNull.filter((o) => o.c.expected === null).length /
        predictedNull.length,
      recall: expectedNull.length === 0 ? 1 : expectedNull.filter((o) => o.got === null).length / expectedNull.length
    },
    latencyMs: { p50: percentile(ms, 50), p99: percentile(ms, 99), max: percentile(ms, 100) },
    loadMs,
    confusions: outcomes.filter((o) => o.got !== o.c.expected).map((o) => ({
      id: o.c.id,
      routeset: o.c.routeset,
      kind: o.c.kind,
      expected: o.c.expected,
      got: o.got,
      ...(o.detail === undefined ? {} : { scores: o.detail })
    }))
  }
  if (asJson) {
    console.log(JSON.stringify(report, null, 2))
    return
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`
  const line = (name: string, a: { correct: number; total: number; accuracy: number }) =>
    console.log(`  ${name.padEnd(16)} ${pct(a.accuracy).padStart(6)}  (${a.correct}/${a.total})`)
  console.log(`${report.mode}: ${file}`)
  line("overall", report.overall)
  console.log("per routeset:")
  for (const [k, a] of Object.entries(report.byRouteset)) line(k, a)
  console.log("per kind:")
  for (const [k, a] of Object.entries(report.byKind)) line(k, a)
  console.log(`no route: precision ${pct(report.noRoute.precision)}, recall ${pct(report.noRoute.recall)}`)
  const us = (x: number) => `${(x * 1000).toFixed(0)} µs`
  console.log(`decision time: p50 ${us(report.latencyMs.p50)}, p99 ${us(report.latencyMs.p99)}, max ${
    us(report.latencyMs.max)
  }${loadMs === undefined ? "" : `; vector table loaded in ${loadMs.toFixed(0)} ms`}`)
  console.log(`confusions (${report.confusions.length}):`)
  for (const c of report.confusions) {
    console.log(`  ${c.id} [${c.routeset}/${c.kind}] ${c.expected ?? "null"} -> ${c.got ?? "null"}${
      c.scores === undefined ? "" : `   ${c.scores}`
    }`)
  }
}

main().catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
