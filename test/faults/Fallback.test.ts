import Anthropic from "@anthropic-ai/sdk"
import { assert, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import { anthropicMessages, hang, openAiJson, openAiStream, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { provider } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"
import {
  cutStream,
  failFirst,
  hugeBody,
  malformedJson,
  malformedSse,
  refusedUrl,
  reset,
  status
} from "./FaultUpstream.js"
import type { FaultConfig } from "./FaultGateway.js"
import { startFaultGateway, targets } from "./FaultGateway.js"

interface Setup {
  readonly a: MockUpstream
  readonly b: MockUpstream
  readonly gateway: TestGateway
  readonly openai: OpenAI
  readonly anthropic: Anthropic
}

/** Two providers (`openai/model-a` on mock a, `openai/model-b` on mock b), one route [a, b]. */
const withTwo = async (
  config: Partial<FaultConfig>,
  test: (setup: Setup) => Promise<void>,
  bWire: "openai" | "anthropic" = "openai"
) => {
  const a = await startMock(openAiJson())
  const b = await startMock(bWire === "openai" ? openAiJson() : anthropicMessages())
  const bModel = bWire === "openai" ? "openai/model-b" : "anthropic/model-b"
  const gateway = await startFaultGateway({
    providers: provider("openai/model-a", a.url) + provider(bModel, b.url),
    route: ["openai/model-a", bModel],
    ...config
  })
  try {
    await test({
      a,
      b,
      gateway,
      openai: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "k", maxRetries: 0, timeout: 20_000 }),
      anthropic: new Anthropic({ baseURL: gateway.url, apiKey: "k", maxRetries: 0, timeout: 20_000 })
    })
  } finally {
    await gateway.close()
    await a.close()
    await b.close()
  }
}

const ask = { model: "openai/model-a", messages: [{ role: "user" as const, content: "hi" }] }

