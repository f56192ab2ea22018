// Same-run baseline for `npm run bench`: the least a Node OpenAI-compatible gateway can do per request, as
// /work/shared/bench/floor-proxy.mjs (FLOOR_MODE=json) does: buffer the body, JSON.parse, set `model`,
// JSON.stringify, forward with node:http over a keep-alive agent, pipe the response back (SSE passes through).
//
// usage: node --import tsx tools/benchBaseline.ts --upstream http://127.0.0.1:18080 [--port 0] [--model mock-model]
// Prints "listening on http://127.0.0.1:PORT" once bound. Loopback only.
//
// `--stand-in --config FILE` makes it a stand-in for the gateway while the gateway does not build: the upstream is
// the first `base_url` of the config, and responses carry fake `x-routing-*` / `server-timing` headers with session
// pins kept in a capped Map (`session_max_entries`), so every part of the bench has something to measure.
import { readFileSync } from "node:fs"
import { Agent, createServer, request } from "node:http"
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}

const standIn = process.argv.includes("--stand-in")
const configFile = argValue("--config")
const configText = configFile === undefined ? "" : readFileSync(configFile, "utf8")
const configured = /base_url:\s*"?([^\s"]+)/.exec(configText)?.[1]
const upstream = new URL(argValue("--upstream") ?? configured ?? "http://127.0.0.1:18080")
const maxPins = Number(/session_max_entries:\s*(\d+)/.exec(configText)?.[1] ?? 10_000)
const pins = new Map<string, string>()

const standInHeaders = (req: { readonly headers: IncomingHttpHeaders }): OutgoingHttpHeaders => {
  const t0 = process.hrtime.bigint()
  const session = req.headers["x-routing-session-id"]
  let pin = "none"
  if (typeof session === "string") {
    if (pins.has(session)) {
      pin = "hit"
    } else {
      pin = "created"
      pins.set(session, "openai/mock-model")
      if (pins.size > maxPins) pins.delete(pins.keys().next().value!)
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  return {
    "x-routing-model": "openai/mock-model",
    "x-routing-reason": pin === "hit" ? "pinned" : "requested",
    "x-routing-pin": pin,
    "server-timing": `routing;dur=${ms.toFixed(3)}`
  }
}
const port = Number(argValue("--port") ?? 0)
const model = argValue("--model") ?? "mock-model"
if (!/^(127\.|localhost$|\[::1\]$)/.test(upstream.hostname)) {
  process.stderr.write("upstream must be loopback\n")
  process.exit(2)
}

const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 })
const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "host", "content-length"])

const forwardHeaders = (headers: IncomingHttpHeaders): OutgoingHttpHeaders => {
  const out: OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(headers)) if (!hopByHop.has(k) && v !== undefined) out[k] = v
  return out
}

const sendError = (res: ServerResponse, status: number, message: string) => {
  if (!res.headersSent) res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify({ error: { message } }))
}

const server = createServer((req, res) => {
  const parts: Array<Buffer> = []
  req.on("data", (c: Buffer) => parts.push(c))
  req.on("end", () => {
    let body: string
    try {
      const json = JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>
      json.model = model
      body = JSON.stringify(json)
    } catch {
      sendError(res, 400, "bad json")
      return
    }
    const extra = standIn ? standInHeaders(req) : undefined
    const headers = forwardHeaders(req.headers)
    headers["content-length"] = Buffer.byteLength(body)
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
      (upRes) => {
        const out = forwardHeaders(upRes.headers)
        res.writeHead(upRes.statusCode ?? 502, standIn ? { ...out, ...extra } : out)
        upRes.pipe(res)
      }
    )
    up.on("error", (e) => sendError(res, 502, String(e)))
    up.end(body)
  })
})
server.keepAliveTimeout = 65_000
server.listen(port, "127.0.0.1", () => {
  const address = server.address() as AddressInfo
  const name = standIn ? "stand-in gateway" : "baseline proxy"
  process.stdout.write(`${name} listening on http://127.0.0.1:${address.port} pid=${process.pid}\n`)
})
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.close(() => process.exit(0)))
