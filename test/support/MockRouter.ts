import { createServer } from "node:http"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"

/** A request the mock router received. */
export interface RouterCall {
  readonly path: string
  readonly headers: IncomingMessage["headers"]
  /** The parsed JSON body (`{ _raw }` when it was not JSON). */
  readonly body: Record<string, unknown>
  /** The latest user message of the prompt's `<conversation>` block ("" when there is none). */
  readonly lastUser: string
  /** Route names listed in the prompt's `<routes>` block. */
  readonly routes: ReadonlyArray<string>
}

/** How the mock router answers. */
export type RouterMode =
  | { readonly _tag: "Ok" }
  /** Answers correctly after a delay. */
  | { readonly _tag: "Delay"; readonly ms: number }
  /** Never answers (until the socket closes). */
  | { readonly _tag: "Hang" }
  /** Answers HTTP 500 with an OpenAI error body. */
  | { readonly _tag: "Http500" }
  /** Answers a well-formed chat completion whose content is not a route JSON. */
  | { readonly _tag: "Garbage"; readonly text: string }

/** Ready-made modes. */
export const modes = {
  ok: { _tag: "Ok" },
  hang: { _tag: "Hang" },
  http500: { _tag: "Http500" },
  delay: (ms: number): RouterMode => ({ _tag: "Delay", ms }),
  garbage: (text = "I believe this is about code generation."): RouterMode => ({ _tag: "Garbage", text })
} as const satisfies Record<string, RouterMode | ((...args: Array<never>) => RouterMode)>

/** Picks a route name (or "other") for the latest user message. */
export type Classifier = (lastUser: string, routes: ReadonlyArray<string>) => string

/** Keywords of the demo's two intents: code first, then reasoning, else "other". */
export const keywordClassifier: Classifier = (text) =>
  /write|code|function|schema|CREATE/i.test(text)
    ? "code_generation"
    : /compare|analy|trade-off|explain|assess/i.test(text)
    ? "complex_reasoning"
    : "other"

/** A real loopback OpenAI-compatible server acting as an Arch-Router model. */
export interface MockRouter {
  readonly url: string
  readonly calls: Array<RouterCall>
  /** How many routing requests arrived so far. */
  readonly count: () => number
  mode: RouterMode
  classify: Classifier
  /** Back to `Ok` and the keyword classifier (keeps the recorded calls). */
  readonly reset: () => void
  readonly close: () => Promise<void>
}

const conversationStart = "<conversation>\n"
const conversationEnd = "\n</conversation>"
const routesStart = "<routes>\n"
const routesEnd = "\n</routes>"

const between = (text: string, start: string, end: string): string | undefined => {
  const from = text.indexOf(start)
  const to = text.lastIndexOf(end)
  return from < 0 || to < from ? undefined : text.slice(from + start.length, to)
}

const jsonArray = (text: string | undefined): Array<Record<string, unknown>> => {
  if (text === undefined) return []
  try {
    const value: unknown = JSON.parse(text)
    if (!Array.isArray(value)) return []
    return value.filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null)
  } catch {
    return []
  }
}

const promptOf = (body: Record<string, unknown>): string => {
  const messages = body.messages
  if (!Array.isArray(messages)) return ""
  const last: unknown = messages[messages.length - 1]
  if (typeof last !== "object" || last === null || !("content" in last)) return ""
  return typeof last.content === "string" ? last.content : ""
}

/** Reads the routes and the latest user message out of an Arch-Router prompt. */
export const readPrompt = (prompt: string): { readonly routes: ReadonlyArray<string>; readonly lastUser: string } => {
  const routes = jsonArray(between(prompt, routesStart, routesEnd)).map((r) => String(r.name))
  const conversation = jsonArray(between(prompt, conversationStart, conversationEnd))
  const users = conversation.filter((m) => m.role === "user")
  const last = users[users.length - 1]
  return { routes, lastUser: last === undefined ? "" : String(last.content) }
}

const completion = (model: string, content: string) => ({
  id: "chatcmpl-router",
  object: "chat.completion",
  created: 1_700_000_000,
  model,
  choices: [{ index: 0, message: { role: "assistant", content }, logprobs: null, finish_reason: "stop" }],
  usage: { prompt_tokens: 100, completion_tokens: 8, total_tokens: 108 }
})

const send = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

/** Starts a mock Arch-Router on a random loopback port. */
export const startMockRouter = async (): Promise<MockRouter> => {
  const calls: Array<RouterCall> = []
  const sockets = new Set<Socket>()
  const state: { mode: RouterMode; classify: Classifier } = { mode: modes.ok, classify: keywordClassifier }
  const server = createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (c: Buffer) => parts.push(c))
    req.on("end", () => {
      const text = Buffer.concat(parts).toString("utf8")
      let body: Record<string, unknown>
      try {
        body = JSON.parse(text) as Record<string, unknown>
      } catch {
        body = { _raw: text }
      }
      const { lastUser, routes } = readPrompt(promptOf(body))
      calls.push({ path: req.url ?? "", headers: req.headers, body, lastUser, routes })
      const mode = state.mode
      const answer = () =>
        send(res, 200, completion(String(body.model), JSON.stringify({ route: state.classify(lastUser, routes) })))
      switch (mode._tag) {
        case "Ok":
          return answer()
        case "Delay":
          return void setTimeout(answer, mode.ms)
        case "Hang":
          return
        case "Http500":
          return send(res, 500, { error: { message: "router exploded", type: "server_error", param: null } })
        case "Garbage":
          return send(res, 200, completion(String(body.model), mode.text))
      }
    })
  })
  server.on("connection", (s) => {
    sockets.add(s)
    s.once("close", () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    count: () => calls.length,
    get mode() {
      return state.mode
    },
    set mode(m: RouterMode) {
      state.mode = m
    },
    get classify() {
      return state.classify
    },
    set classify(c: Classifier) {
      state.classify = c
    },
    reset: () => {
      state.mode = modes.ok
      state.classify = keywordClassifier
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
