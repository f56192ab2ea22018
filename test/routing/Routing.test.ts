import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions"
import { renderPrompt } from "../../src/routing/ArchRouterPrompt.js"
import { modes, startMockRouter } from "../support/MockRouter.js"
import type { MockRouter } from "../support/MockRouter.js"
import { anthropicMessages, openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockHandler, MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"
import { routingOf, want } from "../support/RoutingHeaders.js"

const env = { OPENAI_API_KEY: "sk-openai-test", ANTHROPIC_API_KEY: "sk-ant-test" }

const CLAUDE = "anthropic/claude-sonnet-4-20250514"
const GPT4O = "openai/gpt-4o"
const MINI = "openai/gpt-4o-mini"

const CODE = "Write a Python function that parses a CSV file and returns a list of dictionaries."
const REASONING = "Compare PostgreSQL and MongoDB for an e-commerce platform and explain the trade-offs step by step."
const GREETING = "Hi there! How are you today?"

const reasoningRoute = {
  name: "complex_reasoning",
  description: "complex reasoning tasks, multi-step analysis, or detailed explanations"
}
const codeRoute = {
  name: "code_generation",
  description: "generating new code, writing functions, or creating boilerplate"
}

/**
 * The session pinning demo's config.yaml (v0.3, per-provider preferences) with every provider pointed at `upstream`;
 * `providers` adds provider entries, `tail` top-level blocks.
 */
const demoConfig = (upstream: string, providers = "", tail = "") => `
version: v0.3.0

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
    routing_preferences:
      - name: complex_reasoning
        description: complex reasoning tasks, multi-step analysis, or detailed explanations

  - model: anthropic/claude-sonnet-4-20250514
    access_key: $ANTHROPIC_API_KEY
    base_url: ${upstream}
    routing_preferences:
      - name: code_generation
        description: generating new code, writing functions, or creating boilerplate
${providers}
${tail}
tracing:
  random_sampling: 100
`

const llmRouting = `
routing:
  router:
    type: llm
    model: arch-router
    timeout_ms: 300
`

const routerProvider = (url: string) => `
  - name: arch-router
    model: plano/Arch-Router
    base_url: ${url}
`

/** OpenAI chat on `/v1/chat/completions`, Anthropic Messages on `/v1/messages`: one mock for every provider. */
const bothApis = (): MockHandler => {
  const chat = openAiJson()
  const messages = anthropicMessages()
  return (req, res, raw) => req.path.startsWith("/v1/messages") ? messages(req, res, raw) : chat(req, res, raw)
}

let upstream: MockUpstream
let router: MockRouter
let embedded: TestGateway
let llm: TestGateway
let overrides: TestGateway

beforeAll(async () => {
  upstream = await startMock(bothApis())
  router = await startMockRouter()
  const started = await Promise.all([
    startGateway(demoConfig(upstream.url), { env }),
    startGateway(demoConfig(upstream.url, routerProvider(router.url), llmRouting), { env }),
    startGateway(
      demoConfig(
        upstream.url,
        `\n  - model: plano/Arch-Router\n    base_url: ${router.url}\n`,
        "overrides:\n  llm_routing_model: plano/Arch-Router\n"
      ),
      { env }
    )
  ])
  embedded = started[0]
  llm = started[1]
  overrides = started[2]
})

afterAll(async () => {
  await Promise.all([embedded.close(), llm.close(), overrides.close()])
  await Promise.all([upstream.close(), router.close()])
})

const clientOf = (gateway: TestGateway) =>
  new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 })

const ask = (
  gateway: TestGateway,
  params: ChatCompletionCreateParamsNonStreaming,
  headers: Record<string, string> = {}
) =>
  clientOf(gateway).chat.completions.create(params, { headers }).withResponse()

const post = (gateway: TestGateway, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })

const user = (content: string) => [{ role: "user" as const, content }]

