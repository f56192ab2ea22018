// Helpers for tools/bench.ts: child servers pinned to a CPU, per-process CPU and RSS from /proc, a closed-loop load
// run (autocannon, latencies recorded in µs), a sequential node:http probe that reads first-byte times and headers.
import { execFileSync, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { createRequire } from "node:module"

// ---------------------------------------------------------------------------------------------------------------
// statistics

/** Percentile of an ascending-sorted array (nearest rank). */
export const percentile = (sorted: ArrayLike<number>, p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

/** A growable list of numbers kept in a Float64Array (millions of latencies without boxing). */
export class Samples {
  private data = new Float64Array(1024)
  private n = 0
  push(x: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2)
      next.set(this.data)
      this.data = next
    }
    this.data[this.n++] = x
  }
  get length(): number {
    return this.n
  }
  /** The samples, sorted ascending. */
  sorted(): Float64Array {
    return this.data.slice(0, this.n).sort()
  }
}

/** Rounds for JSON output (NaN becomes null). */
export const round = (x: number | undefined, digits = 1): number | null =>
  x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits))

// ---------------------------------------------------------------------------------------------------------------
// processes, CPU, memory

const clockTicks = ((): number => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** utime + stime of a process (all its threads) in µs, from /proc/<pid>/stat; undefined when unavailable. */
export const cpuMicros = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks
  } catch {
    return undefined
  }
}

const statusKb = (pid: number, key: string): number | undefined => {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? undefined : Number(m[1])
  } catch {
    return undefined
  }
}

/** Resident set size of a process in kB (VmRSS); undefined when unavailable. */
export const rssKb = (pid: number): number | undefined => statusKb(pid, "VmRSS")

/** Peak resident set size of a process since it started, in kB (VmHWM). */
export const peakRssKb = (pid: number): number | undefined => statusKb(pid, "VmHWM")

/** Samples a process's RSS every `everyMs` until stopped; returns the peak seen (kB). */
export const rssSampler = (pid: number, everyMs = 100): { readonly stop: () => number | undefined } => {
  let peak: number | undefined
  const sample = () => {
    const v = rssKb(pid)
    if (v !== undefined && (peak === undefined || v > peak)) peak = v
  }
  sample()
  const timer = setInterval(sample, everyMs)
  return {
    stop: () => {
      clearInterval(timer)
      sample()
      return peak
    }
  }
}

/** Whether `taskset` can pin processes here (Linux with util-linux and at least 2 CPUs). */
export const canPin = (cpus: number): boolean => {
  if (cpus < 2) return false
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/** Pins every thread of a running process to one CPU. */
export const pinProcess = (pid: number, cpu: number): void => {
  execFileSync("taskset", ["-a", "-cp", String(cpu), String(pid)], { stdio: "ignore" })
}

/** A server running in its own child process. */
export interface ServerProcess {
  readonly name: string
  readonly pid: number
  /** `http://127.0.0.1:PORT` as announced by the process. */
  readonly origin: string
  /** The last lines the process wrote (stdout and stderr). */
  readonly output: () => string
  readonly exitCode: () => number | null | undefined
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  readonly stop: (graceMs?: number) => Promise<void>
}

const listeningLine = /listening on http:\/\/(\[[^\]]+\]|[^\s:"/]+):(\d+)/

/**
 * Starts `command` (pinned to `cpu` with taskset when given) and waits for its "listening on http://HOST:PORT" line.
 */
export const startServer = (
  name: string,
  command: ReadonlyArray<string>,
  options: {
    readonly cpu: number | undefined
    readonly cwd: string
    readonly timeoutMs?: number
    /** Every output line, as it arrives (e.g. to count `--trace-gc` lines). */
    readonly onLine?: (line: string) => void
  }
): Promise<ServerProcess> =>
  new Promise((resolve, reject) => {
    const argv = options.cpu === undefined ? [...command] : ["taskset", "-c", String(options.cpu), ...command]
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] })
    const lines: Array<string> = []
    let buffered = ""
    let settled = false
    let exit: number | null | undefined
    const exited = new Promise<void>((done) =>
      child.once("exit", (code, signal) => {
        exit = code ?? (signal === null ? null : -1)
        done()
      })
    )
    const output = () => lines.join("\n")
    const stop = async (graceMs = 5000) => {
      if (exit !== undefined) return
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
      await exited
      clearTimeout(timer)
    }
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      void stop(500)
      const waited = options.timeoutMs ?? 30_000
      reject(new Error(`${name} did not announce "listening on http://…" within ${waited} ms:\n${output()}`))
    }, options.timeoutMs ?? 30_000)
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString("utf8")
      let nl: number
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        options.onLine?.(line)
        lines.push(line)
        if (lines.length > 200) lines.shift()
        const m = listeningLine.exec(line)
        if (m !== null && !settled && child.pid !== undefined) {
          settled = true
          clearTimeout(timer)
          const host = m[1] === "0.0.0.0" || m[1] === "[::]" || m[1] === "localhost" ? "127.0.0.1" : m[1]!
          resolve({ name, pid: child.pid, origin: `http://${host}:${m[2]}`, output, exitCode: () => exit, stop })
        }
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("error", (e) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(new Error(`${name} could not start (${argv.join(" ")}): ${e.message}`))
    })
    void exited.then(() => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(new Error(`${name} exited with ${exit} before listening (${argv.join(" ")}):\n${output()}`))
    })
  })

