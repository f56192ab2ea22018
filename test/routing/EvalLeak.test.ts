import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { routingEvalDir } from "../support/DevSet.js"

// The router's knowledge must come from general language resources: no eval prompt (or a 6-word run of one) and no
// multi-word label may appear in the router's source or in the data files it loads.
const root = fileURLToPath(new URL("../..", import.meta.url))

const evalFiles = () => {
  const shared = routingEvalDir()
  return [
    ...fs.readdirSync(shared).filter((f) => f.endsWith(".jsonl")).map((f) => path.join(shared, f)),
    path.join(root, "eval/fresh.jsonl")
  ]
}

const routerFiles = () => [
  ...fs.readdirSync(path.join(root, "src/routing")).map((f) => path.join(root, "src/routing", f)),
  ...fs.readdirSync(path.join(root, "data")).filter((f) => !f.endsWith(".bin")).map((f) => path.join(root, "data", f))
]

const wordsOf = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []

interface Case {
  readonly expected: string | null
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content?: unknown }>
}

const load = (file: string) =>
  fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim().length > 0).map((l) => JSON.parse(l) as Case)

describe("eval data stays out of the router", () => {
  it("no eval prompt of 6 words or more, nor any 6-word run of one, occurs in the router's source or data", () => {
    const runs = new Set<string>()
    for (const file of routerFiles()) {
      const words = wordsOf(fs.readFileSync(file, "utf8"))
      for (let i = 0; i + 6 <= words.length; i++) runs.add(words.slice(i, i + 6).join(" "))
    }
    assert.isAbove(runs.size, 1000)
    const leaks: Array<string> = []
    let prompts = 0
    for (const file of evalFiles()) {
      for (const c of load(file)) {
        for (const m of c.messages) {
          if (m.role !== "user" || typeof m.content !== "string") continue
          const words = wordsOf(m.content)
          if (words.length < 6) continue
          prompts++
          for (let i = 0; i + 6 <= words.length; i++) {
            const run = words.slice(i, i + 6).join(" ")
            if (runs.has(run)) leaks.push(`${path.basename(file)}: "${run}"`)
          }
        }
      }
    }
    assert.isAbove(prompts, 500)
    assert.deepStrictEqual(leaks, [])
  })

  it("no multi-word route label of an eval file occurs in the router's source or data", () => {
    const text = routerFiles().map((f) => fs.readFileSync(f, "utf8").toLowerCase()).join("\n")
    const labels = new Set<string>()
    for (const file of evalFiles()) {
      for (const c of load(file)) if (c.expected !== null && /[_ ]/.test(c.expected)) labels.add(c.expected)
    }
    assert.isAbove(labels.size, 10)
    assert.deepStrictEqual([...labels].filter((l) => text.includes(l.toLowerCase())), [])
  })
})