describe("fallbacks before the first byte", () => {
  const failures = [
    ["503", status(503)],
    ["500", status(500)],
    ["502", status(502)],
    ["504", status(504)],
    ["529 overloaded", status(529)],
    ["429", status(429)],
    ["a reset connection", reset()]
  ] as const
  for (const [name, failing] of failures) {
    it(`${name} on the chosen model: retried once, then the route's next model serves`, () =>
      withTwo({}, async ({ a, b, openai }) => {
        a.handler = failing
        const { data, response } = await openai.chat.completions.create(ask).withResponse()
        assert.strictEqual(data.choices[0]?.message.content, "served by model-b")
        assert.strictEqual(response.headers.get("x-routing-model"), "openai/model-b")
        assert.strictEqual(response.headers.get("x-routing-fallback-from"), "openai/model-a")
        assert.strictEqual(response.headers.get("x-routing-attempts"), "3")
        assert.strictEqual(a.requests.length, 2)
        assert.strictEqual(b.requests.length, 1)
        assert.strictEqual(b.requests[0]!.body.model, "model-b")
      }))
  }

  it("a refused connection falls back, re-translated for an Anthropic upstream (OpenAI client)", async () => {
    const b = await startMock(anthropicMessages())
    const gateway = await startFaultGateway({
      providers: provider("openai/model-a", await refusedUrl()) + provider("anthropic/model-b", b.url),
      route: ["openai/model-a", "anthropic/model-b"]
    })
    try {
      const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "k", maxRetries: 0 })
      const { data, response } = await openai.chat.completions.create(ask).withResponse()
      assert.strictEqual(data.choices[0]?.message.content, "served by model-b")
      assert.strictEqual(response.headers.get("x-routing-model"), "anthropic/model-b")
      assert.strictEqual(b.requests[0]!.path, "/v1/messages")
      assert.deepStrictEqual(b.requests[0]!.body.messages, [{ role: "user", content: "hi" }])
    } finally {
      await gateway.close()
      await b.close()
    }
  })

  it("Anthropic client: a 529 falls back to the next model, streamed and translated", () =>
    withTwo({}, async ({ a, b, anthropic }) => {
      a.handler = status(529)
      b.handler = openAiStream(["fine ", "answer"])
      const stream = await anthropic.messages.create({
        model: "openai/model-a",
        max_tokens: 50,
        stream: true,
        messages: [{ role: "user", content: "hi" }]
      })
      let text = ""
      for await (const event of stream) {
        if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text
      }
      assert.strictEqual(text, "fine answer")
      assert.strictEqual(a.requests.length, 2)
      assert.strictEqual(b.requests[0]!.body.stream, true)
    }))

  it("max_retries counts toward the cooldown: the third failure cools the model and the retries stop", () =>
    withTwo({ maxRetries: 5 }, async ({ a, b, openai }) => {
      a.handler = status(500)
      const { data, response } = await openai.chat.completions.create(ask).withResponse()
      assert.strictEqual(data.choices[0]?.message.content, "served by model-b")
      assert.strictEqual(a.requests.length, 3)
      assert.strictEqual(response.headers.get("x-routing-attempts"), "4")
      assert.strictEqual(b.requests.length, 1)
    }))

  it("a hang before headers is cut at its share of the timeout and the next model serves within the timeout", () =>
    withTwo({ timeout: "2s", maxRetries: 0 }, async ({ a, openai }) => {
      a.handler = hang()
      const started = Date.now()
      const { data } = await openai.chat.completions.create(ask).withResponse()
      const took = Date.now() - started
      assert.strictEqual(data.choices[0]?.message.content, "served by model-b")
      assert.isAtLeast(took, 900)
      assert.isBelow(took, 2000)
    }))

  it("every model hanging: 504 in the client's shape at the listener timeout, no hang past it", () =>
    withTwo({ timeout: "1s" }, async ({ a, b, openai, anthropic }) => {
      a.handler = hang()
      b.handler = hang()
      const started = Date.now()
      const error = await openai.chat.completions.create(ask).catch((e: unknown) => e)
      assert.instanceOf(error, OpenAI.APIError)
      assert.strictEqual((error as InstanceType<typeof OpenAI.APIError>).status, 504)
      assert.strictEqual((error as InstanceType<typeof OpenAI.APIError>).code, "upstream_timeout")
      // undici's header timers tick at about half a second, so the bound is the timeout plus that granularity.
      assert.isBelow(Date.now() - started, 2000)
      const second = await anthropic.messages.create({ ...ask, max_tokens: 5 }).catch((e: unknown) => e)
      assert.instanceOf(second, Anthropic.APIError)
      assert.strictEqual((second as InstanceType<typeof Anthropic.APIError>).status, 504)
      const shape = JSON.stringify((second as InstanceType<typeof Anthropic.APIError>).error)
      assert.include(shape, "\"type\":\"error\"")
    }))

  for (const code of [400, 401, 403, 404, 413, 422]) {
    it(`${code} (the request's own fault) is answered as is: no retry, no fallback`, () =>
      withTwo({}, async ({ a, b, openai }) => {
        a.handler = status(code, {}, "bad request here")
        const error = await openai.chat.completions.create(ask).catch((e: unknown) => e)
        assert.instanceOf(error, OpenAI.APIError)
        assert.strictEqual((error as InstanceType<typeof OpenAI.APIError>).status, code)
        assert.include((error as Error).message, "bad request here")
        assert.strictEqual(a.requests.length, 1)
        assert.strictEqual(b.requests.length, 0)
      }))
  }

  it("every model failing: the last upstream error reaches the client with its status, in each API's shape", () =>
    withTwo({}, async ({ a, b, openai, anthropic }) => {
      a.handler = status(503, {}, "a is down")
      b.handler = status(502, {}, "b is down")
      const error = await openai.chat.completions.create(ask).catch((e: unknown) => e)
      assert.instanceOf(error, OpenAI.APIError)
      assert.strictEqual((error as InstanceType<typeof OpenAI.APIError>).status, 502)
      assert.include((error as Error).message, "b is down")
      assert.strictEqual(a.requests.length, 2)
      assert.strictEqual(b.requests.length, 2)
      const second = await anthropic.messages.create({ ...ask, max_tokens: 5 }).catch((e: unknown) => e)
      assert.instanceOf(second, Anthropic.APIError)
      assert.strictEqual((second as InstanceType<typeof Anthropic.APIError>).status, 502)
    }, "anthropic"))

  it("fallback_to_default: the default provider is the last resort; off, it is not used", async () => {
    const a = await startMock(status(503))
    const d = await startMock(openAiJson())
    const providers = provider("openai/model-a", a.url) + provider("openai/model-d", d.url, "    default: true\n")
    const on = await startFaultGateway({ providers, route: ["openai/model-a"], maxRetries: 0 })
    const off = await startFaultGateway({
      providers,
      route: ["openai/model-a"],
      maxRetries: 0,
      routing: "  fallback_to_default: false\n"
    })
    try {
      const viaOn = await new OpenAI({ baseURL: `${on.url}/v1`, apiKey: "k", maxRetries: 0 }).chat.completions
        .create(ask).withResponse()
      assert.strictEqual(viaOn.response.headers.get("x-routing-model"), "openai/model-d")
      assert.strictEqual(viaOn.response.headers.get("x-routing-attempts"), "2")
      const viaOff = await fetch(`${off.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(ask)
      })
      assert.strictEqual(viaOff.status, 503)
      assert.strictEqual(d.requests.length, 1)
    } finally {
      await on.close()
      await off.close()
      await a.close()
      await d.close()
    }
  })
})

describe("retries", () => {
  it("429 with retry-after: 1 is retried on the same model after about a second", () =>
    withTwo({}, async ({ a, b, openai }) => {
      a.handler = failFirst(1, status(429, { "retry-after": "1" }), openAiJson())
      const started = Date.now()
      const { data, response } = await openai.chat.completions.create(ask).withResponse()
      assert.isAtLeast(Date.now() - started, 950)
      assert.strictEqual(data.choices[0]?.message.content, "served by model-a")
      assert.strictEqual(response.headers.get("x-routing-attempts"), "2")
      assert.isNull(response.headers.get("x-routing-fallback-from"))
      assert.strictEqual(b.requests.length, 0)
    }))

  it("retry-after-ms is honoured; a retry-after beyond the time budget moves to the next model at once", () =>
    withTwo({ timeout: "3s" }, async ({ a, b, openai }) => {
      a.handler = failFirst(1, status(503, { "retry-after-ms": "300" }), openAiJson())
      const started = Date.now()
      const first = await openai.chat.completions.create(ask)
      assert.isAtLeast(Date.now() - started, 290)
      assert.strictEqual(first.choices[0]?.message.content, "served by model-a")
      a.handler = status(429, { "retry-after": "60" })
      const again = Date.now()
      const second = await openai.chat.completions.create(ask)
      assert.isBelow(Date.now() - again, 1000)
      assert.strictEqual(second.choices[0]?.message.content, "served by model-b")
      assert.strictEqual(b.requests.length, 1)
    }))

  it("max_retries: 3 sends up to four requests to one model (below its cooldown threshold)", () =>
    withTwo({ maxRetries: 3, routing: "  cooldown:\n    failures: 10\n" }, async ({ a, openai }) => {
      a.handler = failFirst(3, status(500), openAiJson())
      const { data, response } = await openai.chat.completions.create(ask).withResponse()
      assert.strictEqual(data.choices[0]?.message.content, "served by model-a")
      assert.strictEqual(response.headers.get("x-routing-attempts"), "4")
      assert.strictEqual(a.requests.length, 4)
    }))
})

describe("after the first byte, never", () => {
  it("a stream cut mid-way is not retried: the client sees the partial stream end, the gateway keeps serving", () =>
    withTwo({}, async ({ a, b, openai }) => {
      a.handler = cutStream()
      const stream = await openai.chat.completions.create({ ...ask, stream: true })
      let text = ""
      const failure = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
      })().catch((e: unknown) => e)
      assert.strictEqual(text, "partial")
      assert.isDefined(failure)
      assert.strictEqual(b.requests.length, 0)
      a.handler = openAiJson()
      const next = await openai.chat.completions.create(ask)
      assert.strictEqual(next.choices[0]?.message.content, "served by model-a")
    }))

  it("malformed JSON from a cross-API upstream is a 502 in the client's shape, not a fallback", () =>
    withTwo({}, async ({ a, b, anthropic }) => {
      a.handler = malformedJson()
      const error = await anthropic.messages.create({ ...ask, max_tokens: 5 }).catch((e: unknown) => e)
      assert.instanceOf(error, Anthropic.APIError)
      assert.strictEqual((error as InstanceType<typeof Anthropic.APIError>).status, 502)
      assert.strictEqual(b.requests.length, 0)
    }))

  it("malformed SSE frames do not crash the gateway", () =>
    withTwo({}, async ({ a, anthropic, openai }) => {
      a.handler = malformedSse()
      const stream = await anthropic.messages.create({ ...ask, max_tokens: 5, stream: true })
      const seen: Array<string> = []
      await (async () => {
        for await (const event of stream) seen.push(event.type)
      })().catch(() => undefined)
      a.handler = openAiJson()
      const next = await openai.chat.completions.create(ask)
      assert.strictEqual(next.choices[0]?.message.content, "served by model-a")
    }))

  it("a 20 MB error body does not stall the fallback; a 20 MB answer is relayed whole", () =>
    withTwo({}, async ({ a, b, openai }) => {
      a.handler = hugeBody(500, 20 * 1024 * 1024)
      const served = await openai.chat.completions.create(ask)
      assert.strictEqual(served.choices[0]?.message.content, "served by model-b")
      b.handler = hugeBody(200, 20 * 1024 * 1024)
      const raw = await fetch(`${(openai.baseURL)}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...ask, model: "openai/model-b" })
      })
      assert.strictEqual(raw.status, 200)
      assert.strictEqual((await raw.arrayBuffer()).byteLength, 20 * 1024 * 1024)
    }))
})

