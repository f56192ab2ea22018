import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Layer, ManagedRuntime } from "effect"
import OpenAI from "openai"
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions"
import * as Gateway from "../../src/Gateway.js"
import * as GatewayConfig from "../../src/config/GatewayConfig.js"
import { GatewayServer } from "../../src/http/GatewayServer.js"
import * as PinCache from "../../src/pinning/PinCache.js"
import { modes, startMockRouter } from "../support/MockRouter.js"
import type { MockRouter } from "../support/MockRouter.js"
import { anthropicMessages, openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockHandler, MockUpstream } from "../support/MockUpstream.js"
import { loadConfig, startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"
import { routingOf, want } from "../support/RoutingHeaders.js"
import type { RoutingHeaders } from "../support/RoutingHeaders.js"

const env = { OPENAI_API_KEY: "sk-openai-test", ANTHROPIC_API_KEY: "sk-ant-test", SWITCHYARD_ADMIN_KEY: "admin-s3cret" }

const CLAUDE = "anthropic/claude-sonnet-4-20250514"
const GPT4O = "openai/gpt-4o"
const MINI = "openai/gpt-4o-mini"

const CODE = "Write a Python function that parses a CSV file."
const REASONING = "Compare PostgreSQL and MongoDB and explain the trade-offs."
const GREETING = "Hi there!"

/** The demo's five steps; the mock router sends "write/schema/CREATE" to code and "compare/assess" to reasoning. */
const demoSteps = [
  "Write down the critical technical requirements for the database of an e-commerce platform.",
  "Compare PostgreSQL and MongoDB against these requirements.",
  "Write the schema for orders and products as CREATE TABLE statements.",
  "Assess the scalability trade-offs of this design under peak load.",
  "Write the final recommendation report, referencing the findings of every earlier step."
]

const providerBlock = (upstream: string, router: string, omitClaude = false) => `
model_providers:
  - model: openai/gpt-4o-mini
    access_key: $OPENAI_API_KEY
    base_url: ${upstream}
    default: true
  - model: openai/gpt-4o
    access_key: $OPENAI_API_KEY
    base_url: ${upstream}
    routing_preferences:
      - name: complex_reasoning
        description: complex reasoning tasks, multi-step analysis, or detailed explanations
${
  omitClaude ? "" : `  - model: anthropic/claude-sonnet-4-20250514
    access_key: $ANTHROPIC_API_KEY
    base_url: ${upstream}
    routing_preferences:
      - name: code_generation
        description: generating new code, writing functions, or creating boilerplate
`
}  - name: arch-router
    model: plano/Arch-Router
    base_url: ${router}
`

/** The seed demo config (v0.3) on the mocks, with the mock router as an LLM router and extra `routing:` keys. */
const demoConfig = (upstream: string, router: string, routing = "", omitClaude = false) => `
version: v0.3.0
listeners:
  - type: model
    name: model_listener
    port: 12000
${providerBlock(upstream, router, omitClaude)}
routing:
  router:
    type: llm
    model: arch-router
    timeout_ms: 1000
${routing}
`

/** A v0.4 config whose routes have two ranked candidates each, with the pins API behind an admin key. */
const rankedConfig = (upstream: string, router: string) => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: openai/gpt-4o-mini
    access_key: $OPENAI_API_KEY
    base_url: ${upstream}
    default: true
  - model: openai/gpt-4o
    access_key: $OPENAI_API_KEY
    base_url: ${upstream}
  - model: anthropic/claude-sonnet-4-20250514
    access_key: $ANTHROPIC_API_KEY
    base_url: ${upstream}
  - name: arch-router
    model: plano/Arch-Router
    base_url: ${router}
routing_preferences:
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models:
      - anthropic/claude-sonnet-4-20250514
      - openai/gpt-4o
  - name: complex_reasoning
    description: complex reasoning tasks, multi-step analysis, or detailed explanations
    models:
      - openai/gpt-4o
      - anthropic/claude-sonnet-4-20250514
routing:
  admin_key: $SWITCHYARD_ADMIN_KEY
  router:
    type: llm
    model: arch-router
    timeout_ms: 1000
`

const bothApis = (): MockHandler => {
  const chat = openAiJson()
  const messages = anthropicMessages()
  return (req, res, raw) => req.path.startsWith("/v1/messages") ? messages(req, res, raw) : chat(req, res, raw)
}

/** Starts a gateway whose pin store is `pins` (so two gateways can share one). */
const startWithPins = async (yaml: string, pins: PinCache.PinCacheService): Promise<TestGateway> => {
  const config = await loadConfig(yaml, env)
  const layer = Gateway.layerServer({
    port: 0,
    host: "127.0.0.1",
    drainTimeoutMs: 1000,
    pins: Layer.succeed(PinCache.PinCache, pins)
  }).pipe(Layer.provide(GatewayConfig.layer(config)))
  const runtime = ManagedRuntime.make(layer)
  const server = await runtime.runPromise(GatewayServer)
  return { url: `http://127.0.0.1:${server.port}`, close: () => runtime.dispose() }
}

