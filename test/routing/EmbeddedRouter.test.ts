import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import type { Turn } from "../../src/routing/Conversation.js"
import { EmbeddedRouter } from "../../src/routing/EmbeddedRouter.js"
import type { RouteSpec } from "../../src/routing/EmbeddedRouter.js"
import * as WordVectors from "../../src/routing/WordVectors.js"
import { routingEvalDir } from "../support/DevSet.js"

const routes: ReadonlyArray<RouteSpec> = [
  { name: "coding", description: "writing new code: functions, classes, scripts and small programs" },
  { name: "summaries", description: "summarizing articles, reports and long documents into key points" },
  { name: "travel", description: "planning trips, itineraries, flights and hotel bookings" }
]

const user = (content: string): Turn => ({ role: "user", content })
const assistant = (content: string): Turn => ({ role: "assistant", content })

const withRouter = <A>(f: (router: EmbeddedRouter) => A) =>
  Effect.map(EmbeddedRouter, f).pipe(Effect.provide(EmbeddedRouter.Default))

describe("EmbeddedRouter", () => {
  it.live("loads the vector table quickly", () =>
    Effect.gen(function*() {
      const started = performance.now()
      const table = yield* WordVectors.load()
      const ms = performance.now() - started
      assert.isAbove(table.size, 40_000)
      assert.isBelow(ms, 600)
      const poem = table.row("poem")
      assert.isAbove(table.cosine(poem, table.row("poetry")), table.cosine(poem, table.row("tax")))
    }))

  it.effect("fails with a typed error when the table is missing", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(WordVectors.load({ vectors: "/nonexistent/v.bin", words: "/nonexistent/v.txt" }))
      assert.strictEqual(error._tag, "WordVectorsLoadError")
    }))

  it.effect("sends greetings, thanks and sign-offs to no route", () =>
    withRouter((router) => {
      const compiled = router.compile(routes)
      for (const text of ["hey there, good morning!", "thanks a lot, that's perfect", "ok bye, have a nice evening"]) {
        assert.isNull(router.classify(compiled, [user(text)]).route, text)
      }
    }))

  it.effect("sends small talk to a route that describes casual conversation", () =>
    withRouter((router) => {
      const compiled = router.compile([...routes, { name: "chat", description: "casual conversation and greetings" }])
      assert.strictEqual(router.classify(compiled, [user("hello! how are you doing?")]).route, "chat")
    }))

  it.effect("routes a code request, even with a pasted snippet and typos", () =>
    withRouter((router) => {
      const compiled = router.compile(routes)
      const heap = [user("Implement a binary heap in Rust with push and pop")]
      assert.strictEqual(router.classify(compiled, heap).route, "coding")
      const pasted = "rewrite this so it handles empty input pls\n```js\n" +
        "const avg = (xs) => xs.reduce((a, b) => a + b) / xs.length\n```"
      assert.strictEqual(router.classify(compiled, [user(pasted)]).route, "coding")
    }))

  it.effect("routes by the latest intent in a multi-turn conversation", () =>
    withRouter((router) => {
      const compiled = router.compile(routes)
      const turns = [
        user("Write a shell script that renames every .jpeg file to .jpg"),
        assistant("for f in *.jpeg; do mv \"$f\" \"${f%.jpeg}.jpg\"; done"),
        user("Great. Different topic: plan a 4-day itinerary for Kyoto with a day trip to Nara.")
      ]
      assert.strictEqual(router.classify(compiled, turns).route, "travel")
    }))

  it.effect("lets a short follow-up inherit the previous intent", () =>
    withRouter((router) => {
      const compiled = router.compile(routes)
      const turns = [
        user("Give me the key points of this quarterly report: revenue grew 8%, costs fell, two new markets opened."),
        assistant("Revenue +8%, lower costs, expansion into two markets."),
        user("even shorter please")
      ]
      assert.strictEqual(router.classify(compiled, turns).route, "summaries")
      assert.isNull(router.classify(compiled, [user("even shorter please")]).route)
    }))

  it.effect("reads the last user message after tool calls and results", () =>
    withRouter((router) => {
      const compiled = router.compile(routes)
      const turns: ReadonlyArray<Turn> = [
        user("find me flights from Oslo to Rome next Friday"),
        { role: "assistant", content: "" },
        { role: "tool", content: "{\"flights\": [{\"carrier\": \"SK\", \"departs\": \"07:10\"}]}" },
        assistant("There is an SK flight at 07:10."),
        user("book a hotel near the Colosseum for the same dates too")
      ]
      assert.strictEqual(router.classify(compiled, turns).route, "travel")
    }))

  it.effect("uses route examples", () =>
    withRouter((router) => {
      const plain: ReadonlyArray<RouteSpec> = [
        { name: "hr", description: "questions about the employee handbook and company policies" },
        { name: "it_help", description: "help with laptops, accounts and software" }
      ]
      const withExamples: ReadonlyArray<RouteSpec> = [
        { ...plain[0]!, examples: ["how many vacation days do I get", "can I carry over unused PTO"] },
        plain[1]!
      ]
      const turns = [user("how much PTO do I have left this year?")]
      assert.notStrictEqual(router.classify(router.compile(plain), turns).route, "hr")
      assert.strictEqual(router.classify(router.compile(withExamples), turns).route, "hr")
    }))

  it.effect("honours the threshold", () =>
    withRouter((router) => {
      const compiled = router.compile(routes)
      const turns = [user("Summarize this report into three bullet points for my manager")]
      const normal = router.classify(compiled, turns)
      assert.strictEqual(normal.route, "summaries")
      assert.isTrue(normal.confidence > 0 && normal.confidence <= 1)
      assert.isNull(router.classify(compiled, turns, 0.99).route)
      assert.isNull(router.classify(compiled, [user("what should I cook tonight?")], 0.06).route)
    }))

  it.effect("understands requests in other languages", () =>
    withRouter((router) => {
      const compiled = router.compile(routes)
      const french = [user("Écris une fonction Python qui inverse une liste")]
      assert.strictEqual(router.classify(compiled, french).route, "coding")
      const spanish = [user("¿Puedes resumir este informe en tres puntos?")]
      assert.strictEqual(router.classify(compiled, spanish).route, "summaries")
    }))

  it.effect("reaches the accuracy targets on the dev set", () =>
    withRouter((router) => {
      const dir = routingEvalDir()
      const routesets = JSON.parse(fs.readFileSync(`${dir}/routesets.json`, "utf8")) as Record<string, Array<RouteSpec>>
      const lines = fs.readFileSync(`${dir}/dev.jsonl`, "utf8").split("\n").filter((l) => l.trim().length > 0)
      const compiled = new Map(Object.entries(routesets).map(([id, rs]) => [id, router.compile(rs)] as const))
      const perSet = new Map<string, { ok: number; n: number }>()
      let ok = 0
      for (const line of lines) {
        const c = JSON.parse(line) as {
          routeset: string
          expected: string | null
          messages: Array<{ role: Turn["role"]; content: string | Array<{ text?: string }> | null }>
        }
        const turns = c.messages.map((m): Turn => ({
          role: m.role,
          content: typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text ?? "").join("\n")
        }))
        const hit = router.classify(compiled.get(c.routeset)!, turns).route === c.expected ? 1 : 0
        ok += hit
        const s = perSet.get(c.routeset) ?? { ok: 0, n: 0 }
        perSet.set(c.routeset, { ok: s.ok + hit, n: s.n + 1 })
      }
      assert.isAtLeast(ok / lines.length, 0.85)
      for (const [id, s] of perSet) assert.isAtLeast(s.ok / s.n, 0.75, id)
    }))
})
