import { assert, describe, it } from "@effect/vitest"
import {
  budgetForEffort,
  effortForBudget,
  effortOfThinking,
  markReasoningRequest,
  markReasoningResponse,
  reasoningHeader,
  thinkingOfEffort
} from "../../src/translation/Reasoning.js"

describe("effort ↔ budget", () => {
  it("maps budgets to efforts at 4096 and 16384", () => {
    assert.deepStrictEqual([1024, 4095, 4096, 16383, 16384, 64000].map(effortForBudget), [
      "low",
      "low",
      "medium",
      "medium",
      "high",
      "high"
    ])
  })

  it("maps each effort's budget back to the same effort", () => {
    for (const effort of ["low", "medium", "high"] as const) {
      assert.strictEqual(effortForBudget(budgetForEffort(effort)!), effort)
    }
    assert.isUndefined(budgetForEffort("minimal"))
    assert.isUndefined(budgetForEffort(undefined))
  })

  it("reads Anthropic's thinking field", () => {
    assert.strictEqual(effortOfThinking({ type: "enabled", budget_tokens: 20000 }), "high")
    assert.strictEqual(effortOfThinking({ type: "adaptive" }), "medium")
    assert.isUndefined(effortOfThinking({ type: "disabled" }))
    assert.isUndefined(effortOfThinking(undefined))
  })

  it("keeps the budget below max_tokens and at least 1024, or asks for no thinking", () => {
    assert.deepStrictEqual(thinkingOfEffort("high", 64000), { type: "enabled", budget_tokens: 24576 })
    assert.deepStrictEqual(thinkingOfEffort("medium", 2000), { type: "enabled", budget_tokens: 1999 })
    assert.isUndefined(thinkingOfEffort("low", 1024))
    assert.isUndefined(thinkingOfEffort("minimal", 64000))
  })
})

describe("x-switchyard-reasoning", () => {
  const mark = (f: (headers: Record<string, unknown>) => void) => {
    const headers: Record<string, unknown> = {}
    f(headers)
    return headers[reasoningHeader]
  }

  it("marks nothing for requests and answers without reasoning", () => {
    const body = { messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: [{ type: "text" }] }] }
    assert.isUndefined(mark((h) => markReasoningRequest(h, "anthropic", { ...body, stream: true })))
    assert.isUndefined(mark((h) => markReasoningRequest(h, "openai", { ...body, stream: true })))
    assert.isUndefined(mark((h) => markReasoningResponse(h, "openai", { content: [{ type: "text", text: "x" }] })))
    assert.isUndefined(mark((h) => markReasoningResponse(h, "anthropic", { choices: [{ message: { content: "x" } }] })))
  })

  it("marks dropped history, streamed requests for reasoning and lossy answers", () => {
    const thinkingHistory = { messages: [{ role: "assistant", content: [{ type: "redacted_thinking", data: "x" }] }] }
    assert.strictEqual(mark((h) => markReasoningRequest(h, "anthropic", thinkingHistory)), "dropped")
    const streamed = { messages: [], stream: true, thinking: { type: "enabled", budget_tokens: 2048 } }
    assert.strictEqual(mark((h) => markReasoningRequest(h, "anthropic", streamed)), "unsigned")
    const unsigned = { messages: [{ role: "assistant", content: "x", reasoning_content: "r" }] }
    assert.strictEqual(mark((h) => markReasoningRequest(h, "openai", unsigned)), "dropped")
    const signed = { messages: [{ role: "assistant", content: "x", reasoning_content: "r", reasoning_signature: "s" }] }
    assert.isUndefined(mark((h) => markReasoningRequest(h, "openai", signed)))
    assert.strictEqual(
      mark((h) => markReasoningRequest(h, "openai", { messages: [], stream: true, reasoning_effort: "low" })),
      "dropped"
    )
    const signedAnswer = { content: [{ type: "thinking", thinking: "t", signature: "s" }] }
    assert.strictEqual(mark((h) => markReasoningResponse(h, "openai", signedAnswer)), "dropped")
    const unsignedAnswer = { content: [{ type: "thinking", thinking: "t", signature: "" }] }
    assert.isUndefined(mark((h) => markReasoningResponse(h, "openai", unsignedAnswer)))
    const chatAnswer = { choices: [{ message: { content: "x", reasoning_content: "r" } }] }
    assert.strictEqual(mark((h) => markReasoningResponse(h, "anthropic", chatAnswer)), "unsigned")
  })

  it("lists each mark once", () => {
    const headers: Record<string, unknown> = {}
    const body = {
      messages: [{ role: "assistant", content: [{ type: "thinking", thinking: "t", signature: "s" }] }],
      stream: true,
      thinking: { type: "enabled", budget_tokens: 2048 }
    }
    markReasoningRequest(headers, "anthropic", body)
    markReasoningRequest(headers, "anthropic", body)
    assert.strictEqual(headers[reasoningHeader], "dropped, unsigned")
  })
})
