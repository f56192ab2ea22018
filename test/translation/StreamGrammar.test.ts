import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { chatStreamTranslator } from "../../src/translation/ChatStreamToMessages.js"
import { messagesStreamTranslator } from "../../src/translation/MessagesStreamToChat.js"
import { checkChatStream, checkMessagesStream, cutAt, runTranslator } from "../support/WireChecks.js"
import type { SummaryBlock } from "../support/WireChecks.js"

// ---------------------------------------------------------------------------------------------------------------------
// Generators

const text = fc.oneof(fc.string({ unit: "grapheme", maxLength: 8 }), fc.string({ unit: "binary", maxLength: 6 }))
const pieces = fc.array(text, { minLength: 1, maxLength: 4 })
const toolId = fc.stringMatching(/^[A-Za-z0-9]{1,10}$/)
const toolName = fc.stringMatching(/^[a-z_]{1,12}$/)
const toolInput = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
const cuts = fc.array(fc.nat(), { maxLength: 6 })

/** Splits a string at the given positions (modulo its length). */
const splitString = (s: string, at: ReadonlyArray<number>): Array<string> => {
  if (s.length === 0) return [s]
  const points = [...new Set(at.map((p) => p % s.length))].filter((p) => p > 0).sort((a, b) => a - b)
  const out: Array<string> = []
  let start = 0
  for (const p of points) {
    out.push(s.slice(start, p))
    start = p
  }
  out.push(s.slice(start))
  return out
}

const anthropicBlock = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("text" as const), pieces }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("tool" as const),
      id: toolId.map((s) => `toolu_${s}`),
      name: toolName,
      input: toolInput,
      cuts
    })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("thinking" as const), text }) }
)

const anthropicMessage = fc.record({
  id: toolId.map((s) => `msg_${s}`),
  model: fc.constantFrom("claude-sonnet-4-5", "claude-opus-4-1"),
  blocks: fc.array(anthropicBlock, { maxLength: 5 }),
  stop: fc.constantFrom("end_turn", "stop_sequence", "pause_turn", "max_tokens", "tool_use", "refusal"),
  usage: fc.record({
    input: fc.nat(5000),
    output: fc.nat(5000),
    cacheRead: fc.nat(5000),
    cacheCreation: fc.nat(5000)
  }),
  pings: fc.array(fc.nat(), { maxLength: 3 }),
  crlf: fc.boolean(),
  byteCuts: fc.array(fc.nat(), { maxLength: 15 }),
  includeUsage: fc.boolean()
})

type AnthropicMessage = typeof anthropicMessage extends fc.Arbitrary<infer A> ? A : never

