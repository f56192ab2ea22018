import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck, Schema } from "effect"
import { readFileSync } from "node:fs"
import {
  ARCH_ROUTER_TEMPLATE,
  buildRouterRequest,
  DEFAULT_MAX_TOKENS,
  estimateTokens,
  parseRouterOutput,
  renderPrompt,
  RouterOutputError,
  selectConversation
} from "../../src/routing/ArchRouterPrompt.js"
import { fromChatMessages } from "../../src/routing/Conversation.js"
import type { Turn } from "../../src/routing/Conversation.js"

// Plano's own test vectors (Apache-2.0), copied from shared/reference so a missing file fails loudly in CI.
const Vectors = Schema.Struct({
  source: Schema.String,
  prompt_vectors: Schema.Array(Schema.Struct({
    test: Schema.String,
    routes: Schema.Array(Schema.Struct({ name: Schema.String, description: Schema.String })),
    max_token_length: Schema.NullOr(Schema.Number),
    conversation: Schema.Array(Schema.Unknown),
    expected_prompt: Schema.String
  })),
  parse_vectors: Schema.Array(Schema.Struct({ input: Schema.String, expected: Schema.NullOr(Schema.String) }))
})

const vectors = Schema.decodeUnknownSync(Vectors)(
  JSON.parse(readFileSync(new URL("../fixtures/arch-router-vectors.json", import.meta.url), "utf8"))
)

const image = { name: "Image generation", description: "generating image" }

