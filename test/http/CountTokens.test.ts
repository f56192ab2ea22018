import Anthropic from "@anthropic-ai/sdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { multiApi } from "../support/MockResponses.js"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

const CLAUDE = "anthropic/claude-sonnet-4-20250514"
const CHAT = "mistral/mistral-large-latest"

let mock: MockUpstream
let gateway: TestGateway
let client: Anthropic

beforeAll(async () => {
  mock = await startMock(multiApi())
  gateway = await startGateway(`
version: v0.4.0
listeners:
  - type: model
    name: m
    port: 12000
model_providers:
  - model: ${CLAUDE}
    access_key: ant-key
    base_url: ${mock.url}
  - model: ${CHAT}
    access_key: test-key
    base_url: ${mock.url}
    default: true
`)
  client = new Anthropic({ baseURL: gateway.url, apiKey: "client-key", maxRetries: 0 })
})

afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})

const messages = [{ role: "user" as const, content: "Count the tokens of this sentence, please." }]

describe("POST /v1/messages/count_tokens", () => {
  it.live("is forwarded to an Anthropic provider with its key and model id", () =>
    Effect.promise(async () => {
      const { data, response } = await client.messages.countTokens({ model: CLAUDE, messages }).withResponse()
      assert.strictEqual(data.input_tokens, 42)
      assert.strictEqual(response.headers.get("x-switchyard-token-count"), "provider")
      const sent = mock.requests[mock.requests.length - 1]!
      assert.strictEqual(sent.path, "/v1/messages/count_tokens")
      assert.strictEqual(sent.body.model, "claude-sonnet-4-20250514")
      assert.strictEqual(sent.headers["x-api-key"], "ant-key")
    }))

  it.live("is estimated for other providers, and says so", () =>
    Effect.promise(async () => {
      const before = mock.requests.length
      const short = await client.messages.countTokens({ model: CHAT, messages }).withResponse()
      const long = await client.messages.countTokens({
        model: CHAT,
        system: "You are a careful assistant. ".repeat(20),
        messages
      })
      assert.strictEqual(short.response.headers.get("x-switchyard-token-count"), "estimate")
      assert.isAbove(short.data.input_tokens, 5)
      assert.isBelow(short.data.input_tokens, 30)
      assert.isAbove(long.input_tokens, short.data.input_tokens + 100)
      assert.strictEqual(mock.requests.length, before)
    }))

  it.live("an unknown model is a 404 in Anthropic's shape", () =>
    Effect.promise(async () => {
      const error = await client.messages.countTokens({ model: "nope/x", messages }).then(() => undefined, (e) => e)
      assert.instanceOf(error, Anthropic.APIError)
      assert.strictEqual((error as InstanceType<typeof Anthropic.APIError>).status, 404)
    }))
})
