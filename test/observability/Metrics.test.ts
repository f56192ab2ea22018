import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import OpenAI from "openai"
import { openAiError, openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { Layer, ManagedRuntime } from "effect"
import * as Gateway from "../../src/Gateway.js"
import * as GatewayConfig from "../../src/config/GatewayConfig.js"
import { MetricsServer } from "../../src/http/MetricsServer.js"
import { loadConfig, startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"
import { codeRouter, delta, promtool, scrape } from "./support.js"

const config = (mock: string, extra = "") => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
    timeout: 2s
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${mock}
    access_key: test-key
    default: true
  - model: openai/gpt-4o
    base_url: ${mock}
    access_key: test-key
routing_preferences:
  - name: code
    description: writing code
    models: [openai/gpt-4o]
${extra}`

let mock: MockUpstream
let gateway: TestGateway

beforeAll(async () => {
  mock = await startMock()
  gateway = await startGateway(config(mock.url), { router: codeRouter })
})

afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})

const chat = (session: string | undefined, extra: Record<string, string> = {}) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(session === undefined ? {} : { "x-routing-session-id": session }),
      ...extra
    },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "write a parser" }] })
  })

const requests = (status: string, model: string, route: string, reason: string) =>
  `switchyard_requests_total{api="chat",status="${status}",model="${model}",route="${route}",reason="${reason}"}`

describe("GET /metrics", () => {
  it("counts a routed, a pinned and a failing request: histograms, pins, router calls, tokens", async () => {
    const session = `metrics-${Date.now()}`
    const before = (await scrape(gateway.url)).series
    mock.handler = openAiJson()
    const routed = await chat(session)
    assert.strictEqual(routed.status, 200)
    assert.strictEqual(routed.headers.get("x-routing-reason"), "routed")
    await routed.text()
    const pinned = await chat(session)
    assert.strictEqual(pinned.headers.get("x-routing-reason"), "pinned")
    await pinned.text()
    mock.handler = openAiError(503, "overloaded")
    const failing = await chat(undefined)
    assert.strictEqual(failing.status, 503)
    await failing.text()
    mock.handler = openAiJson()
    // The record is written when the response closes, which may trail the client's read by a tick.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const after = (await scrape(gateway.url)).series

    assert.strictEqual(delta(before, after, requests("2xx", "openai/gpt-4o", "code", "routed")), 1)
    assert.strictEqual(delta(before, after, requests("2xx", "openai/gpt-4o", "code", "pinned")), 1)
    assert.strictEqual(delta(before, after, requests("5xx", "openai/gpt-4o", "code", "routed")), 1)
    assert.strictEqual(delta(before, after, `switchyard_request_duration_seconds_count{api="chat",status="2xx"}`), 2)
    assert.strictEqual(delta(before, after, `switchyard_request_duration_seconds_count{api="chat",status="5xx"}`), 1)
    assert.strictEqual(
      delta(before, after, `switchyard_request_duration_seconds_bucket{api="chat",status="2xx",le="+Inf"}`),
      2
    )
    assert.strictEqual(delta(before, after, `switchyard_upstream_ttfb_seconds_count{provider="openai"}`), 3)
    assert.strictEqual(delta(before, after, `switchyard_gateway_overhead_seconds_count{api="chat"}`), 3)
    assert.strictEqual(delta(before, after, `switchyard_upstream_errors_total{provider="openai",kind="5xx"}`), 1)
    // The session's first request and the session-less failing one ran the router; the pinned one did not.
    assert.strictEqual(delta(before, after, `switchyard_router_decisions_total{router="custom",outcome="routed"}`), 2)
    assert.strictEqual(delta(before, after, `switchyard_router_duration_seconds_count{router="custom"}`), 2)
    assert.strictEqual(delta(before, after, "switchyard_pins_hits_total"), 1)
    assert.strictEqual(delta(before, after, "switchyard_pins_creations_total"), 1)
    assert.strictEqual(delta(before, after, "switchyard_pins_misses_total"), 1)
    assert.strictEqual(after.get("switchyard_pins_capacity"), 10_000)
    assert.isAtLeast(after.get("switchyard_pins_size") ?? 0, 1)
    // The mock reports usage 10 in / 5 out per completion.
    assert.strictEqual(delta(before, after, `switchyard_tokens_total{model="openai/gpt-4o",direction="input"}`), 20)
    assert.strictEqual(delta(before, after, `switchyard_tokens_total{model="openai/gpt-4o",direction="output"}`), 10)
    assert.isAbove(after.get("process_resident_memory_bytes") ?? 0, 0)
    assert.isAbove(after.get("nodejs_heap_used_bytes") ?? 0, 0)
  })

  it("reads usage from streams when the upstream reports it", async () => {
    const before = (await scrape(gateway.url)).series
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 })
    const stream = await client.chat.completions.create({
      model: "openai/gpt-4o",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true }
    })
    for await (const _ of stream) {
      // drain
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    const after = (await scrape(gateway.url)).series
    assert.strictEqual(delta(before, after, `switchyard_tokens_total{model="openai/gpt-4o",direction="input"}`), 10)
    assert.strictEqual(delta(before, after, `switchyard_tokens_total{model="openai/gpt-4o",direction="output"}`), 3)
  })

  it("counts connect errors and revoked pins", async () => {
    const dead = await startMock()
    const url = dead.url
    await dead.close()
    const other = await startGateway(
      // No fallback to the default model: this request must fail on the dead provider.
      config(mock.url, "routing:\n  fallback_to_default: false\n").replace(
        `openai/gpt-4o\n    base_url: ${mock.url}`,
        `openai/gpt-4o\n    base_url: ${url}`
      ),
      { router: codeRouter }
    )
    try {
      const before = (await scrape(other.url)).series
      const session = `revoke-${Date.now()}`
      const response = await fetch(`${other.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-routing-session-id": session },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      })
      assert.strictEqual(response.status, 502)
      await response.text()
      const revoked = await fetch(`${other.url}/v1/routing/sessions/${session}`, { method: "DELETE" })
      assert.strictEqual(revoked.status, 204)
      await new Promise((resolve) => setTimeout(resolve, 50))
      const after = (await scrape(other.url)).series
      assert.strictEqual(delta(before, after, `switchyard_upstream_errors_total{provider="openai",kind="connect"}`), 1)
      assert.strictEqual(delta(before, after, requests("5xx", "openai/gpt-4o", "code", "routed")), 1)
      assert.strictEqual(delta(before, after, "switchyard_pins_revoked_total"), 1)
    } finally {
      await other.close()
    }
  })

  it("returns x-request-id: the client's when sent, a new one otherwise, on every route", async () => {
    const given = await chat(undefined, { "x-request-id": "req-abc-123" })
    assert.strictEqual(given.headers.get("x-request-id"), "req-abc-123")
    await given.text()
    const generated = await chat(undefined)
    assert.match(generated.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/)
    await generated.text()
    const health = await fetch(`${gateway.url}/healthz`)
    assert.match(health.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/)
    await health.text()
    const bad = await chat(undefined, { "x-request-id": "has spaces in it" })
    assert.notStrictEqual(bad.headers.get("x-request-id"), "has spaces in it")
    await bad.text()
  })

  it("passes promtool check metrics", async () => {
    const tool = promtool()
    if (tool === undefined) {
      // The only skip: promtool (Debian package prometheus) could not be installed on this machine.
      console.warn("SKIPPED promtool check: promtool is not installed and `apt-get install prometheus` failed")
      return
    }
    const { text } = await scrape(gateway.url)
    const result = spawnSync(tool, ["check", "metrics"], { input: text, encoding: "utf8" })
    assert.strictEqual(result.status, 0, `${result.stdout}\n${result.stderr}`)
  })

  it("the Grafana dashboard in docs/ queries only documented metrics, in PromQL that promtool accepts", async () => {
    const root = new URL("../../", import.meta.url)
    const dashboard = JSON.parse(readFileSync(new URL("docs/grafana/switchyard.json", root), "utf8")) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>
    }
    const readme = readFileSync(new URL("README.md", root), "utf8")
    const table = readme.slice(readme.indexOf("### Metrics"), readme.indexOf("### Traces"))
    const exprs = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr))
    assert.isAbove(exprs.length, 10)
    for (const expr of exprs) {
      for (const [name] of expr.matchAll(/\b(?:switchyard|nodejs|process)_[a-z0-9_]+/g)) {
        const base = name.replace(/_bucket$/, "")
        // The table abbreviates families (`switchyard_pins_hits_total`, `_misses_total`): match the last word too.
        const words = base.split("_")
        const documented = table.includes(`\`${base}\``) ||
          words.some((_, k) => k > 1 && k <= words.length - 2 && table.includes(`\`_${words.slice(k).join("_")}\``))
        assert.isTrue(documented, `${base} (used by the dashboard) is not in README's metrics table`)
      }
    }
    const tool = promtool()
    if (tool === undefined) {
      console.warn("SKIPPED promtool check rules: promtool is not installed and `apt-get install prometheus` failed")
      return
    }
    const rules = {
      groups: [{
        name: "dashboard",
        rules: exprs.map((expr, i) => ({
          record: `dashboard:expr_${i}`,
          expr: expr.replaceAll("$__rate_interval", "5m").replaceAll("$instance", ".*")
        }))
      }]
    }
    const dir = mkdtempSync(join(tmpdir(), "switchyard-dashboard-"))
    try {
      const file = join(dir, "rules.json")
      writeFileSync(file, JSON.stringify(rules))
      const result = spawnSync(tool, ["check", "rules", file], { encoding: "utf8" })
      assert.strictEqual(result.status, 0, `${result.stdout}\n${result.stderr}`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("serves /metrics on its own port with observability.metrics.port, and not at all when disabled", async () => {
    const own = "observability:\n  metrics:\n    port: 0\n    address: 127.0.0.1\n"
    const resolved = await loadConfig(config(mock.url, own))
    const separate = ManagedRuntime.make(
      Gateway.layerServer({ port: 0, host: "127.0.0.1", drainTimeoutMs: 1000 }).pipe(
        Layer.provide(GatewayConfig.layer(resolved))
      )
    )
    const off = await startGateway(config(mock.url, "observability:\n  metrics:\n    enabled: false\n"))
    try {
      const { url } = await separate.runPromise(MetricsServer)
      assert.isDefined(url)
      const { series } = await scrape(url!)
      assert.isTrue(series.has("switchyard_pins_capacity"))
      const elsewhere = await fetch(`${url}/healthz`)
      assert.strictEqual(elsewhere.status, 404)
      await elsewhere.text()
      const disabled = await fetch(`${off.url}/metrics`)
      assert.strictEqual(disabled.status, 404)
      await disabled.text()
    } finally {
      await separate.dispose()
      await off.close()
    }
  })
})
