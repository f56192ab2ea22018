// OpenAI-compatible mock upstream for `npm run bench`: the same fixed responses as the shared bench's
// /work/shared/bench/mock-upstream.mjs.
// POST */chat/completions -> a fixed JSON completion, or an SSE stream when the body has "stream": true.
//
// usage: node --import tsx tools/benchMockUpstream.ts [--port N] [--chunks 16]
// Prints "listening on http://127.0.0.1:PORT" once bound. Loopback only.
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}

const port = Number(argValue("--port") ?? 18080)
const chunks = Number(argValue("--chunks") ?? 16)
const created = 1_700_000_000

const completion = Buffer.from(JSON.stringify({
  id: "chatcmpl-mock-0001",
  object: "chat.completion",
  created,
  model: "mock-model",
  system_fingerprint: "fp_mock",
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: "This is a fixed response from the mock upstream. It is long enough to look like a short real " +
          "answer from a chat model, about forty tokens.",
        refusal: null
      },
      logprobs: null,
      finish_reason: "stop"
    }
  ],
  usage: { prompt_tokens: 24, completion_tokens: 40, total_tokens: 64 }
}))

const sseChunk = (delta: Record<string, string>, finish: string | null = null): string =>
  `data: ${
    JSON.stringify({
      id: "chatcmpl-mock-0001",
      object: "chat.completion.chunk",
      created,
      model: "mock-model",
      system_fingerprint: "fp_mock",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }]
    })
  }\n\n`

const words = "This is a fixed streamed response from the mock upstream used for gateway benchmarks".split(" ")
const frames = [
  sseChunk({ role: "assistant", content: "" }),
  ...Array.from({ length: chunks }, (_, i) => sseChunk({ content: `${words[i % words.length]} ` })),
  sseChunk({}, "stop"),
  "data: [DONE]\n\n"
].map((s) => Buffer.from(s))

const server = createServer((req, res) => {
  if (req.method !== "POST" || req.url === undefined || !req.url.split("?")[0]!.endsWith("/chat/completions")) {
    res.writeHead(404, { "content-type": "application/json" })
    res.end("{\"error\":{\"message\":\"not found\"}}")
    return
  }
  const parts: Array<Buffer> = []
  req.on("data", (c: Buffer) => parts.push(c))
  req.on("end", () => {
    let stream = false
    try {
      const body: unknown = JSON.parse(Buffer.concat(parts).toString("utf8"))
      stream = typeof body === "object" && body !== null && (body as Record<string, unknown>).stream === true
    } catch {
      res.writeHead(400, { "content-type": "application/json" })
      res.end("{\"error\":{\"message\":\"bad json\"}}")
      return
    }
    if (!stream) {
      res.writeHead(200, { "content-type": "application/json", "content-length": completion.length })
      res.end(completion)
      return
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" })
    for (const f of frames) res.write(f)
    res.end()
  })
})
server.keepAliveTimeout = 65_000
server.headersTimeout = 66_000
server.listen(port, "127.0.0.1", () => {
  const address = server.address() as AddressInfo
  process.stdout.write(`mock upstream listening on http://127.0.0.1:${address.port} pid=${process.pid}\n`)
})
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.close(() => process.exit(0)))
