import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { execFile, spawnSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { startSimulatedProvider } from "../../tools/SimulatedProvider.js"
import type { SimulatedProvider } from "../../tools/SimulatedProvider.js"
import { spawnChild, stopChild } from "../support/ChildProcesses.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const mainJs = join(root, "dist", "main.js")

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** The environment of a child: no provider keys or Switchyard settings leak in from the caller. */
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of Object.keys(env)) {
    if (/^(OPENAI_API_KEY|ANTHROPIC_API_KEY|SWITCHYARD_.*)$/.test(key)) delete env[key]
  }
  return { ...env, NO_COLOR: "1", ...extra }
}

const cli = (args: ReadonlyArray<string>, extraEnv: Record<string, string> = {}): Promise<Result> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [mainJs, ...args],
      { cwd: root, env: cleanEnv(extraEnv), timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resolve({ code, stdout, stderr })
      }
    )
  })

const newestMtime = (dir: string): number =>
  Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
      entry.isDirectory() ? newestMtime(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs
    )
  )

/** Every YAML file of the repository (outside dependencies and build output). */
const yamlFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) return []
    // Not gateway configs without their environment: compose's own file, and the container's config (which needs the
    // variables compose sets; test/auth/Deployment.test.ts loads it with them).
    if (entry.name === "docker-compose.yaml" || (dir === root && entry.name === "docker")) return []
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return yamlFiles(path)
    return /\.ya?ml$/.test(entry.name) ? [relative(root, path)] : []
  })

const tmp = mkdtempSync(join(tmpdir(), "switchyard-cli-"))
const writeConfig = (name: string, text: string): string => {
  const path = join(tmp, name)
  writeFileSync(path, text)
  return path
}

beforeAll(() => {
  // `npm test` builds first; a direct `vitest run` after editing sources must not test a stale build.
  let stale = true
  try {
    stale = statSync(mainJs).mtimeMs < newestMtime(join(root, "src"))
  } catch {
    stale = true
  }
  if (stale) {
    const tsc = join(root, "node_modules/typescript/bin/tsc")
    spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root })
  }
  assert.isTrue(statSync(mainJs).isFile(), "dist/main.js is built")
}, 120_000)

afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe.concurrent("switchyard --help / --version", () => {
  it("prints the commands, options and exit codes", async () => {
    const result = await cli(["--help"])
    assert.strictEqual(result.code, 0)
    const expected = ["switchyard [up]", "switchyard check", "switchyard route", "switchyard sessions list", "--port"]
    for (const text of expected) assert.include(result.stdout, text)
    assert.include(result.stdout, "Exit codes: 0 ok, 1 runtime failure, 2 bad usage or invalid config")
  })

  it("prints a command's own help", async () => {
    const result = await cli(["sessions", "--help"])
    assert.strictEqual(result.code, 0)
    assert.include(result.stdout, "switchyard sessions unpin <id>")
    assert.include(result.stdout, "--admin-key KEY")
    assert.notInclude(result.stdout, "--port")
  })

  it("prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { readonly version: string }
    const result = await cli(["--version"])
    assert.strictEqual(result.code, 0)
    assert.strictEqual(result.stdout.trim(), `switchyard ${pkg.version}`)
  })
})

