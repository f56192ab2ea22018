import Anthropic from "@anthropic-ai/sdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import OpenAI from "openai"
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions"
import * as Router from "../../src/routing/Router.js"
import { openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { routingOf } from "../support/RoutingHeaders.js"
import { startGateway } from "../support/TestGateway.js"

// A router that follows the intent named in the conversation's last turn (tool outputs included), so a tool loop
// whose outputs alternate intents would flip models if every request were routed afresh.
const intentRouter = (calls: { n: number }) =>
  Layer.succeed(Router.Router, {
    kind: "custom",
    decide: (routes, turns) =>
      Effect.sync(() => {
        calls.n++
        const last = turns[turns.length - 1]?.content ?? ""
        const route = last.includes("CODE") ? "code_generation" : last.includes("REASON") ? "complex_reasoning" : null
        return {
          route,
          models: Router.modelsOf(routes, route),
          confidence: undefined,
          failed: false,
          reason: route === null ? "no_match" as const : "routed" as const,
          error: undefined,
          latencyMs: 0
        }
      })
  })

const configOf = (upstream: string, routing = "") => `version: v0.4.0
listeners: [{ type: model, name: model_listener, port: 12000 }]
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${upstream}
    access_key: test-key
    default: true
  - model: openai/gpt-4o
    base_url: ${upstream}
    access_key: test-key
  - model: openai/gpt-4.1
    base_url: ${upstream}
    access_key: test-key
routing_preferences:
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models: [openai/gpt-4o]
  - name: complex_reasoning
    description: complex reasoning tasks, multi-step analysis, or detailed explanations
    models: [openai/gpt-4.1]
${routing}`

const toolCall = (id: string): ChatCompletionMessageParam => ({
  role: "assistant",
  content: null,
  tool_calls: [{ id, type: "function", function: { name: "run", arguments: "{}" } }]
})

/** A chat tool loop: each step appends the assistant's tool call and a tool output naming `intent`. */
const chatLoop = (url: string) => {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 })
  const messages: Array<ChatCompletionMessageParam> = []
  const send = async () => {
    const { response } = await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages })
      .withResponse()
    return routingOf(response)
  }
  return {
    user: (text: string) => {
      messages.push({ role: "user", content: text })
      return send()
    },
    tool: (intent: string) => {
      const id = `call_${messages.length}`
      messages.push(toolCall(id), { role: "tool", tool_call_id: id, content: `${intent}: tool output` })
      return send()
    },
    prefill: (text: string) => send().then(() => {
      messages.push({ role: "assistant", content: text })
      return send()
    })
  }
}

