import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import OpenAI from "openai"
import { randomBytes } from "node:crypto"
import pg from "pg"
import { multiApi } from "../support/MockResponses.js"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startTcpProxy } from "../support/TcpProxy.js"
import type { TcpProxy } from "../support/TcpProxy.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

const CHAT = "mistral/mistral-large-latest"
const CLAUDE = "anthropic/claude-sonnet-4-20250514"
const NATIVE = "openai/gpt-4o"

/** The shared PostgreSQL (trust auth); each run gets its own schema, dropped afterwards. */
const adminUrl = "postgres://postgres@127.0.0.1:5432/test"
const schema = `sy_responses_${randomBytes(6).toString("hex")}`

const config = (upstream: string, state: string) => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
    timeout: 3s
model_providers:
  - model: ${CHAT}
    access_key: test-key
    base_url: ${upstream}
    default: true
  - model: ${CLAUDE}
    access_key: test-key
    base_url: ${upstream}
  - model: ${NATIVE}
    access_key: test-key
    base_url: ${upstream}
${state}`

let mock: MockUpstream
let proxy: TcpProxy
const admin = new pg.Client({ connectionString: adminUrl })

beforeAll(async () => {
  mock = await startMock(multiApi())
  proxy = await startTcpProxy(5432)
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
})

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined)
  await admin.end()
  await proxy?.close()
  await mock?.close()
})

const stores = [
  ["memory", () => "state_storage:\n  type: memory\n"],
  [
    "postgres",
    () =>
      `state_storage:\n  type: postgres\n  connection_string: $DATABASE_URL\n`
  ]
] as const

const env = () => ({
  DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}/test?options=-c%20search_path%3D${schema}`
})

const lastRequest = () => mock.requests[mock.requests.length - 1]!

for (const [kind, state] of stores) {
  describe(`state_storage: ${kind}`, () => {
    let gateway: TestGateway
    let client: OpenAI

    beforeAll(async () => {
      gateway = await startGateway(config(mock.url, state()), { env: env() })
      client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "k", maxRetries: 0 })
    })
    afterAll(async () => {
      await gateway?.close()
    })

    for (const model of [CHAT, CLAUDE]) {
      it.live(`previous_response_id chains 3 turns (${model})`, () =>
        Effect.promise(async () => {
          const one = await client.responses.create({ model, input: "first question", instructions: "Be brief." })
          const two = await client.responses.create({ model, input: "second question", previous_response_id: one.id })
          const three = await client.responses.stream({
            model,
            input: "third question",
            previous_response_id: two.id
          }).finalResponse()
          assert.strictEqual(one.output_text, `served by ${model.split("/")[1]} turn 1`)
          assert.strictEqual(two.output_text, `served by ${model.split("/")[1]} turn 2`)
          assert.strictEqual(three.output_text, `served by ${model.split("/")[1]} turn 3`)
          assert.strictEqual(two.previous_response_id, one.id)
          const sent = lastRequest().body
          const turns = (sent.messages as Array<{ role: string }>).map((m) => m.role)
          assert.deepStrictEqual(turns, ["user", "assistant", "user", "assistant", "user"])
          assert.notProperty(sent, "previous_response_id")
          if (kind === "postgres") {
            const rows = await admin.query(`SELECT id FROM ${schema}.switchyard_responses WHERE id = ANY($1)`, [
              [one.id, two.id, three.id]
            ])
            assert.strictEqual(rows.rowCount, 3)
          }
        }))
    }

    it.live("an unknown previous_response_id is a 409 with Plano's message", () =>
      Effect.promise(async () => {
        const error = await client.responses.create({ model: CHAT, input: "x", previous_response_id: "resp_nope" })
          .then(() => undefined, (e: unknown) => e)
        assert.instanceOf(error, OpenAI.APIError)
        assert.strictEqual((error as InstanceType<typeof OpenAI.APIError>).status, 409)
        assert.include(String((error as Error).message), "Conversation state not found for previous_response_id: resp_nope")
      }))

    it.live("store: false stores nothing", () =>
      Effect.promise(async () => {
        const one = await client.responses.create({ model: CHAT, input: "not kept", store: false })
        assert.strictEqual((one as unknown as { store: boolean }).store, false)
        const status = await client.responses.create({ model: CHAT, input: "x", previous_response_id: one.id })
          .then(() => 200, (e: InstanceType<typeof OpenAI.APIError>) => e.status)
        assert.strictEqual(status, 409)
      }))

    it.live("a native provider gets an id the store does not hold passed through", () =>
      Effect.promise(async () => {
        const one = await client.responses.create({ model: NATIVE, input: "hi", previous_response_id: "resp_upstream_1" })
        assert.strictEqual(lastRequest().path, "/v1/responses")
        assert.strictEqual(lastRequest().body.previous_response_id, "resp_upstream_1")
        assert.strictEqual(one.previous_response_id, "resp_upstream_1")
      }))

    if (kind === "postgres") {
      it.live("database stopped mid-run: 503 within the timeout, never a hang; then recovery", () =>
        Effect.promise(async () => {
          const kept = await client.responses.create({ model: CHAT, input: "before the outage" })
          proxy.cut()
          try {
            for (const stream of [false, true]) {
              const started = Date.now()
              const res = await fetch(`${gateway.url}/v1/responses`, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ model: CHAT, input: "during", previous_response_id: kept.id, stream })
              })
              assert.strictEqual(res.status, 503)
              const body = await res.json() as { error: { code: string; message: string } }
              assert.strictEqual(body.error.code, "state_unavailable")
              assert.isBelow(Date.now() - started, 4000)
            }
            // A response that cannot be stored is not acknowledged.
            const res = await fetch(`${gateway.url}/v1/responses`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ model: CHAT, input: "unstorable" })
            })
            assert.strictEqual(res.status, 503)
          } finally {
            proxy.restore()
          }
          const after = await client.responses.create({ model: CHAT, input: "after", previous_response_id: kept.id })
          assert.strictEqual(after.output_text, `served by mistral-large-latest turn 2`)
        }))

      it.live("database hung mid-run: 503 once the 3 s timeout passes, then recovery", () =>
        Effect.promise(async () => {
          const kept = await client.responses.create({ model: CHAT, input: "before the stall" })
          proxy.stall()
          // Let the pool notice its idle connections are gone, so the request below has to open a new one.
          await new Promise((resolve) => setTimeout(resolve, 100))
          try {
            const started = Date.now()
            const res = await fetch(`${gateway.url}/v1/responses`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ model: CHAT, input: "during", previous_response_id: kept.id })
            })
            const took = Date.now() - started
            assert.strictEqual(res.status, 503)
            assert.isAtLeast(took, 2500)
            assert.isBelow(took, 5000)
          } finally {
            proxy.restore()
          }
          const after = await client.responses.create({ model: CHAT, input: "after", previous_response_id: kept.id })
          assert.strictEqual(after.output_text, `served by mistral-large-latest turn 2`)
        }), 20_000)
    }
  })
}