describe.concurrent("switchyard check", () => {
  it("accepts every YAML file in the repository", async () => {
    const files = yamlFiles(root)
    assert.includeMembers(files, ["config.yaml", join("examples", "demo-config.yaml")])
    const results = await Promise.all(files.map((file) => cli(["check", file])))
    results.forEach((result, i) => {
      assert.strictEqual(result.code, 0, `${files[i]}: ${result.stderr}`)
      assert.include(result.stdout, `${files[i]}: valid`)
    })
  })

  it("prints providers with key status, routes with descriptions, and warns about unset keys", async () => {
    const result = await cli(["check", "examples/demo-config.yaml"], { ANTHROPIC_API_KEY: "sk-ant-secret-value" })
    assert.strictEqual(result.code, 0)
    const out = result.stdout
    assert.match(out, /gpt-4o-mini +openai +https:\/\/api\.openai\.com\/v1 +key: unset \$OPENAI_API_KEY +default/)
    assert.match(out, /anthropic\/claude-sonnet-4-20250514\s+anthropic\s+https:\/\/api\.anthropic\.com\/v1\s+key: set/)
    assert.match(out, /code_generation\s+→ anthropic\/claude-sonnet-4-20250514/)
    assert.include(out, "\"complex reasoning tasks, multi-step analysis, or detailed explanations\"")
    assert.include(out, "$OPENAI_API_KEY is not set: requests sent to openai/gpt-4o-mini, openai/gpt-4o will get a 401")
    assert.notInclude(out, "ignored (Plano keys")
    assert.include(out, "tracing   off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (sampling 100%)")
    assert.include(out, "router    embedded")
    assert.notInclude(out, "sk-ant-secret-value")
    assert.notInclude(out, "overlap")
  })

  it("warns about overlapping and vague route descriptions, and hides credentials in base URLs", async () => {
    const path = writeConfig("lint.yaml", `
version: v0.4.0
model_providers:
  - model: openai/gpt-4o
    access_key: sk-test
    default: true
  - model: anthropic/claude-sonnet-4-20250514
    access_key: sk-test
  - model: custom/local-model
    provider_interface: openai
    base_url: https://bob:hunter2@llm.internal/v1
routing_preferences:
  - name: python_code
    description: writing python code, functions and unit tests
    models: [anthropic/claude-sonnet-4-20250514]
  - name: js_code
    description: writing javascript code, functions and unit tests
    models: [anthropic/claude-sonnet-4-20250514]
  - name: other
    description: general questions
    models: [openai/gpt-4o]
`)
    const result = await cli(["check", path])
    assert.strictEqual(result.code, 0, result.stderr)
    assert.match(result.stdout, /routes python_code and js_code overlap \(shared words: [^)]*function/)
    assert.include(result.stdout, "route other: description \"general questions\" is too short or generic")
    assert.notInclude(result.stdout, "route python_code: description")
    assert.notInclude(result.stdout, "is not set")
    assert.include(result.stdout, "https://***@llm.internal/v1")
    assert.notInclude(result.stdout, "hunter2")
  })

  it("exits 2 on an invalid config and names the YAML path of each error", async () => {
    const path = writeConfig("broken.yaml", `
version: v0.4.0
listeners:
  - type: model
    port: not-a-port
model_providers:
  - model: openai/gpt-4o
    access_key: sk-test
routing_preferences:
  - name: code
    description: writing code
    models: [openai/gpt-5]
`)
    const result = await cli(["check", path])
    assert.strictEqual(result.code, 2)
    assert.include(result.stderr, `cannot use config ${path}`)
    assert.include(result.stderr, "listeners[0].port:")
    assert.include(result.stderr, "routing_preferences[0].models[0]:")
    assert.notInclude(result.stderr, "at ")
    assert.strictEqual(result.stdout, "")
  })

  it("exits 2 on a YAML syntax error and on a missing file", async () => {
    const path = writeConfig("syntax.yaml", "version: v0.4.0\nmodel_providers: [\n  - model: openai/gpt-4o\n")
    const syntax = await cli(["check", path])
    assert.strictEqual(syntax.code, 2)
    assert.match(syntax.stderr, /syntax\.yaml:\d+:\d+: YAML syntax error/)
    const missing = await cli(["check", join(tmp, "nope.yaml")])
    assert.strictEqual(missing.code, 2)
    assert.include(missing.stderr, "not found")
  })
})

describe.concurrent("switchyard route", () => {
  it("prints the route, models, reason, confidence and decision time", async () => {
    const result = await cli([
      "route",
      "examples/demo-config.yaml",
      "Write a Python function that parses a CSV file and returns the rows as dictionaries"
    ])
    assert.strictEqual(result.code, 0, result.stderr)
    assert.match(result.stdout, /^route\s+code_generation$/m)
    assert.match(result.stdout, /^models\s+anthropic\/claude-sonnet-4-20250514$/m)
    assert.match(result.stdout, /^reason\s+routed$/m)
    assert.match(result.stdout, /^confidence\s+(0|1)\.\d\d$/m)
    assert.match(result.stdout, /^time\s+\d+\.\d{3} ms \(embedded router\)$/m)
  })

  it("falls back to the default model when no route matches", async () => {
    const result = await cli(["route", "config.yaml", "hi there!"])
    assert.strictEqual(result.code, 0, result.stderr)
    assert.match(result.stdout, /^route\s+\(none\)$/m)
    assert.match(result.stdout, /^models\s+\(none\)$/m)
    assert.match(result.stdout, /^model\s+openai\/gpt-4o-mini$/m)
    assert.match(result.stdout, /^reason\s+no_match$/m)
  })
})

describe.concurrent("bad usage exits 2", () => {
  const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["frobnicate"], "unknown command \"frobnicate\""],
    [["check", "--frob"], "unknown option --frob for 'check'"],
    [["check", "a.yaml", "b.yaml"], "unexpected argument \"b.yaml\""],
    [["up", "--port", "http"], "--port expects a whole number"],
    [["up", "--port"], "--port needs a value"],
    [["route", "config.yaml"], "expected a config file and a prompt"],
    [["sessions"], "sessions needs an action"],
    [["sessions", "show"], "sessions show needs a session id"],
    [["sessions", "list", "--url", "not a url"], "--url expects an http(s) URL"]
  ]
  for (const [args, message] of cases) {
    it(`switchyard ${args.join(" ")}`, async () => {
      const result = await cli(args)
      assert.strictEqual(result.code, 2, result.stderr)
      assert.include(result.stderr, message)
      assert.include(result.stderr, "--help")
    })
  }

  it("up on an invalid config exits 2 with the path of the error and no stack dump", async () => {
    const path = writeConfig(
      "bad-up.yaml",
      "version: v0.4.0\nmodel_providers:\n  - model: openai/gpt-4o\n    default: maybe\n"
    )
    const result = await cli(["up", path, "--port", "0"])
    assert.strictEqual(result.code, 2)
    assert.include(result.stderr, "model_providers[0].default:")
    assert.notInclude(result.stderr, "    at ")
  })
})

