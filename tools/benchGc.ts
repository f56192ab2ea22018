// Part 8 of `npm run bench`: tail latency and GC pauses at c=32. The baseline and the gateway run with `--trace-gc`
// (and the gateway once more per `--gc-variants` flag set, e.g. `--max-semi-space-size=32`), one at a time on the
// proxy CPU, each for a long closed-loop json run at c=32 (30 s; 2 s with --quick). Reported per process: p50/p99,
// p99 as a multiple of the baseline's p99 in the same run, GC counts by kind with total and longest pause, the
// Mark-Compacts of 5 ms or more, and RSS before and at the end of the run.
import type { LoadResult, ServerProcess } from "./benchSupport.js"
import { round, rssKb, runLoad } from "./benchSupport.js"

/** One line of `--trace-gc`: its kind and the main-thread pause it reports (the first of "a / b ms"). */
export interface GcEvent {
  /** `Scavenge`, `Mark-Compact`, `Mark-Compact (reduce)`, `Minor Mark-Compact`, … as V8 prints it. */
  readonly kind: string
  readonly pauseMs: number
}

// [pid:0xisolate]     5220 ms: Mark-Compact 25.0 (40.1) -> 20.3 (38.0) MB, 4.56 / 0.01 ms  (+ 2.3 ms in …
const traceGcLine = /\d+ ms: ([A-Za-z-]+(?: [A-Za-z-]+)*(?: \(reduce\))?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, ([\d.]+) \/ [\d.]+ ms/

/** Parses one `--trace-gc` line; undefined for any other output. */
export const parseGcLine = (line: string): GcEvent | undefined => {
  const m = traceGcLine.exec(line)
  return m === null ? undefined : { kind: m[1]!, pauseMs: Number(m[2]) }
}

/** Count, total and longest pause of one kind of GC. */
export interface GcKindSummary {
  readonly count: number
  readonly totalMs: number
  readonly maxMs: number
}

/** GC events of a window, by kind, plus the full (Mark-Compact) collections of `longMs` or more. */
export interface GcSummary {
  readonly byKind: Record<string, GcKindSummary>
  readonly markCompacts: number
  readonly markCompactMaxMs: number
  readonly markCompactsOver5Ms: number
}

const isFull = (kind: string) => kind.startsWith("Mark-Compact") || kind.startsWith("Mark-Sweep")

/** Summarizes events; `Mark-Compact (reduce)` counts as a Mark-Compact. */
export const summarize = (events: ReadonlyArray<GcEvent>): GcSummary => {
  const byKind: Record<string, { count: number; totalMs: number; maxMs: number }> = {}
  let markCompacts = 0
  let markCompactMaxMs = 0
  let markCompactsOver5Ms = 0
  for (const e of events) {
    const k = (byKind[e.kind] ??= { count: 0, totalMs: 0, maxMs: 0 })
    k.count++
    k.totalMs += e.pauseMs
    k.maxMs = Math.max(k.maxMs, e.pauseMs)
    if (isFull(e.kind)) {
      markCompacts++
      markCompactMaxMs = Math.max(markCompactMaxMs, e.pauseMs)
      if (e.pauseMs >= 5) markCompactsOver5Ms++
    }
  }
  for (const k of Object.values(byKind)) k.totalMs = Math.round(k.totalMs * 100) / 100
  return { byKind, markCompacts, markCompactMaxMs, markCompactsOver5Ms }
}

/** Collects the GC events a process prints; `mark()` and `since(mark)` cut out a window. */
export class GcLog {
  private readonly events: Array<GcEvent> = []
  readonly onLine = (line: string): void => {
    const e = parseGcLine(line)
    if (e !== undefined) this.events.push(e)
  }
  mark(): number {
    return this.events.length
  }
  since(mark: number): ReadonlyArray<GcEvent> {
    return this.events.slice(mark)
  }
}

/** One row of part 8. */
export interface GcRow {
  readonly target: string
  readonly flags: string
  readonly seconds: number
  readonly requests: number
  readonly rps: number | null
  readonly p50Us: number | null
  readonly p99Us: number | null
  /** p99 ÷ the baseline's p99 in the same run. */
  readonly p99VsBaseline: number | null
  readonly gc: GcSummary
  readonly rssBeforeKb: number | null
  readonly rssAfterKb: number | null
}

/** What part 8 needs from the bench that runs it. */
export interface GcPartDeps {
  readonly quick: boolean
  readonly cpu: number | undefined
  /** Extra V8 flag sets for the gateway, each a run of its own (e.g. `--max-semi-space-size=32`). */
  readonly variants: ReadonlyArray<string>
  readonly baselineCommand: (nodeFlags: ReadonlyArray<string>) => Array<string>
  readonly gatewayCommand: (nodeFlags: ReadonlyArray<string>) => Array<string>
  readonly start: (
    name: string,
    command: ReadonlyArray<string>,
    cpu: number | undefined,
    onLine: (line: string) => void
  ) => Promise<ServerProcess>
  readonly stop: (server: ServerProcess) => Promise<void>
  readonly body: string
  readonly log: (message: string) => void
  readonly fail: (message: string) => void
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const flagsOf = (variant: string) => variant.split(/\s+/).filter((f) => f.length > 0)

/** Runs part 8; the baseline first, so every gateway row has its ratio. */
export const gcPart = async (deps: GcPartDeps): Promise<Array<GcRow>> => {
  const seconds = deps.quick ? 2 : 30
  const targets = [
    { name: "baseline", flags: "", command: deps.baselineCommand(["--trace-gc"]) },
    { name: "gateway", flags: "", command: deps.gatewayCommand(["--trace-gc"]) },
    ...deps.variants.map((v) => ({
      name: "gateway",
      flags: v,
      command: deps.gatewayCommand(["--trace-gc", ...flagsOf(v)])
    }))
  ]
  const rows: Array<GcRow> = []
  let baselineP99: number | undefined
  for (const t of targets) {
    const gcLog = new GcLog()
    let server: ServerProcess | undefined
    const label = `part 8 ${t.name}${t.flags === "" ? "" : ` ${t.flags}`}`
    try {
      server = await deps.start(`gc-${t.name}`, t.command, deps.cpu, gcLog.onLine)
      const url = `${server.origin}/v1/chat/completions`
      await runLoad({ url, body: deps.body, connections: 8, amount: deps.quick ? 500 : 5_000 })
      await runLoad({ url, body: deps.body, connections: 32, durationS: deps.quick ? 0.5 : 3 })
      await sleep(500)
      const rssBefore = rssKb(server.pid)
      const mark = gcLog.mark()
      const load: LoadResult = await runLoad({ url, body: deps.body, connections: 32, durationS: seconds })
      // The last trace lines of the window may still be in the pipe.
      await sleep(200)
      const gc = summarize(gcLog.since(mark))
      if (load.ok === 0 || load.non2xx + load.errors > 0) {
        deps.fail(`${label}: ${load.ok} ok, ${load.non2xx} non-2xx, ${load.errors} errors`)
      }
      if (t.name === "baseline") baselineP99 = load.p99Us
      rows.push({
        target: t.name,
        flags: t.flags,
        seconds,
        requests: load.ok,
        rps: round(load.rps),
        p50Us: round(load.p50Us),
        p99Us: round(load.p99Us),
        p99VsBaseline: load.p99Us === undefined || baselineP99 === undefined ? null : round(load.p99Us / baselineP99, 2),
        gc,
        rssBeforeKb: rssBefore ?? null,
        rssAfterKb: rssKb(server.pid) ?? null
      })
      deps.log(
        `  ${t.name}${t.flags === "" ? "" : ` ${t.flags}`}: p99 ${round(load.p99Us, 0)} µs,` +
          ` ${gc.markCompacts} Mark-Compact (max ${gc.markCompactMaxMs} ms),` +
          ` ${gc.byKind["Scavenge"]?.count ?? 0} Scavenge`
      )
    } catch (e) {
      deps.fail(`${label}: ${e instanceof Error ? e.message : String(e)}`)
    } finally {
      if (server !== undefined) await deps.stop(server)
    }
  }
  return rows
}