let upstream: MockUpstream
let router: MockRouter
let main: TestGateway
const extra: Array<{ readonly close: () => Promise<void> }> = []

beforeAll(async () => {
  upstream = await startMock(bothApis())
  router = await startMockRouter()
  main = await startGateway(demoConfig(upstream.url, router.url), { env })
})

afterAll(async () => {
  await Promise.all([main.close(), ...extra.map((g) => g.close())])
  await Promise.all([upstream.close(), router.close()])
})

const another = async (yaml: string): Promise<TestGateway> => {
  const gateway = await startGateway(yaml, { env })
  extra.push(gateway)
  return gateway
}

let counter = 0
/** A fresh session id per call, so tests sharing a gateway never see each other's pins. */
const newSession = (label: string) => `${label}-${process.pid}-${++counter}`

const user = (content: string) => [{ role: "user" as const, content }]

const post = (gateway: TestGateway, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })

/** One chat request with an optional session id; asserts a 200 and returns the routing headers. */
const chat = async (gateway: TestGateway, content: string, headers: Record<string, string> = {}) => {
  const body = { model: "gpt-4o-mini", messages: user(content) }
  const response = await post(gateway, "/v1/chat/completions", body, headers)
  const text = await response.text()
  assert.strictEqual(response.status, 200, text)
  return routingOf(response)
}

const routingMsOf = (response: Response): number =>
  Number(/routing;dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1] ?? Number.NaN)

const sid = (id: string) => ({ "x-routing-session-id": id })

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs the demo's five steps with accumulating history through the OpenAI client. */
const runDemo = async (gateway: TestGateway, sessionId: string | undefined) => {
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "EMPTY", maxRetries: 0 })
  const messages: Array<ChatCompletionMessageParam> = []
  const steps: Array<RoutingHeaders & { readonly reply: string }> = []
  for (const step of demoSteps) {
    messages.push({ role: "user", content: step })
    const { data, response } = await client.chat.completions.create(
      { model: "gpt-4o-mini", messages: [...messages] },
      { headers: sessionId === undefined ? {} : sid(sessionId) }
    ).withResponse()
    const reply = data.choices[0]?.message.content ?? ""
    messages.push({ role: "assistant", content: reply })
    steps.push({ ...routingOf(response), reply })
  }
  return steps
}

interface PinJson {
  readonly session_id: string
  readonly scope?: string
  readonly model: string
  readonly route: string | null
  readonly created_at: string
  readonly last_used_at: string
  readonly expires_at: string
  readonly hits: number
}