describe("cooldowns", () => {
  it("a target failing N times in the window is skipped until its cooldown ends, then one probe decides", () =>
    withTwo({
      maxRetries: 0,
      routing: "  cooldown:\n    failures: 2\n    window_seconds: 60\n    cooldown_seconds: 1\n"
    }, async ({ a, b, gateway, openai }) => {
      a.handler = status(503)
      await openai.chat.completions.create(ask)
      assert.strictEqual((await targets(gateway.url))["openai/model-a"]!.recent_failures, 1)
      await openai.chat.completions.create(ask)
      assert.strictEqual(a.requests.length, 2)
      assert.strictEqual((await targets(gateway.url))["openai/model-a"]!.state, "cooling")
      const skipped = await openai.chat.completions.create(ask).withResponse()
      assert.strictEqual(a.requests.length, 2)
      assert.strictEqual(skipped.response.headers.get("x-routing-attempts"), "1")
      assert.strictEqual(skipped.data.choices[0]?.message.content, "served by model-b")
      await new Promise((resolve) => setTimeout(resolve, 1100))
      assert.strictEqual((await targets(gateway.url))["openai/model-a"]!.state, "half_open")
      a.handler = openAiJson()
      const probe = await openai.chat.completions.create(ask)
      assert.strictEqual(probe.choices[0]?.message.content, "served by model-a")
      assert.strictEqual((await targets(gateway.url))["openai/model-a"]!.state, "available")
      assert.strictEqual(b.requests.length, 3)
    }))

  it("a failed probe cools the target down again", () =>
    withTwo({
      maxRetries: 0,
      routing: "  cooldown:\n    failures: 1\n    cooldown_seconds: 1\n"
    }, async ({ a, gateway, openai }) => {
      a.handler = status(500)
      await openai.chat.completions.create(ask)
      assert.strictEqual((await targets(gateway.url))["openai/model-a"]!.state, "cooling")
      await new Promise((resolve) => setTimeout(resolve, 1100))
      await openai.chat.completions.create(ask)
      assert.strictEqual(a.requests.length, 2)
      assert.strictEqual((await targets(gateway.url))["openai/model-a"]!.state, "cooling")
    }))

  it("GET /admin/v1/targets needs the admin key", () =>
    withTwo({}, async ({ gateway }) => {
      const response = await fetch(`${gateway.url}/admin/v1/targets`)
      assert.strictEqual(response.status, 401)
      const rows = await targets(gateway.url)
      assert.deepStrictEqual(Object.keys(rows), ["openai/model-a", "openai/model-b"])
      assert.strictEqual(rows["openai/model-b"]!.state, "available")
    }))
})
