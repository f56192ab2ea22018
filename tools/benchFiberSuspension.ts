// `npx tsx tools/benchFiberSuspension.ts`: what it costs a request that its Effect fiber waits on I/O. Runs 300k
// fibers (32 at a time) four ways, each in a child process under `--trace-gc-nvp`, and reports CPU per fiber and the
// bytes V8 promoted to the old generation per fiber:
//   sync     the fiber completes synchronously (the wait happens outside it, on a Node callback)
//   yield    the fiber yields once to Effect's scheduler, then completes
//   async    the fiber suspends once on Effect.async (resumed from setImmediate): what an upstream call in a fiber does
//   plain    no fiber at all, the same setImmediate hop
// Finding (2 Dec 2026, Effect 3.22.4 and 3.17.14 alike): every fiber that suspends on an async op is promoted with
// its whole graph (~1 KB of fiber plus whatever it references), one that yields is not; in a server that is the
// request's objects surviving into the old generation, Mark-Compacts, and 10–20 ms scavenges at c=32.
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect, Runtime } from "effect"

const variants = ["plain", "sync", "yield", "async"] as const
type Variant = typeof variants[number]
const total = 300_000
const concurrency = 32

const child = (variant: Variant) => {
  const runFork = Runtime.runFork(Runtime.defaultRuntime)
  let started = 0
  let finished = 0
  const t0 = process.cpuUsage()
  const done = () => {
    finished++
    if (finished === total) {
      const t = process.cpuUsage(t0)
      process.stdout.write(`cpu ${(t.user + t.system) / total}\n`)
    } else if (started < total) one()
  }
  const one = () => {
    started++
    // Per-request garbage of a realistic size, referenced until the request ends.
    const request = { items: Array.from({ length: 16 }, (_, i) => ({ i, text: `item ${i}` })) }
    const finish = () => {
      if (request.items.length !== 16) throw new Error("unreachable")
    }
    if (variant === "plain") {
      setImmediate(() => {
        finish()
        done()
      })
      return
    }
    const program = variant === "sync"
      ? Effect.sync(() => setImmediate(() => { finish(); done() }))
      : variant === "yield"
      ? Effect.zipRight(Effect.yieldNow(), Effect.sync(finish))
      : Effect.async<void>((resume) => {
        setImmediate(() => resume(Effect.sync(finish)))
      })
    const fiber = runFork(program)
    if (variant !== "sync") fiber.addObserver(done)
  }
  for (let i = 0; i < concurrency; i++) one()
}

const variantArg = process.argv[2] === "--child" ? process.argv[3] as Variant : undefined
if (variantArg !== undefined) child(variantArg)
else {
  const self = fileURLToPath(import.meta.url)
  process.stdout.write(`${total} fibers, ${concurrency} at a time (median of 3 runs each)\n`)
  process.stdout.write("| variant | CPU µs per fiber | promoted bytes per fiber | scavenges |\n|---|---:|---:|---:|\n")
  for (const variant of variants) {
    const runs = [0, 1, 2].map(() => {
      const out = execFileSync(process.execPath, ["--trace-gc-nvp", "--import", "tsx", self, "--child", variant], {
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024
      })
      const promoted = [...out.matchAll(/gc=s .*? promoted=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
      const scavenges = [...out.matchAll(/gc=s /g)].length
      const cpu = Number(/^cpu ([\d.]+)$/m.exec(out)?.[1] ?? NaN)
      return { cpu, promoted: promoted / total, scavenges }
    }).sort((a, b) => a.cpu - b.cpu)
    const mid = runs[1]!
    process.stdout.write(`| ${variant} | ${mid.cpu.toFixed(2)} | ${Math.round(mid.promoted)} | ${mid.scavenges} |\n`)
  }
}