const sse = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`

const anthropicWire = (m: AnthropicMessage): string => {
  const events: Array<string> = [
    sse("message_start", {
      type: "message_start",
      message: {
        id: m.id,
        type: "message",
        role: "assistant",
        content: [],
        model: m.model,
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: m.usage.input,
          cache_creation_input_tokens: m.usage.cacheCreation,
          cache_read_input_tokens: m.usage.cacheRead,
          output_tokens: 1
        }
      }
    })
  ]
  m.blocks.forEach((block, index) => {
    if (block.kind === "text") {
      events.push(sse("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" }
      }))
      for (const t of block.pieces) {
        events.push(sse("content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "text_delta", text: t }
        }))
      }
    } else if (block.kind === "tool") {
      events.push(sse("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} }
      }))
      for (const partial of splitString(JSON.stringify(block.input), block.cuts)) {
        events.push(sse("content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: partial }
        }))
      }
    } else {
      events.push(sse("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "thinking", thinking: "", signature: "" }
      }))
      events.push(sse("content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "thinking_delta", thinking: block.text }
      }))
      events.push(sse("content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "signature_delta", signature: "c2ln" }
      }))
    }
    events.push(sse("content_block_stop", { type: "content_block_stop", index }))
  })
  events.push(sse("message_delta", {
    type: "message_delta",
    delta: { stop_reason: m.stop, stop_sequence: null },
    usage: { output_tokens: m.usage.output }
  }))
  events.push(sse("message_stop", { type: "message_stop" }))
  for (const p of m.pings) events.splice(1 + (p % events.length), 0, sse("ping", { type: "ping" }))
  const wire = events.join("")
  return m.crlf ? wire.replaceAll("\n", "\r\n") : wire
}

const finishFor: Readonly<Record<string, string>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  tool_use: "tool_calls",
  refusal: "content_filter"
}

/**
 * Text, thinking (unsigned) and tool blocks with content, adjacent text or thinking merged: what survives
 * Anthropic → OpenAI → Anthropic.
 */
const survivingBlocks = (m: AnthropicMessage): Array<SummaryBlock> => {
  const out: Array<SummaryBlock> = []
  for (const block of m.blocks) {
    if (block.kind === "thinking") {
      if (block.text.length === 0) continue
      const last = out[out.length - 1]
      if (last?.type === "thinking") last.thinking += block.text
      else out.push({ type: "thinking", thinking: block.text, signature: "" })
    } else if (block.kind === "tool") {
      out.push({ type: "tool_use", id: block.id, name: block.name, input: JSON.stringify(block.input) })
    } else if (block.kind === "text") {
      const t = block.pieces.join("")
      if (t.length === 0) continue
      const last = out[out.length - 1]
      if (last?.type === "text") last.text += t
      else out.push({ type: "text", text: t })
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------------
// OpenAI chunk streams

const openAISegment = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("text" as const), pieces }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("refusal" as const), pieces }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reasoning" as const), pieces }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("tools" as const),
      oneChunk: fc.boolean(),
      calls: fc.array(
        fc.record({ id: toolId.map((s) => `call_${s}`), name: toolName, input: toolInput, cuts }),
        { minLength: 1, maxLength: 3 }
      )
    })
  }
)

const openAIStream = fc.record({
  id: toolId.map((s) => `chatcmpl-${s}`),
  model: fc.constantFrom("gpt-4o", "gpt-4.1-mini"),
  segments: fc.array(openAISegment, { maxLength: 5 }),
  finish: fc.constantFrom("stop", "length", "tool_calls", "content_filter", null),
  usage: fc.option(
    fc.record({
      prompt: fc.nat(5000),
      completion: fc.nat(5000),
      cachedShare: fc.double({ min: 0, max: 1, noNaN: true })
    }),
    { nil: undefined }
  ),
  done: fc.boolean(),
  comments: fc.array(fc.nat(), { maxLength: 3 }),
  crlf: fc.boolean(),
  byteCuts: fc.array(fc.nat(), { maxLength: 15 })
})

type OpenAIStream = typeof openAIStream extends fc.Arbitrary<infer A> ? A : never

const cachedOf = (s: OpenAIStream) =>
  s.usage === undefined ? 0 : Math.floor(s.usage.prompt * s.usage.cachedShare)

const openAIWire = (s: OpenAIStream): string => {
  const frames: Array<string> = []
  const chunk = (delta: unknown, finish: string | null = null) =>
    frames.push(`data: ${
      JSON.stringify({
        id: s.id,
        object: "chat.completion.chunk",
        created: 1,
        model: s.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }]
      })
    }\n\n`)
  chunk({ role: "assistant", content: "" })
  let toolIndex = 0
  for (const segment of s.segments) {
    if (segment.kind === "text") for (const t of segment.pieces) chunk({ content: t })
    else if (segment.kind === "refusal") for (const t of segment.pieces) chunk({ refusal: t })
    else if (segment.kind === "reasoning") for (const t of segment.pieces) chunk({ content: null, reasoning_content: t })
    else if (segment.oneChunk) {
      chunk({
        tool_calls: segment.calls.map((call) => ({
          index: toolIndex++,
          id: call.id,
          type: "function",
          function: { name: call.name, arguments: JSON.stringify(call.input) }
        }))
      })
    } else {
      for (const call of segment.calls) {
        const index = toolIndex++
        chunk({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] })
        for (const partial of splitString(JSON.stringify(call.input), call.cuts)) {
          chunk({ tool_calls: [{ index, function: { arguments: partial } }] })
        }
      }
    }
  }
  if (s.finish !== null) chunk({}, s.finish)
  if (s.usage !== undefined) {
    const cached = cachedOf(s)
    frames.push(`data: ${
      JSON.stringify({
        id: s.id,
        object: "chat.completion.chunk",
        created: 1,
        model: s.model,
        choices: [],
        usage: {
          prompt_tokens: s.usage.prompt,
          completion_tokens: s.usage.completion,
          total_tokens: s.usage.prompt + s.usage.completion,
          prompt_tokens_details: { cached_tokens: cached }
        }
      })
    }\n\n`)
  }
  if (s.done) frames.push("data: [DONE]\n\n")
  for (const c of s.comments) frames.splice(c % (frames.length + 1), 0, ": keep-alive\n\n")
  const wire = frames.join("")
  return s.crlf ? wire.replaceAll("\n", "\r\n") : wire
}

interface OpenAIFacts {
  readonly blocks: Array<SummaryBlock>
  readonly text: string
  readonly reasoning: string
  readonly calls: Array<{ index: number; id: string; name: string; arguments: string }>
  readonly refused: boolean
  readonly chars: number
}

const openAIFacts = (s: OpenAIStream): OpenAIFacts => {
  const blocks: Array<SummaryBlock> = []
  const calls: Array<{ index: number; id: string; name: string; arguments: string }> = []
  let text = ""
  let reasoning = ""
  let refused = false
  for (const segment of s.segments) {
    if (segment.kind === "tools") {
      for (const call of segment.calls) {
        const args = JSON.stringify(call.input)
        calls.push({ index: calls.length, id: call.id, name: call.name, arguments: args })
        blocks.push({ type: "tool_use", id: call.id, name: call.name, input: args })
      }
      continue
    }
    const t = segment.pieces.join("")
    if (segment.kind === "reasoning") {
      if (t.length === 0) continue
      reasoning += t
      const last = blocks[blocks.length - 1]
      if (last?.type === "thinking") last.thinking += t
      else blocks.push({ type: "thinking", thinking: t, signature: "" })
      continue
    }
    if (segment.kind === "refusal" && segment.pieces.some((p) => p.length > 0)) refused = true
    if (t.length === 0) continue
    text += t
    const last = blocks[blocks.length - 1]
    if (last?.type === "text") last.text += t
    else blocks.push({ type: "text", text: t })
  }
  const chars = text.length + reasoning.length + calls.reduce((n, call) => n + call.arguments.length, 0)
  return { blocks, text, reasoning, calls, refused, chars }
}

const stopReasonFor = (s: OpenAIStream, facts: OpenAIFacts): string => {
  if (facts.refused || s.finish === "content_filter") return "refusal"
  if (s.finish === "length") return "max_tokens"
  if (s.finish === "tool_calls" || facts.calls.length > 0) return "tool_use"
  return "end_turn"
}

// ---------------------------------------------------------------------------------------------------------------------

describe("stream grammar", () => {
  it.prop(
    "Anthropic events → OpenAI chunks: valid chunk grammar, tool indices by tool order, arguments intact",
    { m: anthropicMessage },
    ({ m }) => {
      const bytes = Buffer.from(anthropicWire(m), "utf8")
      const out = runTranslator(
        messagesStreamTranslator({ includeUsage: m.includeUsage, created: 5 }),
        cutAt(bytes, m.byteCuts)
      )
      const summary = checkChatStream(out)
      assert.isNull(summary.error)
      assert.strictEqual(summary.id, m.id)
      assert.strictEqual(summary.model, m.model)
      const texts = m.blocks.flatMap((b) => b.kind === "text" ? b.pieces : [])
      assert.strictEqual(summary.content, texts.join(""))
      assert.strictEqual(summary.reasoning, m.blocks.flatMap((b) => b.kind === "thinking" ? [b.text] : []).join(""))
      const tools = m.blocks.flatMap((b) => b.kind === "tool" ? [b] : [])
      assert.deepStrictEqual(
        summary.toolCalls,
        tools.map((t, index) => ({ index, id: t.id, name: t.name, arguments: JSON.stringify(t.input) }))
      )
      assert.strictEqual(summary.finishReason, finishFor[m.stop])
      if (m.includeUsage) {
        const prompt = m.usage.input + m.usage.cacheRead + m.usage.cacheCreation
        assert.deepStrictEqual(summary.usage, {
          prompt_tokens: prompt,
          completion_tokens: m.usage.output,
          total_tokens: prompt + m.usage.output,
          prompt_tokens_details: { cached_tokens: m.usage.cacheRead }
        })
      } else assert.isNull(summary.usage)

      // Round trip back to Anthropic: the text and every tool call survive, in order.
      const back = checkMessagesStream(runTranslator(chatStreamTranslator({}), cutAt(Buffer.from(out), m.byteCuts)))
      assert.deepStrictEqual(back.blocks, survivingBlocks(m))
      const stop = m.stop === "refusal" || m.stop === "max_tokens" || m.stop === "tool_use"
        ? m.stop
        : tools.length > 0
        ? "tool_use"
        : "end_turn"
      assert.strictEqual(back.stopReason, stop)
      if (m.includeUsage) {
        assert.deepStrictEqual(back.usage, {
          input_tokens: m.usage.input + m.usage.cacheCreation,
          cache_read_input_tokens: m.usage.cacheRead,
          output_tokens: m.usage.output
        })
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "OpenAI chunks → Anthropic events: valid event grammar, unique block indices, arguments intact",
    { s: openAIStream },
    ({ s }) => {
      const facts = openAIFacts(s)
      const wire = cutAt(Buffer.from(openAIWire(s)), s.byteCuts)
      const out = runTranslator(chatStreamTranslator({ inputTokensHint: 7 }), wire)
      const summary = checkMessagesStream(out)
      assert.isNull(summary.error)
      assert.strictEqual(summary.id, s.id)
      assert.strictEqual(summary.model, s.model)
      assert.strictEqual(summary.startUsage?.input_tokens, 7)
      assert.deepStrictEqual(summary.blocks, facts.blocks)
      assert.strictEqual(summary.stopReason, stopReasonFor(s, facts))
      if (s.usage !== undefined) {
        const cached = cachedOf(s)
        assert.deepStrictEqual(summary.usage, {
          input_tokens: s.usage.prompt - cached,
          cache_read_input_tokens: cached,
          output_tokens: s.usage.completion
        })
      } else assert.deepStrictEqual(summary.usage, { output_tokens: Math.ceil(facts.chars / 4) })

      // Round trip back to OpenAI: the text and every tool call survive, with indices 0,1,2…
      const back = checkChatStream(
        runTranslator(messagesStreamTranslator({ includeUsage: true, created: 1 }), cutAt(Buffer.from(out), s.byteCuts))
      )
      assert.strictEqual(back.content, facts.text)
      assert.strictEqual(back.reasoning, facts.reasoning)
      assert.deepStrictEqual(back.toolCalls, facts.calls)
      const finish = summary.stopReason === "refusal"
        ? "content_filter"
        : summary.stopReason === "max_tokens"
        ? "length"
        : summary.stopReason === "tool_use"
        ? "tool_calls"
        : "stop"
      assert.strictEqual(back.finishReason, finish)
      if (s.usage !== undefined) {
        assert.strictEqual(back.usage?.prompt_tokens, s.usage.prompt)
        assert.strictEqual(back.usage?.completion_tokens, s.usage.completion)
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "garbage never breaks either translator's output grammar",
    { bytes: fc.uint8Array({ maxLength: 400 }), prefix: fc.boolean(), byteCuts: fc.array(fc.nat(), { maxLength: 8 }) },
    ({ byteCuts, bytes, prefix }) => {
      const head = prefix ? "data: {\"type\":\"message_start\",\"message\":{}}\n\ndata: {\"choices\":[]}\n\n" : ""
      const input = Buffer.concat([Buffer.from(head), Buffer.from(bytes)])
      checkChatStream(runTranslator(messagesStreamTranslator({ includeUsage: true }), cutAt(input, byteCuts)))
      checkMessagesStream(runTranslator(chatStreamTranslator({}), cutAt(input, byteCuts)))
    },
    { fastCheck: { numRuns: 200 } }
  )
})
