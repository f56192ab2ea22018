import Anthropic from "@anthropic-ai/sdk"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import OpenAI from "openai"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

const teamKey = "sk-team-0123456789abcdef"
const narrowKey = "sk-narrow-0123456789abcdef"
const hashedKey = "sk-hashed-0123456789abcdef"
const expiredKey = "sk-expired-0123456789abcdef"
const sha = (key: string) => createHash("sha256").update(key).digest("hex")

const config = (mock: string) => `
version: v0.4.0
listeners: [{ type: model, name: l, port: 12000, address: 127.0.0.1 }]
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${mock}
    access_key: provider-key
    default: true
  - model: openai/gpt-4o
    base_url: ${mock}
    access_key: provider-key
  - model: openai/text-embedding-3-small
    base_url: ${mock}
    access_key: provider-key
auth:
  keys:
    - name: team
      key: $TEAM_KEY
    - name: narrow
      key: $NARROW_KEY
      models: [openai/gpt-4o-mini]
    - name: hashed
      key_sha256: ${sha(hashedKey)}
    - name: old
      key: ${expiredKey}
      expires_at: 2020-01-01T00:00:00Z
`

let mock: MockUpstream
let gateway: TestGateway

beforeAll(async () => {
  mock = await startMock((req, res) => {
    const body = req.path.endsWith("/embeddings")
      ? { object: "list", data: [{ object: "embedding", index: 0, embedding: [0.5, -0.25] }], model: req.body.model }
      : {
        id: "chatcmpl-1",
        object: "chat.completion",
        created: 1,
        model: req.body.model,
        choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }]
      }
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify(body))
  })
  gateway = await startGateway(config(mock.url), { env: { TEAM_KEY: teamKey, NARROW_KEY: narrowKey } })
})
afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})

const openai = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 })
const anthropic = (apiKey: string) => new Anthropic({ apiKey, baseURL: gateway.url, maxRetries: 0 })
const chat = (apiKey: string, model = "openai/gpt-4o-mini") =>
  openai(apiKey).chat.completions.create({ model, messages: [{ role: "user", content: "hello" }] })
const messages = (apiKey: string, model = "openai/gpt-4o-mini") =>
  anthropic(apiKey).messages.create({ model, max_tokens: 16, messages: [{ role: "user", content: "hello" }] })

const failure = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected the request to fail")
}

describe("client keys", () => {
  it("serves a known key (Bearer for OpenAI clients, x-api-key for Anthropic clients, hashed keys)", async () => {
    const before = mock.requests.length
    assert.strictEqual((await chat(teamKey)).choices[0]!.message.content, "hi")
    assert.strictEqual((await messages(teamKey)).content[0]!.type, "text")
    assert.strictEqual((await chat(hashedKey)).choices[0]!.message.content, "hi")
    const sent = mock.requests.slice(before)
    assert.strictEqual(sent.length, 3)
    // The client's key never goes upstream: the provider key does.
    for (const r of sent) {
      assert.strictEqual(r.headers.authorization, "Bearer provider-key")
      assert.isUndefined(r.headers["x-api-key"])
    }
  })

  it("answers 401 in each API's shape for no, wrong and expired keys, without calling upstream", async () => {
    const before = mock.requests.length
    for (const key of ["sk-wrong-0123456789abcdef", teamKey.slice(0, -1), expiredKey]) {
      const o = await failure(chat(key))
      assert.instanceOf(o, OpenAI.AuthenticationError)
      assert.strictEqual((o as InstanceType<typeof OpenAI.AuthenticationError>).code, "invalid_api_key")
      const a = await failure(messages(key))
      assert.instanceOf(a, Anthropic.AuthenticationError)
      const body = (a as InstanceType<typeof Anthropic.AuthenticationError>).error as {
        type: string
        error: { type: string }
      }
      assert.strictEqual(body.type, "error")
      assert.strictEqual(body.error.type, "authentication_error")
    }
    const missing = await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", body: "not json" })
    assert.strictEqual(missing.status, 401)
    assert.include(await missing.text(), "client key")
    const missingAnthropic = await fetch(`${gateway.url}/v1/messages`, { method: "POST", body: "{}" })
    assert.strictEqual(missingAnthropic.status, 401)
    const shaped = await missingAnthropic.json() as { type: string; error: { type: string } }
    assert.deepStrictEqual([shaped.type, shaped.error.type], ["error", "authentication_error"])
    assert.strictEqual(mock.requests.length, before)
  })

  it("answers 403 when the key may not use the model, in each API's shape", async () => {
    const before = mock.requests.length
    const o = await failure(chat(narrowKey, "openai/gpt-4o"))
    assert.instanceOf(o, OpenAI.PermissionDeniedError)
    assert.include((o as Error).message, "may not use the model 'openai/gpt-4o'")
    const a = await failure(messages(narrowKey, "gpt-4o"))
    assert.instanceOf(a, Anthropic.PermissionDeniedError)
    assert.strictEqual(mock.requests.length, before)
    assert.strictEqual((await chat(narrowKey, "gpt-4o-mini")).choices[0]!.message.content, "hi")
  })

  it("guards every other path too: models, decisions, embeddings and the pins API", async () => {
    const wrong = { authorization: "Bearer sk-wrong-0123456789abcdef", "content-type": "application/json" }
    const right = { authorization: `Bearer ${teamKey}`, "content-type": "application/json" }
    const body = JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }] })
    const paths: Array<readonly [string, string, string | undefined]> = [
      ["GET", "/v1/models", undefined],
      ["POST", "/routing/v1/chat/completions", body],
      ["POST", "/routing/v1/messages", JSON.stringify({ model: "openai/gpt-4o-mini", max_tokens: 5, messages: [] })],
      ["POST", "/v1/messages", body],
      ["POST", "/v1/embeddings", JSON.stringify({ model: "openai/text-embedding-3-small", input: "x" })],
      ["GET", "/v1/routing/sessions", undefined],
      ["GET", "/v1/routing/sessions/s1", undefined],
      ["DELETE", "/v1/routing/sessions/s1", undefined]
    ]
    for (const [method, path, payload] of paths) {
      const init = { method, headers: wrong, ...(payload ? { body: payload } : {}) }
      const denied = await fetch(`${gateway.url}${path}`, init)
      assert.strictEqual(denied.status, 401, `${method} ${path}`)
      await denied.text()
    }
    const models = await fetch(`${gateway.url}/v1/models`, { headers: right })
    assert.strictEqual(models.status, 200)
    const health = await fetch(`${gateway.url}/healthz`)
    assert.strictEqual(health.status, 200)
  })

  it("proxies /v1/embeddings to the named provider with its model id (no routing)", async () => {
    const result = await openai(teamKey).embeddings.create({
      model: "openai/text-embedding-3-small",
      input: "hello",
      encoding_format: "float"
    })
    assert.deepStrictEqual(result.data[0]!.embedding, [0.5, -0.25])
    const sent = mock.requests[mock.requests.length - 1]!
    assert.strictEqual(sent.path, "/v1/embeddings")
    assert.strictEqual(sent.body.model, "text-embedding-3-small")
    const unknown = await failure(openai(teamKey).embeddings.create({ model: "nope/none", input: "x" }))
    assert.instanceOf(unknown, OpenAI.NotFoundError)
  })
})