describe("turn-aware routing without a session id", () => {
  let mock: MockUpstream
  beforeAll(async () => {
    mock = await startMock(openAiJson())
  })
  afterAll(() => mock.close())

  it("a chat tool loop keeps the turn's model while tool outputs alternate; a new user turn re-routes", async () => {
    const calls = { n: 0 }
    const gateway = await startGateway(configOf(mock.url), { router: intentRouter(calls) })
    try {
      const loop = chatLoop(gateway.url)
      const first = await loop.user("Help me with CODE please")
      assert.deepStrictEqual([first.model, first.reason], ["openai/gpt-4o", "routed"])
      const steps = [await loop.tool("REASON"), await loop.tool("CODE"), await loop.tool("REASON")]
      assert.deepStrictEqual(steps.map((s) => s.model), Array(3).fill("openai/gpt-4o"))
      assert.deepStrictEqual(steps.map((s) => s.reason), Array(3).fill("turn_replay"))
      assert.strictEqual(calls.n, 1)
      const next = await loop.user("Now REASON about the result")
      assert.deepStrictEqual([next.model, next.reason], ["openai/gpt-4.1", "routed"])
      const after = await loop.tool("CODE")
      assert.deepStrictEqual([after.model, after.reason], ["openai/gpt-4.1", "turn_replay"])
      assert.strictEqual(calls.n, 2)
    } finally {
      await gateway.close()
    }
  })

  it("an assistant prefill continues the turn", async () => {
    const gateway = await startGateway(configOf(mock.url), { router: intentRouter({ n: 0 }) })
    try {
      const loop = chatLoop(gateway.url)
      assert.strictEqual((await loop.user("Write CODE")).model, "openai/gpt-4o")
      const prefilled = await loop.prefill("Let me REASON")
      assert.deepStrictEqual([prefilled.model, prefilled.reason], ["openai/gpt-4o", "turn_replay"])
    } finally {
      await gateway.close()
    }
  })

  it("with routing.turn_affinity: false every request is routed afresh (the loop flips)", async () => {
    const calls = { n: 0 }
    const gateway = await startGateway(configOf(mock.url, "routing:\n  turn_affinity: false\n"), {
      router: intentRouter(calls)
    })
    try {
      const loop = chatLoop(gateway.url)
      assert.strictEqual((await loop.user("Help me with CODE please")).model, "openai/gpt-4o")
      const flipped = await loop.tool("REASON")
      assert.deepStrictEqual([flipped.model, flipped.reason], ["openai/gpt-4.1", "routed"])
      assert.strictEqual(calls.n, 2)
    } finally {
      await gateway.close()
    }
  })

  it("a session id takes precedence: the session pin decides, turn pins are not consulted", async () => {
    const gateway = await startGateway(configOf(mock.url), { router: intentRouter({ n: 0 }) })
    try {
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 })
      const headers = { "x-routing-session-id": "turn-session-1" }
      const ask = async (messages: Array<ChatCompletionMessageParam>) =>
        routingOf(
          (await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages }, { headers }).withResponse())
            .response
        )
      const first = await ask([{ role: "user", content: "REASON first" }])
      assert.deepStrictEqual([first.model, first.pin], ["openai/gpt-4.1", "created"])
      const next = await ask([{ role: "user", content: "REASON first" }, { role: "assistant", content: "ok" }, {
        role: "user",
        content: "now CODE"
      }])
      assert.deepStrictEqual([next.model, next.reason, next.pin], ["openai/gpt-4.1", "pinned", "hit"])
    } finally {
      await gateway.close()
    }
  })

  it("a Messages tool loop (tool_use → tool_result …) keeps the turn's model; a new user turn re-routes", async () => {
    const calls = { n: 0 }
    const gateway = await startGateway(configOf(mock.url), { router: intentRouter(calls) })
    try {
      const client = new Anthropic({ baseURL: gateway.url, apiKey: "unused", maxRetries: 0 })
      const messages: Array<Anthropic.MessageParam> = []
      const send = async () =>
        routingOf(
          (await client.messages.create({ model: "openai/gpt-4o-mini", max_tokens: 64, messages }).withResponse())
            .response
        )
      const tool = (intent: string) => {
        const id = `toolu_${messages.length}`
        messages.push(
          { role: "assistant", content: [{ type: "tool_use", id, name: "run", input: {} }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: `${intent}: tool output` }] }
        )
        return send()
      }
      messages.push({ role: "user", content: "Help me with CODE please" })
      const first = await send()
      assert.deepStrictEqual([first.model, first.reason], ["openai/gpt-4o", "routed"])
      const steps = [await tool("REASON"), await tool("CODE"), await tool("REASON")]
      assert.deepStrictEqual(steps.map((s) => [s.model, s.reason]), Array(3).fill(["openai/gpt-4o", "turn_replay"]))
      messages.push({ role: "assistant", content: "done" }, { role: "user", content: "Now REASON about it" })
      const next = await send()
      assert.deepStrictEqual([next.model, next.reason], ["openai/gpt-4.1", "routed"])
      const after = await tool("CODE")
      assert.deepStrictEqual([after.model, after.reason], ["openai/gpt-4.1", "turn_replay"])
      assert.strictEqual(calls.n, 2)
    } finally {
      await gateway.close()
    }
  })
})