describe("preference routing with the embedded router (seed demo config)", () => {
  it("sends a code request to claude-sonnet and a reasoning request to gpt-4o, with x-routing-* headers", async () => {
    const before = upstream.requests.length
    const code = await ask(embedded, { model: "gpt-4o-mini", messages: user(CODE) })
    assert.deepStrictEqual(routingOf(code.response), want(CLAUDE, "code_generation", "routed", "none"))
    assert.match(code.response.headers.get("server-timing") ?? "", /^routing;dur=\d+(\.\d+)?$/)
    assert.strictEqual(code.data.choices[0]?.message.content, "served by claude-sonnet-4-20250514")
    // The body's model stays what the provider answered.
    assert.strictEqual(code.data.model, "claude-sonnet-4-20250514")
    const toClaude = upstream.requests[before]!
    assert.strictEqual(toClaude.path, "/v1/messages")
    assert.strictEqual(toClaude.body.model, "claude-sonnet-4-20250514")
    assert.strictEqual(toClaude.headers["x-api-key"], "sk-ant-test")

    const reasoning = await ask(embedded, { model: "gpt-4o-mini", messages: user(REASONING) })
    assert.deepStrictEqual(routingOf(reasoning.response), want(GPT4O, "complex_reasoning", "routed", "none"))
    assert.strictEqual(reasoning.data.choices[0]?.message.content, "served by gpt-4o")
    const toOpenAi = upstream.requests[before + 1]!
    assert.strictEqual(toOpenAi.path, "/v1/chat/completions")
    assert.strictEqual(toOpenAi.body.model, "gpt-4o")
    assert.strictEqual(toOpenAi.headers.authorization, "Bearer sk-openai-test")
    assert.strictEqual(upstream.requests.length, before + 2)
  })

  it("sends a greeting to the requested model (no_match, no route header)", async () => {
    const greeting = await ask(embedded, { model: "openai/gpt-4o", messages: user(GREETING) })
    assert.deepStrictEqual(routingOf(greeting.response), want(GPT4O, null, "no_match", "none"))
    assert.strictEqual(greeting.data.choices[0]?.message.content, "served by gpt-4o")
  })

  it("uses the default provider when the request has no model", async () => {
    const response = await post(embedded, "/v1/chat/completions", { messages: user(GREETING) })
    assert.strictEqual(response.status, 200)
    assert.deepStrictEqual(routingOf(response), want(MINI, null, "no_match", "none"))
    const body = await response.json() as { choices: Array<{ message: { content: string } }> }
    assert.strictEqual(body.choices[0]!.message.content, "served by gpt-4o-mini")
    // A routed request without a model is routed as usual.
    const routed = await post(embedded, "/v1/chat/completions", { messages: user(CODE) })
    assert.strictEqual(routed.status, 200)
    assert.strictEqual(routingOf(routed).model, CLAUDE)
  })

  it("lets inline routing_preferences override the config for one request and never forwards them", async () => {
    const before = upstream.requests.length
    const params: ChatCompletionCreateParamsNonStreaming & {
      routing_preferences: Array<{ name: string; description: string; models: Array<string> }>
    } = {
      model: "gpt-4o-mini",
      messages: user(CODE),
      routing_preferences: [{ ...codeRoute, models: [GPT4O, CLAUDE] }]
    }
    const inline = await ask(embedded, params)
    assert.deepStrictEqual(routingOf(inline.response), want(GPT4O, "code_generation", "routed", "none"))
    const received = upstream.requests[before]!
    assert.strictEqual(received.path, "/v1/chat/completions")
    assert.strictEqual(received.body.model, "gpt-4o")
    assert.isFalse("routing_preferences" in received.body)
    assert.deepStrictEqual(received.body.messages, user(CODE))

    // The override lasted one request: the config routes code to claude again.
    const next = await ask(embedded, { model: "gpt-4o-mini", messages: user(CODE) })
    assert.strictEqual(routingOf(next.response).model, CLAUDE)
    const toClaude = upstream.requests[before + 1]!
    assert.isFalse("routing_preferences" in toClaude.body)
  })
})

