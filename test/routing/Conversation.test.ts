import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { fromChatMessages, fromMessagesRequest, lastUserText } from "../../src/routing/Conversation.js"

describe("Conversation", () => {
  describe("fromChatMessages", () => {
    it("reads every role, string content and text parts (joined with newlines, images dropped)", () => {
      const turns = fromChatMessages([
        { role: "system", content: "be brief" },
        { role: "developer", content: [{ type: "text", text: "dev" }] },
        {
          role: "user",
          content: [
            { type: "text", text: "look at" },
            { type: "image_url", image_url: { url: "https://example.com/a.png" } },
            { type: "text", text: "this" }
          ]
        },
        { role: "assistant", content: null, tool_calls: [{ id: "1", type: "function", function: { name: "f" } }] },
        { role: "tool", tool_call_id: "1", content: "{\"ok\":true}" },
        { role: "function", name: "f", content: "legacy" },
        { role: "assistant", content: "done" }
      ])
      assert.deepStrictEqual(turns, [
        { role: "system", content: "be brief" },
        { role: "developer", content: "dev" },
        { role: "user", content: "look at\nthis" },
        { role: "assistant", content: "" },
        { role: "tool", content: "{\"ok\":true}" },
        { role: "tool", content: "legacy" },
        { role: "assistant", content: "done" }
      ])
    })

    it("treats missing content, an image-only message and an object content as empty text", () => {
      assert.deepStrictEqual(
        fromChatMessages([
          { role: "assistant" },
          { role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] },
          { role: "user", content: { text: "not a part list" } }
        ]),
        [{ role: "assistant", content: "" }, { role: "user", content: "" }, { role: "user", content: "" }]
      )
    })

    it("skips malformed entries and unknown roles", () => {
      const turns = fromChatMessages([
        null,
        "user",
        42,
        [],
        { content: "no role" },
        { role: 7, content: "numeric role" },
        { role: "toString", content: "prototype key" },
        { role: "critic", content: "unknown role" },
        { role: "user", content: ["bare string part", { type: "text", text: 5 }, { type: "text", text: "ok" }] }
      ])
      assert.deepStrictEqual(turns, [{ role: "user", content: "ok" }])
    })

    it("returns nothing for a non-array", () => {
      assert.deepStrictEqual(fromChatMessages(undefined), [])
      assert.deepStrictEqual(fromChatMessages({ role: "user", content: "hi" }), [])
      assert.deepStrictEqual(fromChatMessages("hi"), [])
    })

    it.prop("never throws on arbitrary JSON", [FastCheck.jsonValue()], ([value]) => {
      const turns = fromChatMessages(value)
      assert.isTrue(turns.every((t) => typeof t.content === "string"))
      const wrapped = fromChatMessages([value, { role: "user", content: value }])
      assert.isTrue(wrapped.every((t) => typeof t.content === "string"))
    })
  })

  describe("fromMessagesRequest", () => {
    it("reads a string system prompt and string contents", () => {
      assert.deepStrictEqual(
        fromMessagesRequest({
          model: "claude",
          system: "be brief",
          messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }]
        }),
        [
          { role: "system", content: "be brief" },
          { role: "user", content: "hi" },
          { role: "assistant", content: "hello" }
        ]
      )
    })

    it("joins system text blocks", () => {
      assert.deepStrictEqual(
        fromMessagesRequest({
          system: [{ type: "text", text: "one", cache_control: { type: "ephemeral" } }, { type: "text", text: "two" }],
          messages: []
        }),
        [{ role: "system", content: "one\ntwo" }]
      )
    })

    it("turns tool_result blocks into tool turns before the user's own text, and drops images", () => {
      const turns = fromMessagesRequest({
        messages: [
          { role: "user", content: [{ type: "text", text: "weather in Tokyo?" }] },
          {
            role: "assistant",
            content: [{ type: "tool_use", id: "t1", name: "get_weather", input: { city: "Tokyo" } }]
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "t1", content: "22°C" },
              {
                type: "tool_result",
                tool_use_id: "t2",
                content: [{ type: "text", text: "a" }, { type: "image", source: {} }, { type: "text", text: "b" }]
              },
              { type: "image", source: { type: "base64", media_type: "image/png", data: "" } },
              { type: "text", text: "and New York?" }
            ]
          },
          {
            role: "assistant",
            content: [{ type: "thinking", thinking: "hmm" }, { type: "text", text: "Sunny" }, {
              type: "tool_use",
              id: "t3",
              name: "x",
              input: {}
            }]
          }
        ]
      })
      assert.deepStrictEqual(turns, [
        { role: "user", content: "weather in Tokyo?" },
        { role: "assistant", content: "" },
        { role: "tool", content: "22°C" },
        { role: "tool", content: "a\nb" },
        { role: "user", content: "and New York?" },
        { role: "assistant", content: "Sunny" }
      ])
    })

    it("emits no user turn for a message that carries only tool results", () => {
      assert.deepStrictEqual(
        fromMessagesRequest({
          messages: [
            { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: "ok", is_error: true }] }
          ]
        }),
        [{ role: "tool", content: "ok" }]
      )
    })

    it("tolerates malformed bodies", () => {
      assert.deepStrictEqual(fromMessagesRequest(null), [])
      assert.deepStrictEqual(fromMessagesRequest("x"), [])
      assert.deepStrictEqual(fromMessagesRequest({ messages: "x" }), [])
      assert.deepStrictEqual(
        fromMessagesRequest({
          system: 5,
          messages: [null, { role: "system", content: "no" }, { role: "user" }, { role: "user", content: [null, 3] }]
        }),
        [{ role: "system", content: "" }, { role: "user", content: "" }, { role: "user", content: "" }]
      )
    })

    it.prop("never throws on arbitrary JSON", [FastCheck.jsonValue()], ([value]) => {
      for (const body of [value, { system: value, messages: [value, { role: "user", content: value }] }]) {
        assert.isTrue(fromMessagesRequest(body).every((t) => typeof t.content === "string"))
      }
    })
  })

  describe("lastUserText", () => {
    it("returns the latest non-empty user text", () => {
      assert.strictEqual(
        lastUserText([
          { role: "user", content: "first" },
          { role: "user", content: "second" },
          { role: "assistant", content: "reply" },
          { role: "tool", content: "result" },
          { role: "user", content: "" }
        ]),
        "second"
      )
    })

    it("returns an empty string when no user spoke", () => {
      assert.strictEqual(lastUserText([{ role: "system", content: "s" }, { role: "assistant", content: "a" }]), "")
      assert.strictEqual(lastUserText([]), "")
    })
  })
})
