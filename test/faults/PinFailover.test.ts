import Anthropic from "@anthropic-ai/sdk"
import { assert, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import { openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { provider } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"
import { pinOf, startFaultGateway } from "./FaultGateway.js"
import { status } from "./FaultUpstream.js"

interface Step {
  readonly status: number
  readonly model: string | null
  readonly pin: string | null
  readonly reason: string | null
  readonly from: string | null
}

interface Setup {
  readonly a: MockUpstream
  readonly b: MockUpstream
  readonly gateway: TestGateway
  /** One chat request of the session; resolves to the serving model and the routing headers. */
  readonly step: () => Promise<Step>
}

const session = "agent-loop-1"

const withSession = async (routing: string, test: (setup: Setup) => Promise<void>) => {
  const a = await startMock(openAiJson())
  const b = await startMock(openAiJson())
  const gateway = await startFaultGateway({
    providers: provider("openai/model-a", a.url) + provider("openai/model-b", b.url),
    route: ["openai/model-a", "openai/model-b"],
    maxRetries: 0,
    routing
  })
  const client = new OpenAI({
    baseURL: `${gateway.url}/v1`,
    apiKey: "k",
    maxRetries: 0,
    defaultHeaders: { "x-routing-session-id": session }
  })
  const step = async () => {
    const messages = [{ role: "user" as const, content: "go" }]
    const result = await client.chat.completions.create({ model: "openai/model-a", messages }).withResponse().then(
        ({ response }) => ({ status: response.status, headers: response.headers }),
        (error: unknown) => {
          if (!(error instanceof OpenAI.APIError)) throw error
          return { status: error.status ?? 0, headers: new Headers(error.headers as Record<string, string>) }
        }
      )
    return {
      status: result.status,
      model: result.headers.get("x-routing-model"),
      pin: result.headers.get("x-routing-pin"),
      reason: result.headers.get("x-routing-reason"),
      from: result.headers.get("x-routing-fallback-from")
    }
  }
  try {
    await test({ a, b, gateway, step })
  } finally {
    await gateway.close()
    await a.close()
    await b.close()
  }
}

const noCooldown = "  cooldown:\n    failures: 100\n"

describe("pin_failover: migrate (the default)", () => {
  it("the fallback serves each failed step; after 2 consecutive failures the pin moves, once", () =>
    withSession(noCooldown, async ({ a, b, gateway, step }) => {
      assert.deepInclude(await step(), { status: 200, model: "openai/model-a", pin: "created" })
      a.handler = status(503)
      assert.deepStrictEqual(await step(), {
        status: 200,
        model: "openai/model-b",
        pin: "hit",
        reason: "pinned",
        from: "openai/model-a"
      })
      assert.strictEqual((await pinOf(gateway.url, session)).model, "openai/model-a")
      assert.deepStrictEqual(await step(), {
        status: 200,
        model: "openai/model-b",
        pin: "migrated",
        reason: "pin_migrated",
        from: "openai/model-a"
      })
      const pin = await pinOf(gateway.url, session)
      assert.strictEqual(pin.model, "openai/model-b")
      assert.deepStrictEqual(pin.migrations.map((m) => [m.from, m.to, m.reason]), [
        ["openai/model-a", "openai/model-b", "consecutive_failures"]
      ])
      // Model a recovers: the session stays on b (one change, no flapping back).
      a.handler = openAiJson()
      const aCalls = a.requests.length
      for (let i = 0; i < 3; i++) {
        const next = await step()
        assert.deepStrictEqual(next, { status: 200, model: "openai/model-b", pin: "hit", reason: "pinned", from: null })
      }
      assert.strictEqual(a.requests.length, aCalls)
      assert.strictEqual(b.requests.length, 5)
    }))

  it("failures must be consecutive: a step the pinned model serves resets the count", () =>
    withSession(noCooldown, async ({ a, gateway, step }) => {
      await step()
      for (let i = 0; i < 3; i++) {
        a.handler = status(500)
        assert.deepInclude(await step(), { model: "openai/model-b", pin: "hit" })
        a.handler = openAiJson()
        assert.deepInclude(await step(), { model: "openai/model-a", pin: "hit" })
      }
      const pin = await pinOf(gateway.url, session)
      assert.strictEqual(pin.model, "openai/model-a")
      assert.deepStrictEqual(pin.migrations, [])
    }))

  it("while the pinned model cools down, the pin moves on the first failure", () =>
    withSession("  cooldown:\n    failures: 1\n    cooldown_seconds: 30\n", async ({ a, gateway, step }) => {
      await step()
      a.handler = status(503)
      assert.deepInclude(await step(), { model: "openai/model-b", pin: "migrated", reason: "pin_migrated" })
      assert.deepStrictEqual((await pinOf(gateway.url, session)).migrations.map((m) => m.reason), ["cooling_down"])
    }))

  it("a client-side 4xx never moves the pin", () =>
    withSession(noCooldown, async ({ a, b, gateway, step }) => {
      await step()
      a.handler = status(400)
      for (let i = 0; i < 4; i++) assert.deepInclude(await step(), { status: 400, model: "openai/model-a" })
      assert.strictEqual(b.requests.length, 0)
      assert.strictEqual((await pinOf(gateway.url, session)).model, "openai/model-a")
    }))

  it("works the same for an Anthropic client", () =>
    withSession(noCooldown, async ({ a, gateway }) => {
      const client = new Anthropic({
        baseURL: gateway.url,
        apiKey: "k",
        maxRetries: 0,
        defaultHeaders: { "x-routing-session-id": "anthropic-session" }
      })
      const call = () =>
        client.messages.create({ model: "openai/model-a", max_tokens: 5, messages: [{ role: "user", content: "go" }] })
          .withResponse()
      await call()
      a.handler = status(529)
      const first = await call()
      assert.strictEqual(first.response.headers.get("x-routing-model"), "openai/model-b")
      const second = await call()
      assert.strictEqual(second.response.headers.get("x-routing-pin"), "migrated")
      assert.strictEqual((await pinOf(gateway.url, "anthropic-session")).model, "openai/model-b")
    }))
})

describe("pin_failover: hold", () => {
  it("the fallback serves this request only; the pin stays and the session returns when the model recovers", () =>
    withSession(noCooldown + "  pin_failover: hold\n", async ({ a, gateway, step }) => {
      await step()
      a.handler = status(503)
      for (let i = 0; i < 4; i++) {
        assert.deepStrictEqual(await step(), {
          status: 200,
          model: "openai/model-b",
          pin: "hit",
          reason: "pinned",
          from: "openai/model-a"
        })
      }
      assert.strictEqual((await pinOf(gateway.url, session)).model, "openai/model-a")
      a.handler = openAiJson()
      assert.deepInclude(await step(), { model: "openai/model-a", pin: "hit", from: null })
    }))
})

describe("pin_failover: fail", () => {
  it("a pinned request whose model fails gets the error; no other model is tried", () =>
    withSession(noCooldown + "  pin_failover: fail\n", async ({ a, b, gateway, step }) => {
      await step()
      a.handler = status(503)
      for (let i = 0; i < 3; i++) assert.deepInclude(await step(), { status: 503, model: "openai/model-a" })
      assert.strictEqual(b.requests.length, 0)
      assert.strictEqual((await pinOf(gateway.url, session)).model, "openai/model-a")
    }))

  it("an unpinned request still falls back under fail", () =>
    withSession(noCooldown + "  pin_failover: {policy: fail}\n", async ({ a, gateway }) => {
      a.handler = status(503)
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "openai/model-a", messages: [{ role: "user", content: "x" }] })
      })
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers.get("x-routing-model"), "openai/model-b")
    }))
})
