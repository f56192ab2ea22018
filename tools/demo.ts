/**
 * `npm run demo`: the Database Research Agent of Plano's session-pinning demo, in TypeScript with the official
 * `openai` client. Five steps, each building on the message history, run twice: without and with
 * `X-Routing-Session-Id`. Without API keys the completions come from a local simulated provider; the gateway, its
 * embedded router and its session pins are the real ones.
 *
 *   npx tsx tools/demo.ts [--url http://127.0.0.1:12000] [--config examples/demo-config.yaml]
 */
import { Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import OpenAI from "openai"
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions"
import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as YAML from "yaml"
import * as ConfigFile from "../src/config/ConfigFile.js"
import * as Gateway from "../src/Gateway.js"
import * as GatewayConfig from "../src/config/GatewayConfig.js"
import { GatewayServer } from "../src/http/GatewayServer.js"
import { startSimulatedProvider } from "./SimulatedProvider.js"
import type { SimulatedProvider } from "./SimulatedProvider.js"

interface Step {
  readonly title: string
  /** The intent the step is written for (what Plano's demo expects the router to pick). */
  readonly intent: "code_generation" | "complex_reasoning"
  readonly prompt: string
}

const system = "You are a database research agent. An e-commerce company is choosing between PostgreSQL and " +
  "MongoDB for its new platform (orders, payments, inventory, a product catalog with varied attributes, traffic " +
  "spikes during sales). Work through the task step by step; each answer builds on your earlier ones. Keep answers " +
  "under 150 words."

const steps: ReadonlyArray<Step> = [
  {
    title: "List requirements",
    intent: "code_generation",
    prompt: "We are building the backend of this e-commerce platform. List the technical requirements its database " +
      "must meet."
  },
  {
    title: "Compare databases",
    intent: "complex_reasoning",
    prompt: "Compare PostgreSQL and MongoDB against these requirements. Analyse the trade-offs step by step and " +
      "explain which one fits better."
  },
  {
    title: "Write schema",
    intent: "code_generation",
    prompt: "Write the database schema for the platform: CREATE TABLE statements for customers, products, orders " +
      "and order items, with keys and indexes."
  },
  {
    title: "Assess scalability",
    intent: "complex_reasoning",
    prompt: "Assess the scalability trade-offs of this design at ten times today's traffic. Reason through write " +
      "contention, read replicas and sharding."
  },
  {
    title: "Write report",
    intent: "code_generation",
    prompt: "Write up the final recommendation report for the team, drawing on everything above."
  }
]

const requestedModel = "gpt-4o-mini"
const rule = "─".repeat(69)
const modelWidth = "claude-sonnet-4-20250514".length

interface StepResult {
  readonly model: string
  readonly routedModel: string | null
  readonly route: string | null
  readonly reason: string | null
  readonly pin: string | null
  readonly text: string
}

interface Options {
  readonly url: string | undefined
  readonly config: string
}

const usage = "usage: npx tsx tools/demo.ts [--url GATEWAY_URL] [--config CONFIG.yaml]"

const parseOptions = (argv: ReadonlyArray<string>): Options => {
  let url: string | undefined
  let config = fileURLToPath(new URL("../examples/demo-config.yaml", import.meta.url))
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [key, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg]
    const value = () => inline ?? argv[++i]
    if (key === "--url") url = value()?.replace(/\/+$/, "")
    else if (key === "--config") config = value() ?? config
    else if (key === "--help" || key === "-h") {
      console.log(usage)
      process.exit(0)
    } else {
      console.error(`unknown argument ${arg}\n${usage}`)
      process.exit(2)
    }
  }
  if (url !== undefined && !URL.canParse(url)) {
    console.error(`--url expects a URL, got "${url}"`)
    process.exit(2)
  }
  return { url, config }
}

const keySet = (name: string): boolean => (process.env[name] ?? "").trim() !== ""

