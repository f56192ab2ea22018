import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { fromChatMessages } from "../../src/routing/Conversation.js"
import { EmbeddedRouter } from "../../src/routing/EmbeddedRouter.js"
import { loadDevSet } from "../support/DevSet.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

// The decision endpoint must give the same answers as the embedded router run in-process (what
// `npm run eval:routing -- --url` relies on), with inline routing_preferences replacing the config's.
const yaml = `
version: v0.4.0
listeners: [{ type: model, name: model_listener, port: 12000 }]
model_providers:
  - model: openai/gpt-4o-mini
    access_key: sk-test
    default: true
`

let gateway: TestGateway
beforeAll(async () => {
  gateway = await startGateway(yaml)
})
afterAll(() => gateway.close())

describe("eval over HTTP", () => {
  it("the decision endpoint agrees with the in-process router on every dev case", async () => {
    const { cases, routesets } = loadDevSet()
    const router = await Effect.runPromise(Effect.provide(EmbeddedRouter, EmbeddedRouter.Default))
    const compiled = new Map(Object.entries(routesets).map(([id, routes]) => [id, router.compile(routes)] as const))
    let disagreements = 0
    let correct = 0
    for (const c of cases) {
      const local = router.classify(compiled.get(c.routeset)!, fromChatMessages(c.messages)).route
      const response = await fetch(`${gateway.url}/routing/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          messages: c.messages,
          routing_preferences: routesets[c.routeset]!.map((r) => ({ ...r, models: [`eval/${r.name}`] }))
        })
      })
      const decision = await response.json() as { route: string | null }
      if (decision.route !== local) disagreements++
      if (decision.route === c.expected) correct++
    }
    assert.strictEqual(disagreements, 0)
    assert.isAtLeast(correct / cases.length, 0.85)
  }, 60_000)
})