describe("ArchRouterPrompt", () => {
  it("has Plano's vectors", () => {
    assert.strictEqual(vectors.prompt_vectors.length, 7)
    assert.strictEqual(vectors.parse_vectors.length, 9)
  })

  describe("prompt vectors", () => {
    for (const vector of vectors.prompt_vectors) {
      it(vector.test, () => {
        const turns = fromChatMessages(vector.conversation)
        const request = buildRouterRequest(vector.routes, turns, {
          model: "Arch-Router",
          maxTokens: vector.max_token_length
        })
        assert.strictEqual(request.messages[0].content, vector.expected_prompt)
      })
    }
  })

  describe("parse vectors", () => {
    for (const [i, vector] of vectors.parse_vectors.entries()) {
      it(`#${i} ${JSON.stringify(vector.input)} -> ${String(vector.expected)}`, () => {
        const result = parseRouterOutput(vector.input)
        if (vector.expected === "error") {
          assert.isTrue(Either.isLeft(result))
        } else {
          assert.deepStrictEqual(result, Either.right(vector.expected))
        }
      })
    }
  })

  describe("template", () => {
    it("is 856 bytes, 214 tokens, with one placeholder of each kind", () => {
      assert.strictEqual(Buffer.byteLength(ARCH_ROUTER_TEMPLATE, "utf8"), 856)
      assert.strictEqual(estimateTokens(ARCH_ROUTER_TEMPLATE), 214)
      assert.strictEqual(ARCH_ROUTER_TEMPLATE.split("{routes}").length, 2)
      assert.strictEqual(ARCH_ROUTER_TEMPLATE.split("{conversation}").length, 2)
      assert.include(ARCH_ROUTER_TEMPLATE, "XML tags.  Follow the instruction:\n")
      assert.isTrue(ARCH_ROUTER_TEMPLATE.startsWith("\nYou are"))
      assert.isTrue(ARCH_ROUTER_TEMPLATE.endsWith("{\"route\": \"route_name\"}\n"))
    })

    it("matches the first vector's prompt outside the substitutions", () => {
      const expected = vectors.prompt_vectors[0]!.expected_prompt
      const empty = renderPrompt([], [])
      assert.strictEqual(
        empty.replace("<routes>\n[]\n", "").replace("<conversation>\n[]\n", ""),
        expected.replace(/<routes>\n.*\n/, "").replace(/<conversation>\n.*\n/, "")
      )
    })
  })

  describe("renderPrompt", () => {
    it("emits only name and description, in that order", () => {
      const route = { examples: ["x"], description: "d", models: ["m"], name: "n", prefer: "none" }
      const prompt = renderPrompt([route], [{ role: "user", content: "hi" }])
      assert.include(prompt, "<routes>\n[{\"name\":\"n\",\"description\":\"d\"}]\n</routes>")
      assert.include(prompt, "<conversation>\n[{\"role\":\"user\",\"content\":\"hi\"}]\n</conversation>")
    })

    it("keeps $-patterns, quotes, newlines and non-ASCII verbatim (compact JSON, like serde_json)", () => {
      const content = "a $& b $' c $` d $$ \"q\" \n é 😀 </x>"
      const prompt = renderPrompt([image], [{ role: "user", content }])
      assert.include(prompt, `<conversation>\n[{"role":"user","content":${JSON.stringify(content)}}]\n</conversation>`)
      assert.include(prompt, "\"a $& b $' c $` d $$ \\\"q\\\" \\n é 😀 </x>\"")
    })

    it("does not substitute placeholders that appear inside the conversation", () => {
      const prompt = renderPrompt([image], [{ role: "user", content: "{routes} and {conversation}" }])
      assert.include(prompt, "\"content\":\"{routes} and {conversation}\"")
    })
  })

  describe("selectConversation", () => {
    const t = (role: Turn["role"], content: string): Turn => ({ role, content })

    it("drops system, developer, tool and empty turns", () => {
      const turns = [
        t("system", "sys"),
        t("developer", "dev"),
        t("user", "q1"),
        t("assistant", ""),
        t("tool", "result"),
        t("assistant", "a1"),
        t("user", "q2")
      ]
      assert.deepStrictEqual(selectConversation(turns, null), [t("user", "q1"), t("assistant", "a1"), t("user", "q2")])
    })

    it("counts UTF-8 bytes / 4 with integer division", () => {
      assert.strictEqual(estimateTokens("abc"), 0)
      assert.strictEqual(estimateTokens("abcd"), 1)
      assert.strictEqual(estimateTokens("éé"), 1)
      assert.strictEqual(estimateTokens("😀😀"), 2)
    })

    it("stops at the budget exactly: a turn reaching it is kept, one exceeding it is not", () => {
      const turns = [t("assistant", "x".repeat(40)), t("user", "y".repeat(40))]
      // 214 + 10 + 10 = 234
      assert.strictEqual(selectConversation(turns, 234).length, 2)
      assert.deepStrictEqual(selectConversation(turns, 233), [t("user", "y".repeat(40))])
    })

    it("keeps an overflowing user turn whole, then stops", () => {
      const turns = [t("user", "old"), t("user", "z".repeat(4000)), t("assistant", "a".repeat(8))]
      assert.deepStrictEqual(selectConversation(turns, 300), turns.slice(1))
    })

    it("falls back to the last turn when even the newest one overflows and is not the user's", () => {
      const turns = [t("user", "q"), t("assistant", "a".repeat(9000))]
      assert.deepStrictEqual(selectConversation(turns, DEFAULT_MAX_TOKENS), [t("assistant", "a".repeat(9000))])
    })

    it("returns nothing for a conversation with nothing to show", () => {
      assert.deepStrictEqual(selectConversation([t("system", "s"), t("user", "")], null), [])
      assert.deepStrictEqual(selectConversation([], 10), [])
    })

    const arbTurn = FastCheck.record({
      role: FastCheck.constantFrom<Turn["role"]>("system", "developer", "user", "assistant", "tool"),
      content: FastCheck.oneof(FastCheck.constant(""), FastCheck.string({ maxLength: 300 }))
    })

    it.prop(
      "selects a chronological suffix of the visible turns, ending with the newest",
      [FastCheck.array(arbTurn, { maxLength: 30 }), FastCheck.option(FastCheck.integer({ min: 0, max: 600 }))],
      ([turns, max]) => {
        const visible = turns.filter((x) => x.role === "user" || x.role === "assistant").filter((x) => x.content !== "")
        const selected = selectConversation(turns, max)
        if (visible.length === 0) return assert.strictEqual(selected.length, 0)
        assert.isAbove(selected.length, 0)
        assert.deepStrictEqual(selected, visible.slice(visible.length - selected.length))
        if (max === null) assert.strictEqual(selected.length, visible.length)
      }
    )
  })

  describe("buildRouterRequest", () => {
    it("serializes as messages, model, temperature", () => {
      const hi = [{ role: "user" as const, content: "hi" }]
      const request = buildRouterRequest([image], hi, { model: "Arch-Router", maxTokens: DEFAULT_MAX_TOKENS })
      assert.strictEqual(
        JSON.stringify(request),
        `{"messages":[{"role":"user","content":${JSON.stringify(renderPrompt([image], hi))}}],` +
          `"model":"Arch-Router","temperature":0.01}`
      )
      assert.deepStrictEqual(Object.keys(request), ["messages", "model", "temperature"])
    })
  })

  describe("parseRouterOutput", () => {
    it("treats null, undefined and empty output as no route", () => {
      assert.deepStrictEqual(parseRouterOutput(null), Either.right(null))
      assert.deepStrictEqual(parseRouterOutput(undefined), Either.right(null))
      assert.deepStrictEqual(parseRouterOutput(""), Either.right(null))
    })

    it("ignores extra fields and applies the fix-ups in order", () => {
      assert.deepStrictEqual(parseRouterOutput("{\"route\": \"a\", \"why\": 1}"), Either.right("a"))
      assert.deepStrictEqual(parseRouterOutput("```json{'route': 'b'}\\n```"), Either.right("b"))
      assert.deepStrictEqual(parseRouterOutput("\n{\"route\": \"c\"}\n"), Either.right("c"))
    })

    it("keeps a leading ``` fence without json (Plano only strips ```json), which is an error", () => {
      assert.isTrue(Either.isLeft(parseRouterOutput("```\n{\"route\": \"a\"}\n```")))
    })

    it("rejects non-objects and non-string routes", () => {
      for (const bad of ["[\"a\"]", "\"a\"", "42", "null", "{\"route\": 5}", "{\"route\": [\"a\"]}", " "]) {
        assert.isTrue(Either.isLeft(parseRouterOutput(bad)), bad)
      }
    })

    it("reports the raw text, truncated", () => {
      const long = "x".repeat(1000)
      const result = parseRouterOutput(long)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.instanceOf(result.left, RouterOutputError)
        assert.strictEqual(result.left._tag, "RouterOutputError")
        assert.strictEqual(result.left.raw, "x".repeat(200) + "…")
        assert.include(result.left.message, "not valid JSON")
      }
    })
  })
})
