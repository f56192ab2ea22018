import { assert, describe, it } from "@effect/vitest"
import * as TurnKey from "../../src/routing/TurnKey.js"

const user = (content: unknown) => ({ role: "user", content })

describe("TurnKey", () => {
  it("chat: a user message starts a turn; tool results and assistant prefill continue it with the same key", () => {
    const start = [user("hi"), { role: "assistant", content: "hello" }, user("write code")]
    const begun = TurnKey.ofChat(start)!
    assert.isFalse(begun.continues)
    const tool = TurnKey.ofChat([...start, { role: "assistant", tool_calls: [] }, { role: "tool", content: "x" }])!
    assert.deepStrictEqual(tool, { key: begun.key, continues: true })
    const prefill = TurnKey.ofChat([...start, { role: "assistant", content: "Sure" }])!
    assert.deepStrictEqual(prefill, { key: begun.key, continues: true })
    const next = TurnKey.ofChat([...start, { role: "assistant", content: "done" }, user("next")])!
    assert.isFalse(next.continues)
    assert.notStrictEqual(next.key, begun.key)
  })

  it("chat: no user message, or no messages, has no turn", () => {
    assert.isUndefined(TurnKey.ofChat([{ role: "system", content: "s" }]))
    assert.isUndefined(TurnKey.ofChat([]))
    assert.isUndefined(TurnKey.ofChat("nope"))
  })

  it("messages: a user message of only tool_result blocks continues the turn; the system prompt is part of the key", () => {
    const messages = [user("do it"), { role: "assistant", content: [{ type: "tool_use", id: "t", name: "n", input: {} }] }]
    const begun = TurnKey.ofMessages({ system: "a", messages: [messages[0]] })!
    const result = TurnKey.ofMessages({
      system: "a",
      messages: [...messages, user([{ type: "tool_result", tool_use_id: "t", content: "ok" }])]
    })!
    assert.deepStrictEqual(result, { key: begun.key, continues: true })
    const mixed = TurnKey.ofMessages({
      system: "a",
      messages: [...messages, user([{ type: "tool_result", tool_use_id: "t", content: "ok" }, { type: "text", text: "and" }])]
    })!
    assert.isFalse(mixed.continues)
    assert.notStrictEqual(TurnKey.ofMessages({ system: "b", messages: [messages[0]] })!.key, begun.key)
  })

  it("responses: function_call_output items continue the turn", () => {
    const begun = TurnKey.ofResponses([{ role: "user", content: "go" }])!
    const output = TurnKey.ofResponses([{ role: "user", content: "go" }, { type: "function_call", call_id: "c" }, {
      type: "function_call_output",
      call_id: "c",
      output: "x"
    }])!
    assert.deepStrictEqual(output, { key: begun.key, continues: true })
    assert.isFalse(TurnKey.ofResponses("plain text")!.continues)
  })
})