// ---------------------------------------------------------------------------------------------------------------
// load generation (autocannon as a library)

interface AutocannonRequest {
  method?: string
  path?: string
  headers?: Record<string, string>
  body?: string | Buffer
  setupRequest?: (request: AutocannonRequest, context: object) => AutocannonRequest
}

interface AutocannonOptions {
  readonly url: string
  readonly method: string
  readonly headers: Record<string, string>
  readonly body: string
  readonly connections: number
  readonly duration?: number
  readonly amount?: number
  readonly timeout: number
  readonly sampleInt: number
  readonly requests?: Array<AutocannonRequest>
}

interface AutocannonResult {
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
}

interface AutocannonInstance {
  on(event: "response", listener: (client: unknown, status: number, bytes: number, ms: number) => void): void
}

type Autocannon = (
  options: AutocannonOptions,
  callback: (error: Error | null, result: AutocannonResult) => void
) => AutocannonInstance

// autocannon ships no type declarations; this is the slice of its API used here.
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon

/** What one closed-loop run measured. */
export interface LoadResult {
  /** 2xx responses. */
  readonly ok: number
  readonly non2xx: number
  /** Connection errors and timeouts. */
  readonly errors: number
  readonly seconds: number
  readonly rps: number
  /** Latency percentiles of 2xx responses, in µs (undefined when latencies were not recorded). */
  readonly p50Us: number | undefined
  readonly p90Us: number | undefined
  readonly p99Us: number | undefined
}

