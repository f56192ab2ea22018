// `tsx tools/benchObserver.ts`: the CPU cost per request of what observability adds on the hot path, in isolation
// (no sockets, so the figure does not drown in a shared machine's noise): a request record through begin, decision,
// upstream headers with a usage tap over a 1 KiB body, settle and the close-time record, with metrics and/or the
// access log (to a sink that drops the line after building it), plus the untraced span checks.
import { Effect } from "effect"
import { EventEmitter } from "node:events"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as RequestObserver from "../src/observability/RequestObserver.js"
import { childSpan, inTrace } from "../src/observability/Tracing.js"

const body = Buffer.from(
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion",
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content: "x".repeat(800) }, finish_reason: "stop" }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
  })
)

const fakeRequest = () =>
  Object.assign(new EventEmitter(), {
    method: "POST",
    url: "/v1/chat/completions",
    headers: { "content-length": "120", "x-routing-session-id": "s-1" },
    socket: { bytesWritten: 0, remoteAddress: "127.0.0.1" }
  }) as unknown as IncomingMessage

const fakeResponse = () =>
  Object.assign(new EventEmitter(), {
    headersSent: true,
    statusCode: 200,
    writableFinished: true,
    setHeader: () => undefined
  }) as unknown as ServerResponse

let sunk = 0
const variants: ReadonlyArray<[string, RequestObserver.ObserverOptions]> = [
  ["nothing on", { metrics: false, accessLog: undefined }],
  ["metrics", { metrics: true, accessLog: undefined }],
  ["metrics + access log", { metrics: true, accessLog: (line) => (sunk += line.length) }]
]

const n = Number(process.argv[2] ?? 200_000)
for (const [name, options] of variants) {
  const observer = Effect.runSync(RequestObserver.make(options))
  const one = () => {
    const req = fakeRequest()
    const res = fakeResponse()
    const record = observer.begin(req, res, "chat")
    record.model = "openai/gpt-4o-mini"
    record.modelLabel = "openai/gpt-4o-mini"
    record.provider = "openai"
    record.reason = "pinned"
    record.pin = "hit"
    record.sessionKey = "s-1"
    observer.upstreamStarted(record)
    // The relay pipes the upstream body anyway, so the tap's `data` listener joins a flowing stream: a bare
    // emitter stands for it (a fresh PassThrough would add the cost of switching it to flowing mode, ~8 µs).
    const upstream = new EventEmitter() as unknown as NodeJS.ReadableStream
    observer.upstreamAnswered(record, 200, upstream)
    record.tap?.onData(body)
    observer.settle(record)
    res.emit("close")
  }
  const round = () => {
    const t0 = process.cpuUsage()
    for (let i = 0; i < n; i++) one()
    const t = process.cpuUsage(t0)
    return (t.user + t.system) / n
  }
  round()
  const samples = [round(), round(), round()].sort((a, b) => a - b)
  process.stdout.write(`${name}: ${samples[1]!.toFixed(2)} µs CPU per request (median of 3 × ${n})\n`)
}

// The child-span sites (4–5 per request) against running the same effect bare: outside a traced request (tracing
// off, or this request not sampled: the effect is returned as is) and inside one without a parent span (the check).
const effect = Effect.succeed(1)
const time = (self: Effect.Effect<number>) => {
  const t0 = process.cpuUsage()
  for (let i = 0; i < n; i++) Effect.runSync(self)
  const t = process.cpuUsage(t0)
  return (t.user + t.system) / n
}
const spanSite = (label: string, traced: boolean) => {
  const bareRun = Effect.suspend(() => effect)
  const sited = Effect.suspend(() => childSpan("x")(effect))
  const run = (self: Effect.Effect<number>) => time(traced ? inTrace(self) : self)
  run(bareRun)
  run(sited)
  const bare = run(bareRun)
  const checked = run(sited)
  process.stdout.write(`childSpan site, ${label}: +${(checked - bare).toFixed(2)} µs per call\n`)
}
spanSite("request not traced (tracing off or not sampled)", false)
spanSite("inside a traced request", true)
if (sunk === 0) throw new Error("the access-log sink received nothing")
