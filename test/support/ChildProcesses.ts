import { spawn } from "node:child_process"
import type { ChildProcess, SpawnOptions } from "node:child_process"

const alive = new Set<ChildProcess>()

const signalGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (child.pid === undefined) return
  try {
    // Negative pid: the child's whole process group, so wrappers (npx, tsx) cannot orphan what they started.
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

/**
 * Spawns a child in its own process group and remembers it until it exits, so `stopChild` (or `stopAll` in an
 * `afterEach`/`afterAll`) can end it and everything it started.
 */
export const spawnChild = (command: string, args: ReadonlyArray<string>, options: SpawnOptions = {}): ChildProcess => {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options, detached: true })
  alive.add(child)
  child.once("exit", () => alive.delete(child))
  return child
}

/**
 * Ends a child by pid: `signal` to its process group, a bounded wait, then SIGKILL. Resolves once it has exited.
 */
export const stopChild = async (
  child: ChildProcess,
  options: { readonly signal?: NodeJS.Signals; readonly graceMs?: number } = {}
): Promise<void> => {
  if (child.pid === undefined) return
  const done = new Promise<void>((resolve) => {
    if (exited(child)) resolve()
    else child.once("exit", () => resolve())
  })
  signalGroup(child, options.signal ?? "SIGTERM")
  let timer: NodeJS.Timeout | undefined
  const graceful = await Promise.race([
    done.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), options.graceMs ?? 5_000)
    })
  ])
  clearTimeout(timer)
  // Also after a clean exit of the leader: members of its group may outlive it.
  signalGroup(child, "SIGKILL")
  if (!graceful) await done
}

/** Stops every child started with `spawnChild` that is still running. */
export const stopAll = (): Promise<void> =>
  Promise.all([...alive].map((child) => stopChild(child, { graceMs: 2_000 }))).then(() => undefined)

/** `tsx` run by this Node directly (not through `npx`, which would put one more process between us and the child). */
export const tsxCli = new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url).pathname