/** Which provider families answer from the simulated provider (those whose key is unset). */
const simulatedFamilies = (): ReadonlyArray<string> =>
  [["openai", "OPENAI_API_KEY"], ["anthropic", "ANTHROPIC_API_KEY"]]
    .filter(([, variable]) => !keySet(variable!))
    .map(([family]) => family!)

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The demo config with the simulated families pointed at the simulated provider (with a dummy key). */
const demoConfig = (path: string, families: ReadonlyArray<string>, simulatedUrl: string | undefined) => {
  const raw: unknown = YAML.parse(readFileSync(path, "utf8"))
  if (simulatedUrl !== undefined && isRecord(raw)) {
    for (const key of ["model_providers", "llm_providers"]) {
      const providers = raw[key]
      if (!Array.isArray(providers)) continue
      for (const provider of providers) {
        if (!isRecord(provider) || typeof provider.model !== "string") continue
        if (families.includes(provider.model.split("/")[0]!)) {
          provider.base_url = simulatedUrl
          provider.access_key = "sk-simulated"
        }
      }
    }
  }
  return ConfigFile.parseObject(raw)
}

/** Starts the gateway in this process on a free loopback port, with its logs limited to errors. */
const startGateway = async (config: GatewayConfig.ResolvedConfig) => {
  const layer = Gateway.layerServer({ port: 0, host: "127.0.0.1", drainTimeoutMs: 1000 }).pipe(
    Layer.provide(GatewayConfig.layer(config)),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
  )
  const runtime = ManagedRuntime.make(layer)
  const server = await runtime.runPromise(GatewayServer)
  return { url: `http://127.0.0.1:${server.port}`, close: () => runtime.dispose() }
}

const snippet = (text: string, width = 66): string => {
  const flat = text.trim().replace(/\r?\n/g, "\\n")
  return flat.length > width ? `"${flat.slice(0, width - 1).trimEnd()}…"` : `"${flat}"`
}

const wrap = (text: string, width = 70): Array<string> =>
  text.trim().split(/\r?\n/).flatMap((paragraph) => {
    const lines: Array<string> = []
    let line = ""
    for (const word of paragraph.split(/\s+/).filter((w) => w !== "")) {
      if (line !== "" && line.length + 1 + word.length > width) {
        lines.push(line)
        line = word
      } else line = line === "" ? word : `${line} ${word}`
    }
    lines.push(line)
    return lines
  })

const runLoop = async (client: OpenAI, sessionId: string | undefined): Promise<Array<StepResult>> => {
  const messages: Array<ChatCompletionMessageParam> = [{ role: "system", content: system }]
  const results: Array<StepResult> = []
  for (const [i, step] of steps.entries()) {
    messages.push({ role: "user", content: step.prompt })
    const { data, response } = await client.chat.completions.create(
      { model: requestedModel, messages, max_completion_tokens: 600 },
      sessionId === undefined ? {} : { headers: { "X-Routing-Session-Id": sessionId } }
    ).withResponse()
    const text = data.choices[0]?.message.content ?? ""
    messages.push({ role: "assistant", content: text })
    const result: StepResult = {
      model: data.model,
      routedModel: response.headers.get("x-routing-model"),
      route: response.headers.get("x-routing-route"),
      reason: response.headers.get("x-routing-reason"),
      pin: response.headers.get("x-routing-pin"),
      text
    }
    const previous = results.at(-1)
    const switched = previous !== undefined && previous.model !== result.model
    const marks = [
      sessionId === undefined && result.route !== null ? `(${result.route})` : "",
      sessionId !== undefined && result.reason === "routed" ? "← routed" : "",
      sessionId !== undefined && result.reason === "pinned" ? "← pinned ✓" : "",
      switched ? "← switched" : ""
    ].filter((m) => m !== "")
    const modelCell = result.model.length >= modelWidth ? result.model : result.model.padEnd(modelWidth)
    console.log(`  step ${i + 1} [${modelCell}] ${step.title.padEnd(19)} ${marks.join(" ")}`.trimEnd())
    console.log(`         ${snippet(text)}`)
    results.push(result)
  }
  return results
}

