import { Effect, Layer, ManagedRuntime } from "effect"
import { spawn } from "node:child_process"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as ConfigFile from "../../src/config/ConfigFile.js"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as Gateway from "../../src/Gateway.js"
import * as GatewayConfig from "../../src/config/GatewayConfig.js"
import { GatewayServer } from "../../src/http/GatewayServer.js"
import * as LiveServer from "../../src/reload/LiveServer.js"

/** A config file in a fresh temporary directory. */
export interface ConfigFileHandle {
  readonly path: string
  /** Replaces the file's content (written to a temporary name, then renamed, as editors do). */
  readonly write: (yaml: string) => Promise<void>
  readonly remove: () => Promise<void>
}

let renames = 0

/** Writes `yaml` to `config.yaml` in a new temporary directory. */
export const configFile = async (yaml: string): Promise<ConfigFileHandle> => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "switchyard-live-"))
  const file = path.join(dir, "config.yaml")
  const write = async (text: string) => {
    const temp = path.join(dir, `.config.${process.pid}.${renames++}.tmp`)
    await fs.writeFile(temp, text)
    await fs.rename(temp, file)
  }
  await write(yaml)
  return { path: file, write, remove: () => fs.rm(dir, { recursive: true, force: true }) }
}

/** A live gateway in this process on a random loopback port. */
export interface LiveTestGateway {
  readonly url: string
  readonly file: ConfigFileHandle
  /** `POST /admin/v1/config/reload`. */
  readonly reload: (adminKey?: string) => Promise<{ readonly status: number; readonly body: Record<string, unknown> }>
  readonly close: () => Promise<void>
}

/** Starts a live gateway on `yaml` (written to a temporary file); the file watch is off unless `watch` is set. */
export const startLive = async (
  yaml: string,
  options: {
    readonly watch?: boolean
    readonly router?: Gateway.RouterLayer
    readonly env?: Record<string, string>
  } = {}
): Promise<LiveTestGateway> => {
  const file = await configFile(yaml)
  const config = await Effect.runPromise(ConfigFile.load(file.path).pipe(Effect.provide(NodeFileSystem.layer)))
  const layer = LiveServer.layerServer(file.path, {
    port: 0,
    host: "127.0.0.1",
    drainTimeoutMs: 2000,
    watch: options.watch ?? false,
    watchDebounceMs: 50,
    router: options.router
  }).pipe(Layer.provide(GatewayConfig.layer(config)))
  const runtime = ManagedRuntime.make(layer)
  const server = await runtime.runPromise(GatewayServer)
  const url = `http://127.0.0.1:${server.port}`
  return {
    url,
    file,
    reload: async (adminKey) => {
      const response = await fetch(`${url}/admin/v1/config/reload`, {
        method: "POST",
        headers: adminKey === undefined ? {} : { authorization: `Bearer ${adminKey}` }
      })
      return { status: response.status, body: await response.json() as Record<string, unknown> }
    },
    close: async () => {
      await runtime.dispose()
      await file.remove()
    }
  }
}

/** A gateway process (`node dist/main.js`) on a config file. */
export interface GatewayProcess {
  readonly url: string
  readonly child: ChildProcessWithoutNullStreams
  readonly output: () => string
  /** Resolves once the output matches `pattern` (or rejects after `timeoutMs`). */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>
  /** Sends SIGTERM and waits for the exit code. */
  readonly stop: () => Promise<number | null>
}

/** Spawns the built gateway on `file` (port 0) and waits for its address. */
export const spawnGateway = async (
  file: string,
  args: ReadonlyArray<string> = [],
  env: Record<string, string> = {}
): Promise<GatewayProcess> => {
  const child = spawn(process.execPath, ["dist/main.js", "--config", file, "--port", "0", ...args], {
    env: { ...process.env, SWITCHYARD_PORT: "", ...env }
  })
  let output = ""
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    for (const waiter of waiters) waiter()
  }
  child.stdout.on("data", onData)
  child.stderr.on("data", onData)
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const waitFor = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(output)) {
          waiters.delete(check)
          clearTimeout(timer)
          resolve()
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`))
      }, timeoutMs)
      waiters.add(check)
      check()
    })
  try {
    await Promise.race([
      waitFor(/listening on http:\/\/[^\s"]+/),
      exited.then((code) => Promise.reject(new Error(`exited ${code}: ${output}`)))
    ])
  } catch (error) {
    child.kill("SIGKILL")
    throw error
  }
  const url = /listening on (http:\/\/[^\s"]+)/.exec(output)![1]!
  return {
    url,
    child,
    output: () => output,
    waitFor,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      return exited
    }
  }
}