describe("switchyard up + sessions", () => {
  let provider: SimulatedProvider
  let gateway: ChildProcess
  let url = ""
  const adminKey = "test-admin-key"
  const sessionId = "cli-test-session"

  beforeAll(async () => {
    provider = await startSimulatedProvider()
    const path = writeConfig("sessions.yaml", `
version: v0.4.0
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${provider.url}
    access_key: sk-test
    default: true
  - model: anthropic/claude-sonnet-4-20250514
    base_url: ${provider.url}
    access_key: sk-test
routing_preferences:
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models: [anthropic/claude-sonnet-4-20250514]
routing:
  admin_key: ${adminKey}
`)
    gateway = spawnChild(process.execPath, [mainJs, "up", path, "--port", "0", "--host", "127.0.0.1"], {
      cwd: root,
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"]
    })
    url = await new Promise<string>((resolve, reject) => {
      let seen = ""
      const timer = setTimeout(() => reject(new Error(`gateway did not start: ${seen}`)), 15_000)
      const onData = (chunk: Buffer) => {
        seen += chunk.toString()
        const match = /listening on (http:\/\/[^\s"]+)/.exec(seen)
        if (match !== null) {
          clearTimeout(timer)
          resolve(match[1]!)
        }
      }
      gateway.stdout!.on("data", onData)
      gateway.stderr!.on("data", onData)
      gateway.once("exit", (code) => reject(new Error(`gateway exited with ${code}: ${seen}`)))
    })
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-routing-session-id": sessionId },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Write a Python function that reverses a linked list" }]
      })
    })
    assert.strictEqual(response.status, 200, await response.clone().text())
    assert.strictEqual(response.headers.get("x-routing-pin"), "created")
  }, 30_000)

  afterAll(async () => {
    // Unset when beforeAll failed before spawning.
    if ((gateway as ChildProcess | undefined) !== undefined) await stopChild(gateway)
    await provider.close()
  })

  it("lists pins with the admin key (flag or SWITCHYARD_ADMIN_KEY)", async () => {
    const byFlag = await cli(["sessions", "list", "--url", url, "--admin-key", adminKey])
    assert.strictEqual(byFlag.code, 0, byFlag.stderr)
    assert.match(byFlag.stdout, /^SESSION\s+MODEL\s+ROUTE\s+HITS\s+LAST USED\s+EXPIRES$/m)
    assert.match(byFlag.stdout, /^cli-test-session\s+anthropic\/claude-sonnet-4-20250514\s+code_generation\s+\d+\s/m)
    assert.include(byFlag.stdout, "1 of 1 pinned session(s)")
    const byEnv = await cli(["sessions", "list", `--url=${url}`], { SWITCHYARD_ADMIN_KEY: adminKey })
    assert.strictEqual(byEnv.code, 0, byEnv.stderr)
    assert.include(byEnv.stdout, sessionId)
  })

  it("fails with exit 1 and a hint without the admin key", async () => {
    const result = await cli(["sessions", "list", "--url", url])
    assert.strictEqual(result.code, 1)
    assert.include(result.stderr, "--admin-key")
  })

  it("shows one pin, unpins it, then reports it absent", async () => {
    const auth = { SWITCHYARD_ADMIN_KEY: adminKey }
    const shown = await cli(["sessions", "show", sessionId, "--url", url], auth)
    assert.strictEqual(shown.code, 0, shown.stderr)
    assert.match(shown.stdout, /^model\s+anthropic\/claude-sonnet-4-20250514$/m)
    assert.match(shown.stdout, /^route\s+code_generation$/m)
    assert.match(shown.stdout, /^expires\s+\S+Z \(in \d+ (s|min)\)$/m)
    const unpinned = await cli(["sessions", "unpin", sessionId, "--url", url], auth)
    assert.strictEqual(unpinned.code, 0, unpinned.stderr)
    assert.include(unpinned.stdout, `unpinned session ${sessionId}`)
    const again = await cli(["sessions", "show", sessionId, "--url", url], auth)
    assert.strictEqual(again.code, 1)
    assert.include(again.stderr, `no pin for session ${sessionId}`)
    const unpinAgain = await cli(["sessions", "unpin", sessionId, "--url", url], auth)
    assert.strictEqual(unpinAgain.code, 1)
    const empty = await cli(["sessions", "list", "--url", url], auth)
    assert.strictEqual(empty.code, 0)
    assert.include(empty.stdout, "no pinned sessions")
  })

  it("exits 1 when no gateway listens at --url", async () => {
    const result = await cli(["sessions", "list", "--url", "http://127.0.0.1:9"])
    assert.strictEqual(result.code, 1)
    assert.include(result.stderr, "cannot reach the gateway at http://127.0.0.1:9")
  })

  it("stops cleanly on SIGTERM", async () => {
    const exited = new Promise<number | null>((resolve) => gateway.once("exit", (code) => resolve(code)))
    gateway.kill("SIGTERM")
    assert.strictEqual(await exited, 0)
  })
})