const switchesOf = (results: ReadonlyArray<StepResult>): number =>
  results.reduce((n, r, i) => i > 0 && r.model !== results[i - 1]!.model ? n + 1 : n, 0)

const distinct = (results: ReadonlyArray<StepResult>): Array<string> => [...new Set(results.map((r) => r.model))]

const showPin = async (url: string, sessionId: string): Promise<void> => {
  try {
    const response = await fetch(`${url}/v1/routing/sessions/${encodeURIComponent(sessionId)}`)
    if (!response.ok) return
    const pin: unknown = await response.json()
    if (!isRecord(pin)) return
    const route = typeof pin.route === "string" ? ` via route ${pin.route}` : ""
    const hits = `${String(pin.hits)} hit(s)`
    console.log(`  pins API: session ${sessionId.slice(0, 8)}… → ${String(pin.model)}${route}, ${hits}`)
  } catch {
    // The pins API line is a bonus; a gateway that hides it (admin key) or is not Switchyard just skips it.
  }
}

const main = async (): Promise<number> => {
  const options = parseOptions(process.argv.slice(2))
  const started = performance.now()
  const cleanups: Array<() => Promise<void>> = []
  try {
    let url = options.url
    if (url === undefined) {
      const families = simulatedFamilies()
      let simulated: SimulatedProvider | undefined
      if (families.length > 0) {
        simulated = await startSimulatedProvider(0)
        cleanups.push(simulated.close)
      }
      if (families.length === 2) {
        console.log(
          "No OPENAI_API_KEY / ANTHROPIC_API_KEY set: completions come from a local simulated provider " +
            "(routing and pinning are real)."
        )
      } else if (families.length === 1) {
        const variable = families[0] === "openai" ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY"
        console.log(`${variable} is not set: ${families[0]}/* models answer from a local simulated provider.`)
      } else {
        console.log("OPENAI_API_KEY and ANTHROPIC_API_KEY set: every step is a real LLM call.")
      }
      const config = await Effect.runPromise(demoConfig(options.config, families, simulated?.url))
      const gateway = await startGateway(config)
      cleanups.unshift(gateway.close)
      url = gateway.url
      console.log(`Gateway: ${url} (embedded router, config ${options.config})`)
    } else {
      console.log(`Gateway: ${url} (started by you; completions are whatever it is configured for)`)
    }
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "EMPTY", maxRetries: 1, timeout: 120_000 })

    console.log("\nRun 1: WITHOUT Session Pinning")
    console.log(rule)
    const unpinned = await runLoop(client, undefined)
    const unpinnedSwitches = switchesOf(unpinned)
    console.log(
      unpinnedSwitches > 0
        ? `\n  ✗ Without pinning: model switched ${unpinnedSwitches} time(s) — ${distinct(unpinned).join(", ")}`
        : `\n  ✗ Without pinning: model switched 0 time(s) — the router sent every step to ${unpinned[0]!.model}`
    )

    const sessionId = randomUUID()
    console.log(`\nRun 2: WITH Session Pinning (X-Routing-Session-Id: ${sessionId.slice(0, 8)}…)`)
    console.log(rule)
    const pinned = await runLoop(client, sessionId)
    const pinnedSwitches = switchesOf(pinned)
    console.log(
      pinnedSwitches === 0
        ? `\n  ✓ With pinning: ${pinned[0]!.model} held for all ${pinned.length} steps`
        : `\n  ✗ With pinning: model switched ${pinnedSwitches} time(s) — ${distinct(pinned).join(", ")}`
    )
    await showPin(url, sessionId)

    const title = "══ Final Report (pinned session) "
    console.log(`\n${title}${"═".repeat(Math.max(2, 70 - title.length))}`)
    for (const line of wrap(pinned.at(-1)!.text)) console.log(line)
    console.log("═".repeat(70))
    console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`)
    return pinnedSwitches === 0 ? 0 : 1
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    console.error(`\ndemo failed: ${message}`)
    if (options.url !== undefined) console.error(`is a Switchyard gateway running at ${options.url}?`)
    return 1
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined)
  }
}

process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0)
})
process.exitCode = await main()
