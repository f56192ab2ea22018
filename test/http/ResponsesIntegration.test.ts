import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { openAiError, openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

// /v1/responses shares the proxy's guarantees: upstream errors never echo a key, client keys are checked, and a tool
// loop without a session id stays on its turn's model.

const KEY = "sk-upstream-secret-0123456789"
const CLIENT_KEY = "client-key-for-responses-0001"

const config = (upstream: string, tail = "") => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: mistral/mistral-small-latest
    access_key: ${KEY}
    base_url: ${upstream}
    default: true
  - model: mistral/mistral-large-latest
    access_key: ${KEY}
    base_url: ${upstream}
routing_preferences:
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models: [mistral/mistral-large-latest]
  - name: summarising
    description: summarising documents and long texts
    models: [mistral/mistral-small-latest]
${tail}`

let mock: MockUpstream
let gateway: TestGateway

beforeAll(async () => {
  mock = await startMock()
  gateway = await startGateway(config(mock.url))
})

afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})

const responses = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/responses`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })

describe("/v1/responses with the proxy's guarantees", () => {
  it("redacts the provider key from an upstream error it translates", async () => {
    mock.handler = openAiError(401, `Incorrect API key provided: ${KEY}`, "invalid_request_error")
    try {
      const response = await responses(gateway.url, { model: "mistral/mistral-large-latest", input: "hi" })
      assert.strictEqual(response.status, 401)
      const text = await response.text()
      assert.notInclude(text, KEY)
      assert.include(text, "[REDACTED]")
    } finally {
      mock.handler = openAiJson()
    }
  })

  it("replays the turn's model for a function_call_output without a session id", async () => {
    const first = await responses(gateway.url, { input: "Write a Python function that parses a CSV file." })
    assert.strictEqual(first.status, 200)
    await first.text()
    const model = first.headers.get("x-routing-model")
    const next = await responses(gateway.url, {
      input: [
        { role: "user", content: "Write a Python function that parses a CSV file." },
        { type: "function_call", call_id: "call_1", name: "summarise_document", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "Summarise this long document for me please." }
      ]
    })
    assert.strictEqual(next.status, 200)
    await next.text()
    assert.strictEqual(next.headers.get("x-routing-reason"), "turn_replay")
    assert.strictEqual(next.headers.get("x-routing-model"), model)
  })

  it("refuses a missing or wrong client key before reading the body, on responses and count_tokens", async () => {
    const guarded = await startGateway(
      config(mock.url, `auth:\n  keys:\n    - name: team\n      key: ${CLIENT_KEY}\n`)
    )
    try {
      for (const path of ["/v1/responses", "/routing/v1/responses", "/v1/messages/count_tokens"]) {
        for (const headers of [{}, { authorization: "Bearer wrong-key-000000000000" }]) {
          const response = await fetch(`${guarded.url}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body: "{not json"
          })
          assert.strictEqual(response.status, 401, path)
          await response.text()
        }
      }
      const ok = await responses(guarded.url, { model: "mistral/mistral-large-latest", input: "hi" }, {
        authorization: `Bearer ${CLIENT_KEY}`
      })
      assert.strictEqual(ok.status, 200)
      await ok.text()
    } finally {
      await guarded.close()
    }
  })
})
