import { randomUUID } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"

/**
 * Vitest global setup: marks the run in the environment every test process and its children inherit, and at the
 * end fails the run naming any process that still carries the mark or descends from the runner. A child whose
 * spawner died is re-parented away from the runner; the mark still finds it.
 */
const variable = "TEST_LEAK_GUARD_RUN"

interface Proc {
  readonly pid: number
  readonly ppid: number
  readonly command: string
  readonly marked: boolean
}

const readProc = (pid: number, mark: string): Proc | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name in parentheses may contain spaces; ppid is the second field after it.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim()
    let marked = false
    try {
      marked = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`${variable}=${mark}`)
    } catch {
      // another user's process: not ours
    }
    return { pid, ppid, command, marked }
  } catch {
    return undefined
  }
}

// Vitest's own helpers (its test workers, its esbuild service) are still up when global teardown runs; they are the
// runner's business, not a leak. What they started is not exempt.
const runnerOwn = (p: Proc, root: number): boolean =>
  (p.ppid === root && /^node \(vitest \d+\)$/.test(p.command)) ||
  (p.ppid === root && /\/esbuild --service=/.test(p.command))

/** Processes started by this run that are still alive (zombies excluded), other than the runner itself. */
export const leftovers = (mark: string, root = process.pid): Array<Proc> => {
  const procs: Array<Proc> = []
  for (const name of readdirSync("/proc")) {
    const pid = Number(name)
    if (!Number.isInteger(pid) || pid === root) continue
    try {
      if (readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ")) continue
    } catch {
      continue
    }
    const proc = readProc(pid, mark)
    if (proc !== undefined) procs.push(proc)
  }
  const byPid = new Map(procs.map((p) => [p.pid, p]))
  const descends = (p: Proc): boolean => {
    for (let at: Proc | undefined = p, hops = 0; at !== undefined && hops < 64; at = byPid.get(at.ppid), hops++) {
      if (at.ppid === root) return true
    }
    return false
  }
  return procs.filter((p) => (p.marked || descends(p)) && !runnerOwn(p, root))
}

export const setup = () => {
  const mark = randomUUID()
  process.env[variable] = mark
  return async () => {
    // Test workers wind down as the run ends; give them (and anything stopping on its own) a moment.
    const deadline = Date.now() + 5_000
    let left = leftovers(mark)
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      left = leftovers(mark)
    }
    if (left.length > 0) {
      const names = left.map((p) => `  pid ${p.pid} (parent ${p.ppid}): ${p.command}`).join("\n")
      throw new Error(`The test run left ${left.length} process(es) running:\n${names}`)
    }
  }
}