describe("preference routing with an LLM router (Arch-Router over HTTP)", () => {
  it("sends the Arch-Router request: the provider's model id, temperature 0.01, one user message", async () => {
    router.reset()
    const before = router.count()
    const code = await ask(llm, { model: "gpt-4o-mini", messages: user(CODE) })
    assert.deepStrictEqual(routingOf(code.response), want(CLAUDE, "code_generation", "routed", "none"))
    assert.strictEqual(router.count(), before + 1)
    const call = router.calls[before]!
    assert.strictEqual(call.path, "/v1/chat/completions")
    assert.deepStrictEqual(call.body, {
      messages: [{ role: "user", content: renderPrompt([reasoningRoute, codeRoute], user(CODE)) }],
      model: "Arch-Router",
      temperature: 0.01
    })
    // Independently of renderPrompt: the routes in config order and the conversation are in the prompt.
    assert.deepStrictEqual(call.routes, ["complex_reasoning", "code_generation"])
    assert.strictEqual(call.lastUser, CODE)

    const reasoning = await ask(llm, { model: "gpt-4o-mini", messages: user(REASONING) })
    assert.deepStrictEqual(routingOf(reasoning.response), want(GPT4O, "complex_reasoning", "routed", "none"))
    const greeting = await ask(llm, { model: "gpt-4o-mini", messages: user(GREETING) })
    assert.deepStrictEqual(routingOf(greeting.response), want(MINI, null, "no_match", "none"))
    assert.strictEqual(router.count(), before + 3)
  })

  it("gives the router the conversation, with the latest user message last", async () => {
    router.reset()
    const before = router.count()
    const history = [
      { role: "system" as const, content: "You are a database research agent." },
      { role: "user" as const, content: "Write the schema for orders." },
      { role: "assistant" as const, content: "CREATE TABLE orders (id SERIAL PRIMARY KEY);" },
      { role: "user" as const, content: "Now assess the scalability of this design." }
    ]
    const response = await ask(llm, { model: "gpt-4o-mini", messages: history })
    assert.strictEqual(routingOf(response.response).model, GPT4O)
    const prompt = (router.calls[before]!.body.messages as Array<{ content: string }>)[0]!.content
    assert.strictEqual(prompt, renderPrompt([reasoningRoute, codeRoute], history.slice(1)))
  })

  it("puts inline routing_preferences in the router prompt instead of the config's routes", async () => {
    router.reset()
    const before = router.count()
    const upstreamBefore = upstream.requests.length
    const inline = [{ ...codeRoute, models: [MINI] }, { name: "poetry", description: "writing poems", models: [GPT4O] }]
    const response = await post(llm, "/v1/chat/completions", {
      model: "gpt-4o",
      messages: user(CODE),
      routing_preferences: inline
    })
    assert.strictEqual(response.status, 200)
    assert.deepStrictEqual(routingOf(response), want(MINI, "code_generation", "routed", "none"))
    assert.deepStrictEqual(router.calls[before]!.routes, ["code_generation", "poetry"])
    assert.isFalse("routing_preferences" in upstream.requests[upstreamBefore]!.body)
  })

  it("also runs with the overrides.llm_routing_model form", async () => {
    router.reset()
    const before = router.count()
    const code = await ask(overrides, { model: "gpt-4o-mini", messages: user(CODE) })
    assert.deepStrictEqual(routingOf(code.response), want(CLAUDE, "code_generation", "routed", "none"))
    assert.strictEqual(router.count(), before + 1)
    assert.strictEqual(router.calls[before]!.body.model, "Arch-Router")
    assert.strictEqual(router.calls[before]!.body.temperature, 0.01)
  })

  it("hides a router-only provider from /v1/models", async () => {
    const response = await fetch(`${llm.url}/v1/models`)
    const body = await response.json() as { data: Array<{ id: string }> }
    assert.deepStrictEqual(body.data.map((m) => m.id), [MINI, GPT4O, CLAUDE])
  })

  const fallsBack = async (expectedMinMs = 0) => {
    const before = router.count()
    const upstreamBefore = upstream.requests.length
    const started = Date.now()
    const response = await ask(llm, { model: "gpt-4o-mini", messages: user(CODE) })
    const elapsed = Date.now() - started
    assert.strictEqual(response.response.status, 200)
    assert.deepStrictEqual(routingOf(response.response), want(MINI, null, "router_error", "none"))
    assert.strictEqual(response.data.choices[0]?.message.content, "served by gpt-4o-mini")
    assert.strictEqual(router.count(), before + 1)
    assert.strictEqual(upstream.requests.length, upstreamBefore + 1)
    assert.isAtLeast(elapsed, expectedMinMs)
    return elapsed
  }

  it("falls back to the requested model with router_error when the router times out", async () => {
    router.mode = modes.hang
    try {
      const elapsed = await fallsBack(280)
      // timeout_ms: 300, not the 3 s default nor the listener timeout.
      assert.isBelow(elapsed, 2000)
    } finally {
      router.reset()
    }
  })

  it("falls back with router_error when the router answers HTTP 500", async () => {
    router.mode = modes.http500
    try {
      await fallsBack()
    } finally {
      router.reset()
    }
  })

  it("falls back with router_error when the router answers garbage", async () => {
    router.mode = modes.garbage()
    try {
      await fallsBack()
    } finally {
      router.reset()
    }
  })

  it("falls back to the default provider on router failure when the request has no model", async () => {
    router.mode = modes.http500
    try {
      const response = await post(llm, "/v1/chat/completions", { messages: user(CODE) })
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(routingOf(response), want(MINI, null, "router_error", "none"))
    } finally {
      router.reset()
    }
  })
})

interface Decision {
  readonly models: ReadonlyArray<string>
  readonly route: string | null
  readonly trace_id: string
  readonly session_id?: string
  readonly pinned: boolean
  readonly reason: string
  readonly confidence: number | null
  readonly latency_ms: number
}

const decide = async (
  gateway: TestGateway,
  body: unknown,
  headers: Record<string, string> = {},
  path = "/routing/v1/chat/completions"
) => {
  const response = await post(gateway, path, body, headers)
  assert.strictEqual(response.status, 200)
  assert.include(response.headers.get("content-type") ?? "", "application/json")
  return { response, decision: await response.json() as Decision }
}