const getPin = (gateway: TestGateway, id: string, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}/v1/routing/sessions/${encodeURIComponent(id)}`, { headers })

describe("the session pinning demo", () => {
  it("alternates models without a session id and holds one model with one, calling the router once", async () => {
    router.reset()
    const before = router.count()
    const unpinned = await runDemo(main, undefined)
    assert.deepStrictEqual(unpinned.map((s) => s.model), [CLAUDE, GPT4O, CLAUDE, GPT4O, CLAUDE])
    assert.deepStrictEqual(unpinned.map((s) => s.route), [
      "code_generation",
      "complex_reasoning",
      "code_generation",
      "complex_reasoning",
      "code_generation"
    ])
    assert.isTrue(unpinned.every((s) => s.pin === "none" && s.reason === "routed"))
    assert.strictEqual(router.count(), before + 5)

    const upstreamBefore = upstream.requests.length
    const pinned = await runDemo(main, newSession("demo"))
    assert.deepStrictEqual(pinned.map((s) => s.model), [CLAUDE, CLAUDE, CLAUDE, CLAUDE, CLAUDE])
    assert.deepStrictEqual(pinned.map((s) => s.pin), ["created", "hit", "hit", "hit", "hit"])
    assert.deepStrictEqual(pinned.map((s) => s.reason), ["routed", "pinned", "pinned", "pinned", "pinned"])
    assert.isTrue(pinned.every((s) => s.route === "code_generation"))
    assert.isTrue(pinned.every((s) => s.reply === "served by claude-sonnet-4-20250514"))
    assert.strictEqual(router.count(), before + 6)
    // Every step went to claude's Messages API with the whole accumulated history.
    const sent = upstream.requests.slice(upstreamBefore)
    assert.deepStrictEqual(sent.map((r) => r.path), Array(5).fill("/v1/messages"))
    assert.deepStrictEqual(sent.map((r) => (r.body.messages as Array<unknown>).length), [1, 3, 5, 7, 9])
  })

  it("makes one router call for 50 concurrent first requests of a session and serves all by one model", async () => {
    router.reset()
    router.mode = modes.delay(300)
    try {
      const before = router.count()
      const id = newSession("burst")
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          post(main, "/v1/chat/completions", {
            model: "gpt-4o-mini",
            messages: user(i % 2 === 0 ? CODE : REASONING)
          }, sid(id)))
      )
      assert.isTrue(responses.every((r) => r.status === 200))
      const results = responses.map(routingOf)
      assert.strictEqual(router.count(), before + 1)
      assert.strictEqual(new Set(results.map((r) => r.model)).size, 1)
      assert.strictEqual(results.filter((r) => r.pin === "created").length, 1)
      assert.strictEqual(results.filter((r) => r.pin === "hit").length, 49)
      // The requests really were concurrent: most of them waited on the one in-flight router call.
      const waited = responses.filter((r) => routingMsOf(r) >= 100).length
      assert.isAtLeast(waited, 40)
      await Promise.all(responses.map((r) => r.arrayBuffer()))
    } finally {
      router.reset()
    }
  })

  it("routes a pinned session's later requests to the pinned model whatever their own model field says", async () => {
    router.reset()
    const id = newSession("model-field")
    assert.strictEqual((await chat(main, REASONING, sid(id))).model, GPT4O)
    const before = router.count()
    const upstreamBefore = upstream.requests.length
    const body = { model: "openai/gpt-4o-mini", messages: user(CODE) }
    const response = await post(main, "/v1/chat/completions", body, sid(id))
    assert.strictEqual(response.status, 200)
    assert.deepStrictEqual(routingOf(response), want(GPT4O, "complex_reasoning", "pinned", "hit"))
    assert.strictEqual(upstream.requests[upstreamBefore]!.body.model, "gpt-4o")
    assert.strictEqual(router.count(), before)
  })
})

describe("revoking a pin", () => {
  it("DELETE answers 204 and the next request routes again", async () => {
    router.reset()
    const id = newSession("delete")
    assert.strictEqual((await chat(main, CODE, sid(id))).pin, "created")
    assert.strictEqual((await chat(main, CODE, sid(id))).pin, "hit")
    const deleted = await fetch(`${main.url}/v1/routing/sessions/${id}`, { method: "DELETE" })
    assert.strictEqual(deleted.status, 204)
    assert.strictEqual((await getPin(main, id)).status, 404)
    const before = router.count()
    const again = await chat(main, REASONING, sid(id))
    assert.deepStrictEqual(again, want(GPT4O, "complex_reasoning", "routed", "created"))
    assert.strictEqual(router.count(), before + 1)
    const gone = await fetch(`${main.url}/v1/routing/sessions/${newSession("never")}`, { method: "DELETE" })
    assert.strictEqual(gone.status, 404)
  })
})

describe("idle TTL", () => {
  it("re-routes a session idle past session_ttl_seconds, but not one used every 0.5 s", async () => {
    router.reset()
    const gateway = await another(
      demoConfig(upstream.url, router.url, "  session_ttl_seconds: 1\n  session_sweep_interval_seconds: 1\n")
    )
    const idle = newSession("idle")
    const busy = newSession("busy")
    const callsFor = (marker: string) => router.calls.filter((c) => c.lastUser.includes(marker)).length
    const idleText = `Write code for session ${idle}`
    const busyText = `Write code for session ${busy}`
    const [idleRun, busyRun] = await Promise.all([
      (async () => {
        const first = await chat(gateway, idleText, sid(idle))
        await pause(1500)
        const expired = await getPin(gateway, idle)
        const second = await chat(gateway, idleText, sid(idle))
        return { first, second, expiredStatus: expired.status }
      })(),
      (async () => {
        const seen: Array<RoutingHeaders> = [await chat(gateway, busyText, sid(busy))]
        for (let i = 0; i < 6; i++) {
          await pause(500)
          seen.push(await chat(gateway, busyText, sid(busy)))
        }
        return seen
      })()
    ])
    assert.strictEqual(idleRun.first.pin, "created")
    assert.strictEqual(idleRun.expiredStatus, 404)
    assert.strictEqual(idleRun.second.pin, "created")
    assert.strictEqual(idleRun.second.reason, "routed")
    assert.strictEqual(callsFor(idle), 2)
    assert.deepStrictEqual(busyRun.map((r) => r.pin), ["created", "hit", "hit", "hit", "hit", "hit", "hit"])
    assert.strictEqual(callsFor(busy), 1)
  })
})

describe("capacity", () => {
  it("evicts the least recently used session when session_max_entries is reached", async () => {
    router.reset()
    const gateway = await another(demoConfig(upstream.url, router.url, "  session_max_entries: 3\n"))
    const [a, b, c, d] = ["a", "b", "c", "d"].map((l) => newSession(`lru-${l}`)) as [string, string, string, string]
    for (const id of [a, b, c]) assert.strictEqual((await chat(gateway, CODE, sid(id))).pin, "created")
    // Using a makes b the least recently used, although a was created first.
    assert.strictEqual((await chat(gateway, CODE, sid(a))).pin, "hit")
    assert.strictEqual((await chat(gateway, CODE, sid(d))).pin, "created")
    assert.strictEqual((await getPin(gateway, b)).status, 404)
    for (const id of [a, c, d]) assert.strictEqual((await getPin(gateway, id)).status, 200)
    for (const id of [a, c, d]) assert.strictEqual((await chat(gateway, CODE, sid(id))).pin, "hit")
    const before = router.count()
    assert.strictEqual((await chat(gateway, CODE, sid(b))).pin, "created")
    assert.strictEqual(router.count(), before + 1)
  })
})

describe("session ids", () => {
  const expectInvalid = async (headers: Record<string, string>) => {
    const before = upstream.requests.length
    const routerBefore = router.count()
    const response = await post(main, "/v1/chat/completions", { model: "gpt-4o-mini", messages: user(CODE) }, headers)
    assert.strictEqual(response.status, 400)
    const body = await response.json() as { error: { code: string; message: string } }
    assert.strictEqual(body.error.code, "invalid_session_id")
    assert.isString(body.error.message)
    assert.strictEqual(upstream.requests.length, before)
    assert.strictEqual(router.count(), routerBefore)
  }

  it("rejects empty, too long, spaced and non-ASCII ids with 400 invalid_session_id", async () => {
    await expectInvalid(sid(""))
    await expectInvalid(sid("x".repeat(257)))
    await expectInvalid(sid("has space"))
    await expectInvalid(sid("caf\u00e9"))
  })

  it("accepts 256 visible ASCII characters", async () => {
    const id = `${newSession("long")}-`.padEnd(256, "~")
    assert.strictEqual((await chat(main, CODE, sid(id))).pin, "created")
    assert.strictEqual((await chat(main, CODE, sid(id))).pin, "hit")
  })

  it("rejects X-Routing-Session-Id and X-Model-Affinity that differ, accepts them equal", async () => {
    await expectInvalid({ "x-routing-session-id": newSession("one"), "x-model-affinity": newSession("two") })
    const id = newSession("both")
    assert.strictEqual((await chat(main, CODE, { "x-routing-session-id": id, "x-model-affinity": id })).pin, "created")
    assert.strictEqual((await chat(main, CODE, sid(id))).pin, "hit")
  })

  it("accepts X-Model-Affinity alone as the session id", async () => {
    router.reset()
    const id = newSession("alias")
    const first = await chat(main, REASONING, { "x-model-affinity": id })
    assert.deepStrictEqual(first, want(GPT4O, "complex_reasoning", "routed", "created"))
    assert.strictEqual((await chat(main, CODE, { "x-model-affinity": id })).model, GPT4O)
    // It is the same session as the primary header.
    assert.deepStrictEqual(await chat(main, CODE, sid(id)), want(GPT4O, "complex_reasoning", "pinned", "hit"))
  })

  it("answers an Anthropic-shaped 400 on /v1/messages", async () => {
    const response = await post(main, "/v1/messages", {
      model: "claude-sonnet-4-20250514",
      max_tokens: 16,
      messages: user(CODE)
    }, sid("bad id"))
    assert.strictEqual(response.status, 400)
    const body = await response.json() as { type: string; error: { type: string } }
    assert.strictEqual(body.type, "error")
    assert.strictEqual(body.error.type, "invalid_request_error")
  })
})

describe("session scope header", () => {
  it("keeps the same session id of two tenants apart", async () => {
    router.reset()
    const gateway = await another(demoConfig(upstream.url, router.url, "  session_scope_header: x-tenant\n"))
    const id = newSession("tenant")
    const before = router.count()
    const one = await chat(gateway, CODE, { ...sid(id), "x-tenant": "acme" })
    const two = await chat(gateway, REASONING, { ...sid(id), "x-tenant": "globex" })
    assert.deepStrictEqual([one.model, one.pin], [CLAUDE, "created"])
    assert.deepStrictEqual([two.model, two.pin], [GPT4O, "created"])
    assert.strictEqual(router.count(), before + 2)
    const acmeAgain = await chat(gateway, REASONING, { ...sid(id), "x-tenant": "acme" })
    assert.deepStrictEqual(acmeAgain, want(CLAUDE, "code_generation", "pinned", "hit"))
    const globexAgain = await chat(gateway, CODE, { ...sid(id), "x-tenant": "globex" })
    assert.deepStrictEqual(globexAgain, want(GPT4O, "complex_reasoning", "pinned", "hit"))
    assert.strictEqual(router.count(), before + 2)

    const acme = await getPin(gateway, id, { "x-tenant": "acme" })
    assert.strictEqual(acme.status, 200)
    const acmePin = await acme.json() as PinJson
    assert.strictEqual(acmePin.model, CLAUDE)
    assert.strictEqual(acmePin.scope, "acme")
    const globex = await fetch(`${gateway.url}/v1/routing/sessions/${id}?scope=globex`)
    assert.strictEqual((await globex.json() as PinJson).model, GPT4O)

    const deleted = await fetch(`${gateway.url}/v1/routing/sessions/${id}`, {
      method: "DELETE",
      headers: { "x-tenant": "acme" }
    })
    assert.strictEqual(deleted.status, 204)
    assert.strictEqual((await chat(gateway, CODE, { ...sid(id), "x-tenant": "globex" })).pin, "hit")
  })
})

describe("router failures", () => {
  it("are not pinned: the session's next request calls the router again", async () => {
    router.reset()
    const id = newSession("failing")
    for (const mode of [modes.http500, modes.garbage(), modes.hang]) {
      router.mode = mode
      const before = router.count()
      const failed = await chat(main, CODE, sid(id))
      assert.deepStrictEqual(failed, want(MINI, null, "router_error", "none"))
      assert.strictEqual(router.count(), before + 1)
      assert.strictEqual((await getPin(main, id)).status, 404)
    }
    router.reset()
    const before = router.count()
    const routed = await chat(main, CODE, sid(id))
    assert.deepStrictEqual(routed, want(CLAUDE, "code_generation", "routed", "created"))
    assert.strictEqual(router.count(), before + 1)
  })

  it("pins a no-match decision (the requested model), not a literal none", async () => {
    router.reset()
    const id = newSession("nomatch")
    const first = await chat(main, GREETING, sid(id))
    assert.deepStrictEqual(first, want(MINI, null, "no_match", "created"))
    const pin = await (await getPin(main, id)).json() as PinJson
    assert.strictEqual(pin.model, MINI)
    assert.isNull(pin.route)
    const before = router.count()
    assert.deepStrictEqual(await chat(main, CODE, sid(id)), want(MINI, null, "pinned", "hit"))
    assert.strictEqual(router.count(), before)
  })
})

describe("a pin whose model left the config", () => {
  it("is dropped and the session routes again (two gateways sharing one pin store)", async () => {
    router.reset()
    const pinsRuntime = ManagedRuntime.make(PinCache.layer())
    extra.push({ close: () => pinsRuntime.dispose() })
    const pins = await pinsRuntime.runPromise(PinCache.PinCache)
    const before = await startWithPins(demoConfig(upstream.url, router.url), pins)
    extra.push(before)
    const after = await startWithPins(demoConfig(upstream.url, router.url, "", true), pins)
    extra.push(after)
    const id = newSession("removed")
    assert.strictEqual((await chat(before, CODE, sid(id))).model, CLAUDE)
    assert.strictEqual((await chat(before, CODE, sid(id))).pin, "hit")
    const calls = router.count()
    const rerouted = await chat(after, REASONING, sid(id))
    assert.deepStrictEqual(rerouted, want(GPT4O, "complex_reasoning", "repinned_config_changed", "created"))
    assert.strictEqual(router.count(), calls + 1)
    assert.strictEqual((await (await getPin(before, id)).json() as PinJson).model, GPT4O)
  })
})

describe("pins API", () => {
  it("shows a pin's model, route, hits and expiry; 404 JSON when absent", async () => {
    router.reset()
    const id = newSession("inspect")
    await chat(main, CODE, sid(id))
    await chat(main, REASONING, sid(id))
    await chat(main, REASONING, sid(id))
    const response = await getPin(main, id)
    assert.strictEqual(response.status, 200)
    const pin = await response.json() as PinJson
    assert.strictEqual(pin.session_id, id)
    assert.strictEqual(pin.model, CLAUDE)
    assert.strictEqual(pin.route, "code_generation")
    assert.strictEqual(pin.hits, 2)
    assert.isFalse("scope" in pin)
    // The default idle TTL is 600 s, counted from the last use.
    assert.strictEqual(Date.parse(pin.expires_at) - Date.parse(pin.last_used_at), 600_000)
    assert.isAtMost(Date.parse(pin.created_at), Date.parse(pin.last_used_at))
    // Inspecting a pin does not use it.
    assert.strictEqual((await (await getPin(main, id)).json() as PinJson).hits, 2)

    const missing = await getPin(main, newSession("absent"))
    assert.strictEqual(missing.status, 404)
    assert.include(missing.headers.get("content-type") ?? "", "application/json")
    const body = await missing.json() as { error: { code: string; message: string } }
    assert.strictEqual(body.error.code, "not_found")
    assert.isString(body.error.message)
  })

  const admin = { authorization: "Bearer admin-s3cret" }

  it("needs the admin key when routing.admin_key is set", async () => {
    router.reset()
    const gateway = await another(rankedConfig(upstream.url, router.url))
    const id = newSession("guarded")
    assert.strictEqual((await chat(gateway, CODE, sid(id))).pin, "created")
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: "admin-s3cretx" }, { authorization: "admin-s3cret" }]) {
      const denied = await getPin(gateway, id, headers)
      assert.strictEqual(denied.status, 401)
      const body = await denied.json() as { error: { code: string } }
      assert.isString(body.error.code)
    }
    assert.strictEqual((await fetch(`${gateway.url}/v1/routing/sessions`)).status, 401)
    assert.strictEqual((await fetch(`${gateway.url}/v1/routing/sessions/${id}`, { method: "DELETE" })).status, 401)
    const allowed = await getPin(gateway, id, admin)
    assert.strictEqual(allowed.status, 200)
    assert.strictEqual((await allowed.json() as PinJson).model, CLAUDE)
    // The proxy itself is not guarded by the admin key.
    assert.strictEqual((await chat(gateway, CODE, sid(id))).pin, "hit")
    const deleted = await fetch(`${gateway.url}/v1/routing/sessions/${id}`, { method: "DELETE", headers: admin })
    assert.strictEqual(deleted.status, 204)
  })

  it("lists pins page by page", async () => {
    router.reset()
    const gateway = await another(demoConfig(upstream.url, router.url))
    const ids = Array.from({ length: 5 }, (_, i) => newSession(`list${i}`))
    for (const id of ids) await chat(gateway, CODE, sid(id))
    const seen: Array<string> = []
    const pageSizes: Array<number> = []
    let cursor: string | null = null
    do {
      const query: string = cursor === null ? "limit=2" : `limit=2&cursor=${encodeURIComponent(cursor)}`
      const response = await fetch(`${gateway.url}/v1/routing/sessions?${query}`)
      assert.strictEqual(response.status, 200)
      const page = await response.json() as {
        object: string
        data: Array<PinJson>
        next_cursor: string | null
        total: number
      }
      assert.strictEqual(page.object, "list")
      assert.strictEqual(page.total, 5)
      pageSizes.push(page.data.length)
      for (const pin of page.data) {
        seen.push(pin.session_id)
        assert.strictEqual(pin.model, CLAUDE)
      }
      cursor = page.next_cursor
    } while (cursor !== null && pageSizes.length < 10)
    assert.deepStrictEqual(pageSizes, [2, 2, 1])
    // Oldest first.
    assert.deepStrictEqual(seen, ids)
  })
})

describe("the decision endpoint shares pins with the proxy", () => {
  interface Decision {
    readonly models: ReadonlyArray<string>
    readonly route: string | null
    readonly pinned: boolean
    readonly reason: string
    readonly session_id?: string
  }
  const decide = async (gateway: TestGateway, content: string, headers: Record<string, string>) => {
    const body = { model: "gpt-4o-mini", messages: user(content) }
    const response = await post(gateway, "/routing/v1/chat/completions", body, headers)
    assert.strictEqual(response.status, 200)
    return await response.json() as Decision
  }

  it("answers pinned: true with the pinned model first, then the route's other candidates", async () => {
    router.reset()
    const gateway = await another(rankedConfig(upstream.url, router.url))
    const upstreamBefore = upstream.requests.length

    const viaProxy = newSession("shared-proxy")
    assert.strictEqual((await chat(gateway, CODE, sid(viaProxy))).model, CLAUDE)
    const calls = router.count()
    const upstreamAfterProxy = upstream.requests.length
    const hit = await decide(gateway, REASONING, sid(viaProxy))
    const { models, pinned, reason, route, session_id } = hit
    assert.deepStrictEqual({ models, route, session_id, pinned, reason }, {
      models: [CLAUDE, GPT4O],
      route: "code_generation",
      session_id: viaProxy,
      pinned: true,
      reason: "pinned"
    })
    assert.strictEqual(router.count(), calls)

    const viaDecision = newSession("shared-decision")
    const fresh = await decide(gateway, REASONING, sid(viaDecision))
    assert.deepStrictEqual([fresh.models, fresh.pinned, fresh.reason], [[GPT4O, CLAUDE], false, "routed"])
    assert.strictEqual(upstream.requests.length, upstreamAfterProxy)
    const proxied = await chat(gateway, CODE, sid(viaDecision))
    assert.deepStrictEqual(proxied, want(GPT4O, "complex_reasoning", "pinned", "hit"))
    assert.strictEqual(router.count(), calls + 1)
    assert.strictEqual(upstream.requests.length, upstreamBefore + 2)
  })
})
