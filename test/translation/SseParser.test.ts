import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { formatFrame, parseAll, SseParser, toTransform } from "../../src/translation/SseParser.js"
import type { SseFrame } from "../../src/translation/SseParser.js"
import { bytewise, cutAt, runTransform } from "../support/WireChecks.js"

const feed = (chunks: ReadonlyArray<Buffer | string>, parser = new SseParser()): Array<SseFrame> => {
  const frames: Array<SseFrame> = []
  for (const chunk of chunks) frames.push(...parser.push(chunk))
  return [...frames, ...parser.end()]
}

describe("SseParser", () => {
  it("parses named and unnamed frames", () => {
    assert.deepStrictEqual(parseAll("event: ping\ndata: {\"type\":\"ping\"}\n\ndata: hello\n\n"), [
      { event: "ping", data: "{\"type\":\"ping\"}" },
      { data: "hello" }
    ])
  })

  it("joins multi-line data with LF and strips one leading space only", () => {
    assert.deepStrictEqual(parseAll("data: a\ndata:b\ndata:  c\ndata\n\n"), [{ data: "a\nb\n c\n" }])
  })

  it("ignores comments, unknown fields, id and retry", () => {
    assert.deepStrictEqual(parseAll(": keep-alive\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\n:\n\n"), [{ data: "x" }])
  })

  it("does not dispatch a frame without data", () => {
    assert.deepStrictEqual(parseAll("event: lonely\n\ndata: y\n\n"), [{ data: "y" }])
  })

  it("treats LF, CRLF and CR line ends alike", () => {
    const lf = "event: a\ndata: 1\n\ndata: 2\ndata: 3\n\n"
    const expected = [{ event: "a", data: "1" }, { data: "2\n3" }]
    assert.deepStrictEqual(parseAll(lf), expected)
    assert.deepStrictEqual(parseAll(lf.replaceAll("\n", "\r\n")), expected)
    assert.deepStrictEqual(parseAll(lf.replaceAll("\n", "\r")), expected)
  })

  it("handles a CRLF split between chunks without seeing an extra blank line", () => {
    assert.deepStrictEqual(feed(["data: 1\r", "\ndata: 2\r", "\n\r", "\n"]), [{ data: "1\n2" }])
  })

  it("gives the same frames for a split at every position", () => {
    const text = "event: message_start\r\ndata: {\"a\":\"é€𝄞\"}\r\n\r\n: c\n\ndata: x\ndata: y\n\n"
    const bytes = Buffer.from(text, "utf8")
    const expected = parseAll(text)
    for (let i = 1; i < bytes.length; i++) assert.deepStrictEqual(feed(cutAt(bytes, [i])), expected, `split at ${i}`)
    assert.deepStrictEqual(feed(bytewise(bytes)), expected)
  })

  it("decodes UTF-8 sequences split across chunks", () => {
    const bytes = Buffer.from("data: 👋🏽日本\n\n", "utf8")
    assert.deepStrictEqual(feed(bytewise(bytes)), [{ data: "👋🏽日本" }])
  })

  it("strips a leading byte-order mark", () => {
    assert.deepStrictEqual(feed([Buffer.from([0xef, 0xbb]), Buffer.from([0xbf]), "data: z\n\n"]), [{ data: "z" }])
  })

  it("dispatches an unterminated last frame at end", () => {
    assert.deepStrictEqual(feed(["data: [DONE]"]), [{ data: "[DONE]" }])
    assert.deepStrictEqual(feed(["data: a\n", "data: b"]), [{ data: "a\nb" }])
  })

  it("drops an oversized line with its frame and recovers", () => {
    const parser = new SseParser({ maxLineLength: 16 })
    const frames = feed(
      ["data: ok\n\n", "data: 0123456789", "0123456789", "0123\ndata: tail\n\n", "data: fine\n\n"],
      parser
    )
    assert.deepStrictEqual(frames, [{ data: "ok" }, { data: "fine" }])
  })

  it("never throws on arbitrary bytes", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.uint8Array({ maxLength: 300 }), FastCheck.array(FastCheck.nat()), (bytes, cuts) => {
        const frames = feed(cutAt(Buffer.from(bytes), cuts))
        for (const frame of frames) assert.isString(frame.data)
      }),
      { numRuns: 200 }
    )
  })

  it.prop(
    "round-trips frames through any line ending and any chunking",
    {
      frames: FastCheck.array(
        FastCheck.record({
          event: FastCheck.option(FastCheck.stringMatching(/^[a-z_]{1,12}$/), { nil: undefined }),
          lines: FastCheck.array(FastCheck.string({ unit: "grapheme" }).map((s) => s.replace(/[\r\n]/g, " ")), {
            minLength: 1,
            maxLength: 3
          })
        }),
        { maxLength: 8 }
      ),
      eol: FastCheck.constantFrom("\n", "\r\n", "\r"),
      cuts: FastCheck.array(FastCheck.nat(), { maxLength: 12 })
    },
    ({ cuts, eol, frames }) => {
      const text = frames
        .map((f) => {
          const name = f.event === undefined ? "" : `event: ${f.event}${eol}`
          return name + f.lines.map((l) => `data: ${l}${eol}`).join("") + eol
        })
        .join(`: comment${eol}`)
      const expected = frames.map((f) =>
        f.event === undefined ? { data: f.lines.join("\n") } : { event: f.event, data: f.lines.join("\n") }
      )
      assert.deepStrictEqual(feed(cutAt(Buffer.from(text, "utf8"), cuts)), expected)
    },
    { fastCheck: { numRuns: 150 } }
  )

  it("formats frames", () => {
    assert.strictEqual(formatFrame("{}"), "data: {}\n\n")
    assert.strictEqual(formatFrame("{}", "ping"), "event: ping\ndata: {}\n\n")
    assert.deepStrictEqual(parseAll(formatFrame("x", "y")), [{ event: "y", data: "x" }])
  })
})

describe("toTransform", () => {
  it("writes one output per input chunk and the tail at end", async () => {
    const seen: Array<string> = []
    const transform = toTransform({
      push: (chunk) => {
        seen.push(chunk.toString())
        return chunk.toString().toUpperCase()
      },
      end: () => "!"
    })
    assert.strictEqual(await runTransform(transform, ["ab", "c"]), "ABC!")
    assert.deepStrictEqual(seen, ["ab", "c"])
  })

  it("turns a translator bug into a stream error instead of a crash", async () => {
    const transform = toTransform({
      push: () => {
        throw new Error("bug")
      },
      end: () => ""
    })
    const failure = await runTransform(transform, ["x"]).then(() => undefined, (error: unknown) => error)
    assert.instanceOf(failure, Error)
    assert.strictEqual((failure as Error).message, "bug")
  })
})