describe("decision endpoint /routing/v1/*", () => {
  it("answers the decision without calling a provider", async () => {
    router.reset()
    const upstreamBefore = upstream.requests.length
    const routerBefore = router.count()
    const { decision } = await decide(llm, { model: "gpt-4o-mini", messages: user(CODE) })
    assert.deepStrictEqual(Object.keys(decision).sort(), [
      "confidence",
      "latency_ms",
      "models",
      "pinned",
      "reason",
      "route",
      "trace_id"
    ])
    assert.deepStrictEqual(decision.models, [CLAUDE])
    assert.strictEqual(decision.route, "code_generation")
    assert.match(decision.trace_id, /^[0-9a-f]{32}$/)
    assert.isFalse(decision.pinned)
    assert.strictEqual(decision.reason, "routed")
    assert.isNull(decision.confidence)
    assert.isAtLeast(decision.latency_ms, 0)
    assert.strictEqual(router.count(), routerBefore + 1)
    assert.strictEqual(upstream.requests.length, upstreamBefore)
  })

  it("takes trace_id from traceparent", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
    const { decision } = await decide(llm, { model: "gpt-4o-mini", messages: user(CODE) }, {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`
    })
    assert.strictEqual(decision.trace_id, traceId)
  })

  it("answers route null with the fallback model when nothing matches", async () => {
    router.reset()
    const upstreamBefore = upstream.requests.length
    const requested = await decide(llm, { model: "gpt-4o", messages: user(GREETING) })
    assert.deepStrictEqual(requested.decision.models, [GPT4O])
    assert.isNull(requested.decision.route)
    assert.strictEqual(requested.decision.reason, "no_match")
    const none = await decide(llm, { messages: user(GREETING) })
    assert.deepStrictEqual(none.decision.models, [MINI])
    assert.isNull(none.decision.route)
    assert.strictEqual(upstream.requests.length, upstreamBefore)
  })

  it("reports pinned false, then true for the same session, with session_id", async () => {
    router.reset()
    const upstreamBefore = upstream.requests.length
    const routerBefore = router.count()
    const session = { "x-routing-session-id": `decision-${Date.now()}` }
    const first = await decide(llm, { model: "gpt-4o-mini", messages: user(CODE) }, session)
    assert.strictEqual(first.decision.session_id, session["x-routing-session-id"])
    assert.isFalse(first.decision.pinned)
    assert.strictEqual(first.decision.reason, "routed")
    assert.strictEqual(first.response.headers.get("x-routing-pin"), "created")
    const second = await decide(llm, { model: "gpt-4o-mini", messages: user(REASONING) }, session)
    assert.strictEqual(second.decision.session_id, session["x-routing-session-id"])
    assert.isTrue(second.decision.pinned)
    assert.strictEqual(second.decision.reason, "pinned")
    assert.deepStrictEqual(second.decision.models, [CLAUDE])
    assert.strictEqual(second.decision.route, "code_generation")
    assert.strictEqual(router.count(), routerBefore + 1)
    assert.strictEqual(upstream.requests.length, upstreamBefore)
  })

  it("serves /routing/v1/messages for Anthropic-shaped bodies", async () => {
    router.reset()
    const upstreamBefore = upstream.requests.length
    const { decision } = await decide(
      llm,
      {
        model: "claude-sonnet-4-20250514",
        max_tokens: 64,
        messages: [{ role: "user", content: [{ type: "text", text: REASONING }] }]
      },
      {},
      "/routing/v1/messages"
    )
    assert.deepStrictEqual(decision.models, [GPT4O])
    assert.strictEqual(decision.route, "complex_reasoning")
    assert.strictEqual(upstream.requests.length, upstreamBefore)
  })

  it("reports the embedded router's confidence", async () => {
    const { decision } = await decide(embedded, { model: "gpt-4o-mini", messages: user(CODE) })
    assert.deepStrictEqual(decision.models, [CLAUDE])
    assert.isNumber(decision.confidence)
    assert.isAtLeast(decision.confidence ?? -1, 0)
    assert.isAtMost(decision.confidence ?? 2, 1)
  })

  it("answers a router failure as a router_error fallback, not a 5xx", async () => {
    router.mode = modes.http500
    try {
      const { decision } = await decide(llm, { model: "gpt-4o", messages: user(CODE) })
      assert.deepStrictEqual(decision.models, [GPT4O])
      assert.isNull(decision.route)
      assert.strictEqual(decision.reason, "router_error")
      assert.isFalse(decision.pinned)
    } finally {
      router.reset()
    }
  })
})
