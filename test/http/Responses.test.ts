import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import OpenAI from "openai"
import type { Response as OpenAiResponse, ResponseInputItem } from "openai/resources/responses/responses"
import { ARGS, CHECKING, multiApi, SUNNY } from "../support/MockResponses.js"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { routingOf } from "../support/RoutingHeaders.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

const NATIVE = "openai/gpt-4o"
const CHAT = "mistral/mistral-large-latest"
const CLAUDE = "anthropic/claude-sonnet-4-20250514"

const CODE = "Write a Python function that parses a CSV file and returns a list of dictionaries."
const REASONING = "Compare PostgreSQL and MongoDB for an e-commerce platform and explain the trade-offs step by step."

const config = (upstream: string, tail = "") => `
version: v0.3.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: openai/gpt-4o-mini
    access_key: test-key
    base_url: ${upstream}
    default: true
  - model: ${NATIVE}
    access_key: test-key
    base_url: ${upstream}
    routing_preferences:
      - name: complex_reasoning
        description: complex reasoning tasks, multi-step analysis, or detailed explanations
  - model: ${CLAUDE}
    access_key: test-key
    base_url: ${upstream}
    routing_preferences:
      - name: code_generation
        description: generating new code, writing functions, or creating boilerplate
  - model: ${CHAT}
    access_key: test-key
    base_url: ${upstream}
${tail}`

const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "Current weather of a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false
}

let mock: MockUpstream
let gateway: TestGateway
let client: OpenAI

beforeAll(async () => {
  mock = await startMock(multiApi())
  gateway = await startGateway(config(mock.url, "state_storage:\n  type: memory\n"))
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", maxRetries: 0 })
})

afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})

const calls = (response: OpenAiResponse) =>
  response.output.flatMap((item) => item.type === "function_call" ? [{ name: item.name, args: item.arguments, id: item.call_id }] : [])

/** Turn 1 offers the tool, turn 2 sends its output back (the whole conversation, no stored state). */
const toolRoundTrip = async (model: string, stream: boolean) => {
  const first: Array<ResponseInputItem> = [{ role: "user", content: "What is the weather in Oslo?" }]
  const ask = async (input: Array<ResponseInputItem>) =>
    stream
      ? await client.responses.stream({ model, input, tools: [weatherTool], store: false }).finalResponse()
      : await client.responses.create({ model, input, tools: [weatherTool], store: false })
  const one = await ask(first)
  const call = calls(one)[0]
  assert.isDefined(call)
  const two = await ask([
    ...first,
    ...one.output as Array<ResponseInputItem>,
    { type: "function_call_output", call_id: call!.id, output: "{\"sky\":\"clear\"}" }
  ])
  return { one, two }
}

describe("POST /v1/responses through the official openai client", () => {
  for (const [label, model, path] of [
    ["OpenAI Responses (native, piped)", NATIVE, "/v1/responses"],
    ["chat completions (translated)", CHAT, "/v1/chat/completions"],
    ["Anthropic Messages (translated)", CLAUDE, "/v1/messages"]
  ] as const) {
    for (const stream of [false, true]) {
      it.live(`${label}, ${stream ? "stream" : "create"}: same text and tool call both turns`, () =>
        Effect.promise(async () => {
          const before = mock.requests.length
          const { one, two } = await toolRoundTrip(model, stream)
          assert.strictEqual(one.output_text, CHECKING)
          assert.deepStrictEqual(calls(one).map((c) => [c.name, JSON.parse(c.args)]), [["get_weather", JSON.parse(ARGS)]])
          assert.strictEqual(one.status, "completed")
          assert.strictEqual(two.output_text, SUNNY)
          assert.deepStrictEqual(calls(two), [])
          assert.isAbove(one.usage?.total_tokens ?? 0, 0)
          const sent = mock.requests.slice(before)
          assert.deepStrictEqual(sent.map((r) => r.path), [path, path])
          if (path === "/v1/chat/completions") {
            const msgs = sent[1]!.body.messages as Array<Record<string, unknown>>
            assert.deepStrictEqual(msgs.map((m) => m.role), ["user", "assistant", "tool"])
          }
        }))
    }
  }

  it.live("response and item ids are unique across responses", () =>
    Effect.promise(async () => {
      const a = await client.responses.create({ model: CHAT, input: "hello", store: false })
      const b = await client.responses.create({ model: CHAT, input: "hello", store: false })
      assert.notStrictEqual(a.id, b.id)
      assert.match(a.id, /^resp_/)
      assert.notStrictEqual(a.output[0]!.id, b.output[0]!.id)
    }))

  it.live("a 5-step pinned loop over /v1/responses keeps one model; without the session each step routes afresh", () =>
    Effect.promise(async () => {
      const steps = [CODE, REASONING, CODE, REASONING, REASONING]
      const models: Array<string | null> = []
      for (const step of steps) {
        const { response } = await client.responses.create(
          { input: step, store: false },
          { headers: { "x-routing-session-id": "responses-loop-1" } }
        ).withResponse()
        models.push(routingOf(response).model)
      }
      assert.strictEqual(new Set(models).size, 1)
      assert.strictEqual(models[0], CLAUDE)
      const { response } = await client.responses.create({ input: REASONING, store: false }).withResponse()
      assert.strictEqual(routingOf(response).model, NATIVE)
    }))

  it.live("POST /routing/v1/responses answers the decision without calling a provider", () =>
    Effect.promise(async () => {
      const before = mock.requests.length
      const res = await fetch(`${gateway.url}/routing/v1/responses`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-routing-session-id": "decide-1" },
        body: JSON.stringify({ model: "openai/gpt-4o-mini", input: CODE })
      })
      assert.strictEqual(res.status, 200)
      const body = await res.json() as Record<string, unknown>
      assert.deepStrictEqual(body.models, [CLAUDE])
      assert.strictEqual(body.route, "code_generation")
      assert.strictEqual(body.session_id, "decide-1")
      assert.strictEqual(body.pinned, false)
      assert.strictEqual(mock.requests.length, before)
    }))

  it.live("reasoning a translated provider cannot carry is dropped, and a header says so", () =>
    Effect.promise(async () => {
      const send = (model: string, body: Record<string, unknown>) =>
        fetch(`${gateway.url}/v1/responses`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, store: false, ...body })
        })
      const input = [
        { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "opaque" },
        { role: "user", content: "hello" }
      ]
      const translated = await send(CHAT, { input, reasoning: { effort: "low" } })
      assert.strictEqual(translated.status, 200)
      assert.strictEqual(translated.headers.get("x-switchyard-reasoning"), "dropped")
      const plain = await send(CHAT, { input: "hello" })
      assert.isNull(plain.headers.get("x-switchyard-reasoning"))
      const native = await send(NATIVE, { input, reasoning: { effort: "low" } })
      assert.isNull(native.headers.get("x-switchyard-reasoning"))
      assert.deepStrictEqual(mock.requests[mock.requests.length - 1]!.body.reasoning, { effort: "low" })
      await Promise.all([translated.text(), plain.text(), native.text()])
    }))

  it.live("a body without input is a 400 in OpenAI's shape", () =>
    Effect.promise(async () => {
      const res = await fetch(`${gateway.url}/v1/responses`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: CHAT })
      })
      assert.strictEqual(res.status, 400)
      const body = await res.json() as { error: { code: string; message: string } }
      assert.strictEqual(body.error.code, "missing_required_parameter")
      assert.include(body.error.message, "'input'")
    }))
})
