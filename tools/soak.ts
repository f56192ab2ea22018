// The resilience soak: 32 concurrent pinned sessions against the built gateway while one of two providers fails 30% of
// its requests at random. Passes when no client sees a failure, no session is served by more than two models or
// migrates more than once, and the gateway's memory does not grow. Bounded: --seconds (default 50, at most 60).
// usage: npm run soak [-- --seconds N --sessions N --fail-rate 0.3]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { rssKb, startServer } from "./benchSupport.js"
import type { ServerProcess } from "./benchSupport.js"

const argv = process.argv.slice(2)
const arg = (name: string, fallback: number) => {
  const i = argv.indexOf(name)
  return i < 0 ? fallback : Number(argv[i + 1])
}
const seconds = Math.min(60, arg("--seconds", 50))
const concurrency = arg("--sessions", 32)
const failRate = arg("--fail-rate", 0.3)
const stepsPerSession = 25
const mb = (kb: number) => Math.round(kb / 1024)
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")

/** A provider on loopback answering OpenAI JSON; `failRate` of its requests get a 503. */
const startProvider = async (rate: number) => {
  let requests = 0
  let failed = 0
  const server = createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (c: Buffer) => parts.push(c))
    req.on("end", () => {
      requests++
      const model = String((JSON.parse(Buffer.concat(parts).toString("utf8")) as { model?: unknown }).model)
      if (Math.random() < rate) {
        failed++
        res.writeHead(503, { "content-type": "application/json" })
        return res.end("{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":null}}")
      }
      const body = JSON.stringify({
        id: "chatcmpl-soak",
        object: "chat.completion",
        created: 1,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: `served by ${model}` }, finish_reason: "stop" }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
      })
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
      res.end(body)
    })
  })
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats: () => ({ requests, failed }),
    close: () => new Promise<void>((done) => server.close(() => done()))
  }
}

interface SessionRecord {
  readonly models: Set<string>
  migrations: number
}

const main = async () => {
  const flaky = await startProvider(failRate)
  const healthy = await startProvider(0)
  const tmp = mkdtempSync(join(tmpdir(), "switchyard-soak-"))
  const file = join(tmp, "soak.yaml")
  writeFileSync(
    file,
    `version: v0.4.0
listeners:
  - type: model
    name: model_listener
    timeout: 10s
model_providers:
  - model: openai/flaky
    base_url: ${flaky.url}
    access_key: soak
  - model: openai/healthy
    base_url: ${healthy.url}
    access_key: soak
    default: true
routing:
  session_max_entries: 100000
`
  )
  let gateway: ServerProcess | undefined
  try {
    const command = [process.execPath, join(root, "dist", "main.js"), "--config", file, "--port", "0"]
    gateway = await startServer("gateway", command, { cpu: undefined, cwd: root })
    const url = `${gateway.origin}/v1/chat/completions`
    const sessions = new Map<string, SessionRecord>()
    const failures: Array<string> = []
    let ok = 0
    const deadline = Date.now() + seconds * 1000
    const rss: Array<number> = []
    const sampler = setInterval(() => {
      const kb = rssKb(gateway!.pid)
      if (kb !== undefined) rss.push(kb)
    }, 250)

    const worker = async (w: number) => {
      for (let n = 0; Date.now() < deadline; n++) {
        // Half the sessions ask for the flaky model (and get pinned to it), half for the healthy one.
        const id = `soak-${process.pid}-${w}-${n}`
        const record: SessionRecord = { models: new Set(), migrations: 0 }
        sessions.set(id, record)
        const body = JSON.stringify({
          model: w % 2 === 0 ? "openai/flaky" : "openai/healthy",
          messages: [{ role: "user", content: `step of ${id}` }]
        })
        for (let step = 0; step < stepsPerSession && Date.now() < deadline; step++) {
          try {
            const response = await fetch(url, {
              method: "POST",
              headers: { "content-type": "application/json", "x-routing-session-id": id },
              body
            })
            await response.arrayBuffer()
            if (response.status !== 200) failures.push(`${id} step ${step}: HTTP ${response.status}`)
            else ok++
            const model = response.headers.get("x-routing-model")
            if (model !== null) record.models.add(model)
            if (response.headers.get("x-routing-pin") === "migrated") record.migrations++
          } catch (error) {
            failures.push(`${id} step ${step}: ${error instanceof Error ? error.message : String(error)}`)
          }
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)))
    clearInterval(sampler)

    const overModels = [...sessions].filter(([, r]) => r.models.size > 2).map(([id]) => id)
    const overMigrations = [...sessions].filter(([, r]) => r.migrations > 1).map(([id]) => id)
    const migrated = [...sessions.values()].filter((r) => r.migrations === 1).length
    // Memory: growth is a new high in the last quarter of the run over the high of its middle half (after warm-up);
    // garbage collection makes RSS swing, but a leak keeps raising the high-water mark.
    const max = (xs: Array<number>) => xs.reduce((a, b) => Math.max(a, b), 0)
    const q = Math.floor(rss.length / 4)
    const early = max(rss.slice(q, 3 * q))
    const late = max(rss.slice(3 * q))
    const growthPct = early === 0 ? 0 : ((late - early) / early) * 100
    const summary = {
      seconds,
      concurrency,
      failRate,
      requests: ok + failures.length,
      clientFailures: failures.length,
      sessions: sessions.size,
      sessionsMigrated: migrated,
      sessionsOverTwoModels: overModels.length,
      sessionsMigratingTwice: overMigrations.length,
      flakyProvider: flaky.stats(),
      healthyProvider: healthy.stats(),
      rssMb: { early: mb(early), late: mb(late), growthPct: Math.round(growthPct * 10) / 10 },
      rssTimelineMb: Array.from({ length: 10 }, (_, i) => mb(rss[Math.floor((i * rss.length) / 10)] ?? 0))
    }
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
    for (const failure of failures.slice(0, 5)) process.stdout.write(`failure: ${failure}\n`)
    const passed = failures.length === 0 && overModels.length === 0 && overMigrations.length === 0 && growthPct < 10
    process.stdout.write(passed ? "soak: PASS\n" : "soak: FAIL\n")
    process.exitCode = passed ? 0 : 1
  } finally {
    await gateway?.stop()
    await flaky.close()
    await healthy.close()
    rmSync(tmp, { recursive: true, force: true })
  }
}

void main()