/** One closed-loop run with `connections` keep-alive connections, for `durationS` seconds or `amount` requests. */
export const runLoad = (options: {
  readonly url: string
  readonly body: string
  readonly headers?: Record<string, string>
  readonly connections: number
  readonly durationS?: number
  readonly amount?: number
  /** Per-request headers (e.g. a fresh session id each time). */
  readonly perRequestHeaders?: () => Record<string, string>
  readonly recordLatencies?: boolean
}): Promise<LoadResult> =>
  new Promise((resolve, reject) => {
    const headers = { "content-type": "application/json", ...options.headers }
    const latencies = new Samples()
    const record = options.recordLatencies !== false
    let ok = 0
    const perRequest = options.perRequestHeaders
    const requests: Array<AutocannonRequest> | undefined = perRequest === undefined ? undefined : [{
      method: "POST",
      body: options.body,
      setupRequest: (req) => ({ ...req, headers: { ...headers, ...perRequest() } })
    }]
    const started = process.hrtime.bigint()
    const instance = autocannon({
      url: options.url,
      method: "POST",
      headers,
      body: options.body,
      connections: options.connections,
      timeout: 10,
      // autocannon only notices the end of a run on its sampling tick: keep the tick short so runs end on time
      sampleInt: 50,
      ...(options.amount === undefined ? { duration: options.durationS ?? 5 } : { amount: options.amount }),
      ...(requests === undefined ? {} : { requests })
    }, (error, result) => {
      if (error !== null) return reject(error)
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const sorted = latencies.sorted()
      resolve({
        ok,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        seconds,
        rps: ok / seconds,
        p50Us: record ? percentile(sorted, 50) : undefined,
        p90Us: record ? percentile(sorted, 90) : undefined,
        p99Us: record ? percentile(sorted, 99) : undefined
      })
    })
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status < 200 || status >= 300) return
      ok++
      if (record) latencies.push(ms * 1000)
    })
  })

// ---------------------------------------------------------------------------------------------------------------
// sequential probe (node:http, one keep-alive connection)

/** One probed request. */
export interface ProbeSample {
  readonly status: number
  /** Time to the first body byte (for SSE: the first frame, i.e. time to first token as a client sees it), µs. */
  readonly firstByteUs: number
  readonly totalUs: number
  readonly headers: Readonly<Record<string, string | Array<string> | undefined>>
  readonly body: string
}

/** Sends `n` requests one after another on one keep-alive connection (after `warmup` unmeasured ones). */
export const probe = async (options: {
  readonly url: string
  readonly body: string
  readonly n: number
  readonly warmup: number
  /** Headers for request i (0-based, warm-up included). */
  readonly headers?: (i: number) => Record<string, string>
  /** Stop measuring after this long (the samples so far are kept). */
  readonly maxMs?: number
}): Promise<Array<ProbeSample>> => {
  const url = new URL(options.url)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const body = Buffer.from(options.body)
  const once = (i: number) =>
    new Promise<ProbeSample>((resolve, reject) => {
      const t0 = process.hrtime.bigint()
      let first = 0n
      const parts: Array<Buffer> = []
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": body.length, ...options.headers?.(i) }
      }, (res) => {
        res.on("data", (c: Buffer) => {
          if (first === 0n) first = process.hrtime.bigint()
          parts.push(c)
        })
        res.on("end", () => {
          const end = process.hrtime.bigint()
          resolve({
            status: res.statusCode ?? 0,
            firstByteUs: Number((first === 0n ? end : first) - t0) / 1e3,
            totalUs: Number(end - t0) / 1e3,
            headers: res.headers,
            body: Buffer.concat(parts).toString("utf8")
          })
        })
        res.on("error", reject)
      })
      req.on("error", reject)
      req.end(body)
    })
  const out: Array<ProbeSample> = []
  const started = Date.now()
  try {
    for (let i = 0; i < options.warmup + options.n; i++) {
      if (options.maxMs !== undefined && i > options.warmup && Date.now() - started > options.maxMs) break
      const sample = await once(i)
      if (i >= options.warmup) out.push(sample)
    }
  } finally {
    agent.destroy()
  }
  return out
}

/** Counts the values of one response header over probe samples. */
export const headerCounts = (samples: ReadonlyArray<ProbeSample>, name: string): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const s of samples) {
    const v = s.headers[name]
    const key = v === undefined ? "(absent)" : Array.isArray(v) ? v.join(",") : v
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}

/** The `routing;dur=` value of a `server-timing` header, in ms. */
export const routingDurationMs = (sample: ProbeSample): number | undefined => {
  const v = sample.headers["server-timing"]
  const m = /(?:^|,)\s*routing;(?:[^,]*;)?\s*dur=([0-9.]+)/.exec(Array.isArray(v) ? v.join(",") : v ?? "")
  return m === null ? undefined : Number(m[1])
}
