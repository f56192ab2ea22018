import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import { startReceiver } from "./OtlpReceiver.js"
import type { ReceivedSpan } from "./OtlpReceiver.js"
import { codeRouter } from "./support.js"

const config = (mock: string, tracing: string) => `
version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
    timeout: 2s
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${mock}
    access_key: test-key
    default: true
  - model: openai/gpt-4o
    base_url: ${mock}
    access_key: test-key
routing_preferences:
  - name: code
    description: writing code
    models: [openai/gpt-4o]
tracing:
${tracing}
`

let mock: MockUpstream

beforeAll(async () => {
  mock = await startMock(openAiJson())
})

afterAll(async () => {
  await mock?.close()
})

const post = (base: string, path: string, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "write a parser" }] })
  })

const SERVER = 2
const CLIENT = 3

const childrenOf = (spans: ReadonlyArray<ReceivedSpan>, parent: ReceivedSpan) =>
  spans.filter((s) => s.parentSpanId === parent.spanId)

describe("OpenTelemetry traces", () => {
  it("exports one trace per request with route, pin and upstream spans and GenAI attributes", async () => {
    const receiver = await startReceiver()
    const gateway = await startGateway(
      config(mock.url, `  random_sampling: 100\n  otlp_endpoint: ${receiver.endpoint}`),
      { router: codeRouter }
    )
    const session = `trace-session-${Date.now()}`
    const incomingTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
    const incomingSpan = "00f067aa0ba902b7"
    let decisionTraceId = ""
    const before = mock.requests.length
    try {
      const first = await post(gateway.url, "/v1/chat/completions", { "x-routing-session-id": session })
      assert.strictEqual(first.status, 200)
      await first.text()
      const second = await post(gateway.url, "/v1/chat/completions", {
        "x-routing-session-id": session,
        traceparent: `00-${incomingTrace}-${incomingSpan}-01`,
        "x-request-id": "req-traced-2"
      })
      assert.strictEqual(second.status, 200)
      await second.text()
      const decision = await post(gateway.url, "/routing/v1/chat/completions")
      decisionTraceId = ((await decision.json()) as { trace_id: string }).trace_id
    } finally {
      // Closing the gateway flushes the span processor.
      await gateway.close()
      await receiver.close()
    }
    const spans = receiver.spans
    const roots = spans.filter((s) => s.kind === SERVER)
    assert.strictEqual(roots.length, 3, JSON.stringify(spans.map((s) => s.name)))
    assert.strictEqual(new Set(roots.map((r) => r.traceId)).size, 3)

    const chats = roots.filter((r) => r.name === "POST /v1/chat/completions")
    const first = chats.find((r) => r.attributes["switchyard.pin"] === "created")
    const second = chats.find((r) => r.attributes["switchyard.pin"] === "hit")
    assert.isDefined(first)
    assert.isDefined(second)
    assert.strictEqual(first!.attributes["gen_ai.operation.name"], "chat")
    assert.strictEqual(first!.attributes["gen_ai.provider.name"], "openai")
    assert.strictEqual(first!.attributes["gen_ai.request.model"], "gpt-4o-mini")
    assert.strictEqual(first!.attributes["gen_ai.response.model"], "gpt-4o")
    assert.strictEqual(first!.attributes["gen_ai.usage.input_tokens"], 10)
    assert.strictEqual(first!.attributes["gen_ai.usage.output_tokens"], 5)
    assert.strictEqual(first!.attributes["switchyard.route"], "code")
    assert.strictEqual(first!.attributes["switchyard.reason"], "routed")
    assert.strictEqual(first!.attributes["switchyard.pin"], "created")
    assert.match(String(first!.attributes["switchyard.session_hash"]), /^[0-9a-f]{16}$/)
    assert.notInclude(JSON.stringify(receiver.raw), session)
    assert.strictEqual(first!.attributes["http.response.status_code"], 200)

    const names = childrenOf(spans, first!).map((s) => s.name).sort()
    assert.deepStrictEqual(names, ["chat gpt-4o", "switchyard.route"])
    const route = childrenOf(spans, first!).find((s) => s.name === "switchyard.route")!
    const grandchildren = childrenOf(spans, route).map((s) => s.name).sort()
    assert.deepStrictEqual(grandchildren, ["switchyard.pin_lookup", "switchyard.router"])
    const upstream = childrenOf(spans, first!).find((s) => s.kind === CLIENT)!
    assert.strictEqual(mock.requests[before]!.headers.traceparent, `00-${first!.traceId}-${upstream.spanId}-01`)

    // The client's traceparent is continued: same trace, the client's span as parent, forwarded upstream.
    assert.strictEqual(second!.traceId, incomingTrace)
    assert.strictEqual(second!.parentSpanId, incomingSpan)
    assert.strictEqual(second!.attributes["switchyard.pin"], "hit")
    assert.strictEqual(second!.attributes["switchyard.reason"], "pinned")
    assert.strictEqual(second!.attributes["switchyard.request_id"], "req-traced-2")
    assert.strictEqual(
      second!.attributes["switchyard.session_hash"],
      first!.attributes["switchyard.session_hash"]
    )
    const forwarded = String(mock.requests[before + 1]!.headers.traceparent)
    assert.match(forwarded, new RegExp(`^00-${incomingTrace}-[0-9a-f]{16}-01$`))
    assert.notInclude(String(mock.requests[before + 1]!.headers.traceparent), incomingSpan)

    // The decision endpoint answers with the real trace id.
    const decisionRoot = roots.find((r) => r.name === "POST /routing/v1/chat/completions")
    assert.isDefined(decisionRoot)
    assert.strictEqual(decisionTraceId, decisionRoot!.traceId)
  })

  it("exports nothing with random_sampling 0, and still forwards the client's traceparent", async () => {
    const receiver = await startReceiver()
    const gateway = await startGateway(
      config(mock.url, `  random_sampling: 0\n  otlp_endpoint: ${receiver.endpoint}`),
      { router: codeRouter }
    )
    const before = mock.requests.length
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
    try {
      for (let i = 0; i < 5; i++) {
        const response = await post(gateway.url, "/v1/chat/completions", i === 0 ? { traceparent } : {})
        assert.strictEqual(response.status, 200)
        await response.text()
      }
    } finally {
      await gateway.close()
      await receiver.close()
    }
    assert.strictEqual(receiver.spans.length, 0)
    assert.strictEqual(receiver.raw.length, 0)
    assert.strictEqual(mock.requests[before]!.headers.traceparent, traceparent)
    assert.isUndefined(mock.requests[before + 1]!.headers.traceparent)
  })
})
