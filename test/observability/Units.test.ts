import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Metric, MetricBoundaries, Tracer } from "effect"
import * as ConfigFile from "../../src/config/ConfigFile.js"
import { CounterFamily, HistogramFamily } from "../../src/observability/GatewayMetrics.js"
import * as PrometheusText from "../../src/observability/PrometheusText.js"
import { childSpan, inTrace, parseTraceparent, sampler } from "../../src/observability/Tracing.js"
import { UsageTap } from "../../src/observability/UsageTap.js"
import { parseMetrics } from "./support.js"

const parse = (yaml: string) =>
  ConfigFile.parseText(yaml).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))

const base = `
version: v0.4.0
listeners:
  - type: model
    name: m
model_providers:
  - model: openai/gpt-4o
    access_key: k
`

describe("PrometheusText.render", () => {
  it("renders counters with _total, escaped labels, and cumulative histogram buckets ending in +Inf", () => {
    const counter = new CounterFamily("unit_things", "Things \\ counted\nhere", ["kind"])
    counter.inc(["a \"quoted\" \\ value"], 2)
    counter.inc(["b"])
    const histogram = new HistogramFamily("unit_seconds", "Durations", ["api"])
    histogram.observe(["chat"], 0.0002)
    histogram.observe(["chat"], 0.003)
    histogram.observe(["chat"], 120)
    const text = PrometheusText.render()
    assert.include(text, "# HELP unit_things_total Things \\\\ counted\\nhere\n# TYPE unit_things_total counter\n")
    assert.include(text, `unit_things_total{kind="a \\"quoted\\" \\\\ value"} 2\n`)
    const series = parseMetrics(text)
    assert.strictEqual(series.get(`unit_things_total{kind="b"}`), 1)
    assert.strictEqual(series.get(`unit_seconds_bucket{api="chat",le="0.0001"}`), 0)
    assert.strictEqual(series.get(`unit_seconds_bucket{api="chat",le="0.00025"}`), 1)
    assert.strictEqual(series.get(`unit_seconds_bucket{api="chat",le="0.005"}`), 2)
    assert.strictEqual(series.get(`unit_seconds_bucket{api="chat",le="60"}`), 2)
    assert.strictEqual(series.get(`unit_seconds_bucket{api="chat",le="+Inf"}`), 3)
    assert.strictEqual(series.get(`unit_seconds_count{api="chat"}`), 3)
    assert.closeTo(series.get(`unit_seconds_sum{api="chat"}`)!, 120.0032, 1e-9)
    const lines = text.split("\n")
    const buckets = lines.filter((l) => l.startsWith("unit_seconds_bucket"))
    assert.include(buckets[buckets.length - 1]!, `le="+Inf"`)
  })

  it("renders metrics recorded through Effect's Metric API as well (one registry)", () =>
    Effect.gen(function*() {
      yield* Metric.increment(Metric.counter("unit_effect_counter", { incremental: true }))
      yield* Metric.update(Metric.histogram("unit_effect_hist", MetricBoundaries.fromIterable([1, 2])), 1.5)
      const series = parseMetrics(PrometheusText.render())
      assert.strictEqual(series.get("unit_effect_counter_total"), 1)
      assert.strictEqual(series.get(`unit_effect_hist_bucket{le="2"}`), 1)
    }).pipe(Effect.runSync))
})

describe("UsageTap", () => {
  it("reads Anthropic stream usage split across tiny chunks, keeping only head and tail of a long body", () => {
    const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
    const start = event("message_start", {
      type: "message_start",
      message: { model: "claude-x", usage: { input_tokens: 42, output_tokens: 1 } }
    })
    const filler = event("content_block_delta", {
      type: "content_block_delta",
      delta: { type: "text_delta", text: "z".repeat(200) }
    })
    const end = `event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":377}}\n\n`
    const body = Buffer.from(start + filler.repeat(500) + end)
    const tap = new UsageTap()
    for (let i = 0; i < body.length; i += 7) tap.onData(body.subarray(i, i + 7))
    assert.deepStrictEqual(tap.usage(), { inputTokens: 42, outputTokens: 377, model: "claude-x" })
    assert.strictEqual(tap.bytes, body.length)
  })

  it("ignores usage-like text inside JSON strings", () => {
    const tap = new UsageTap()
    const usage = { prompt_tokens: 3, completion_tokens: 4 }
    tap.onData(Buffer.from(JSON.stringify({ model: "m", content: "\"prompt_tokens\": 999", usage })))
    assert.deepStrictEqual(tap.usage(), { inputTokens: 3, outputTokens: 4, model: "m" })
  })
})

describe("traceparent", () => {
  it("parses version 00 and rejects malformed or all-zero ids", () => {
    assert.deepStrictEqual(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      sampled: true
    })
    assert.isUndefined(parseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"))
    assert.isUndefined(parseTraceparent("garbage"))
    assert.isUndefined(sampler(100)("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"))
    assert.strictEqual(sampler(100)(undefined), null)
    assert.isUndefined(sampler(0)(undefined))
  })
})

describe("childSpan", () => {
  const spansOf = (native: Tracer.Tracer, names: Array<string>): Tracer.Tracer =>
    Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        names.push(name)
        return native.span(name, parent, context, links, startTime, kind, options)
      },
      context: native.context
    })

  it.effect("is the effect itself outside a traced request, and a child span inside one", () =>
    Effect.gen(function*() {
      const work = Effect.succeed(1)
      assert.strictEqual(childSpan("x")(work), work)
      const names: Array<string> = []
      const tracer = spansOf(yield* Effect.tracer, names)
      // A parent span but not a traced request (the gateway did not sample it): no child span.
      yield* Effect.suspend(() => childSpan("not-in-trace")(work)).pipe(Effect.withSpan("outer"), Effect.withTracer(tracer))
      // A traced request without a parent span: nothing to hang a child on.
      yield* inTrace(Effect.suspend(() => childSpan("no-parent")(work)))
      yield* inTrace(Effect.suspend(() => childSpan("child")(work))).pipe(Effect.withSpan("parent"), Effect.withTracer(tracer))
      assert.deepStrictEqual(names, ["outer", "parent", "child"])
      assert.strictEqual(childSpan("x")(work), work)
    }))
})

describe("observability config", () => {
  it.effect("reads observability and tracing, mapping Plano's gRPC endpoint to the collector's HTTP port", () =>
    Effect.gen(function*() {
      const config = yield* parse(
        base +
          "observability:\n  access_log: true\n  metrics:\n    port: 9464\n" +
          "tracing:\n  random_sampling: 25\n  opentracing_grpc_endpoint: http://otel:4317\n" +
          "  trace_arch_internal: true\n"
      )
      assert.deepStrictEqual(config.observability, {
        accessLog: true,
        metrics: { enabled: true, port: 9464, address: undefined },
        tracing: { randomSampling: 25, endpoint: "http://otel:4318/v1/traces" }
      })
      assert.deepStrictEqual(config.ignoredKeys, ["tracing.trace_arch_internal"])
      assert.isTrue(config.warnings.some((w) => w.includes("http://otel:4318/v1/traces")))
    }))

  it.effect("names the path of a bad value", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        parse(base + "observability:\n  access_log: maybe\ntracing:\n  random_sampling: 150\n")
      )
      const text = error.message
      assert.include(text, "observability.access_log")
      assert.include(text, "tracing.random_sampling")
      assert.include(text, "expected a number from 0 to 100")
    }))
})
