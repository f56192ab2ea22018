import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"

/** The compact word-vector table could not be read or is malformed. */
export class WordVectorsLoadError extends Data.TaggedError("WordVectorsLoadError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `cannot load word vectors from ${this.path}: ${this.reason}`
  }
}

/** A read-only table of unit-length word vectors, indexed by row; rows are ordered by corpus frequency. */
export interface WordVectors {
  readonly size: number
  readonly dims: number
  /** Row of a word, or -1 when the word is not in the table. */
  readonly row: (word: string) => number
  /** Cosine similarity of two rows. */
  readonly cosine: (a: number, b: number) => number
  /** Adds `weight` times the unit vector of `row` to `out` (length `dims`). */
  readonly addTo: (row: number, weight: number, out: Float32Array) => void
  /** The unit direction shared by frequent words; sentence vectors remove it (SIF common-component removal). */
  readonly common: Float32Array
}

/** Where `tools/buildVectors.ts` writes the table; resolved from this module so it works from `src/` and `dist/`. */
export const defaultPaths = {
  vectors: fileURLToPath(new URL("../../data/vectors.bin", import.meta.url)),
  words: fileURLToPath(new URL("../../data/vectors.txt", import.meta.url))
} as const

const hashOf = (text: string, from: number, to: number): number => {
  let h = 0x811c9dc5
  for (let i = from; i < to; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/**
 * Row lookup over the first `size` lines of `wordList`, or a reason it is malformed. An open-addressing table of
 * rows into line offsets of the one list string: a `Map` of 150k word strings held ~13 MB of heap, this ~4 MB.
 */
const wordIndex = (wordList: string, size: number): ((word: string) => number) | string => {
  const starts = new Int32Array(size + 1)
  let at = 0
  for (let r = 0; r < size; r++) {
    const nl = wordList.indexOf("\n", at)
    if (nl < 0 && r < size - 1) return `word list has ${r + 1} lines, table has ${size} rows`
    starts[r] = at
    at = nl < 0 ? wordList.length : nl + 1
  }
  starts[size] = at
  // Row r's word ends before its newline (or at the end of the text for a last line without one).
  const endOf = (r: number) => r === size - 1 && wordList.charCodeAt(starts[size]! - 1) !== 10
    ? starts[size]!
    : starts[r + 1]! - 1
  let slots = 1
  while (slots < size * 2) slots <<= 1
  const mask = slots - 1
  const table = new Int32Array(slots).fill(-1)
  const equals = (r: number, word: string) => {
    const from = starts[r]!
    if (endOf(r) - from !== word.length) return false
    for (let i = 0; i < word.length; i++) if (wordList.charCodeAt(from + i) !== word.charCodeAt(i)) return false
    return true
  }
  for (let r = 0; r < size; r++) {
    const from = starts[r]!
    const word = wordList.slice(from, endOf(r))
    let slot = hashOf(word, 0, word.length) & mask
    // A repeated word keeps its last row, as a Map filled in row order would.
    while (table[slot] !== -1 && !equals(table[slot]!, word)) slot = (slot + 1) & mask
    table[slot] = r
  }
  return (word: string) => {
    let slot = hashOf(word, 0, word.length) & mask
    for (;;) {
      const r = table[slot]!
      if (r === -1 || equals(r, word)) return r
      slot = (slot + 1) & mask
    }
  }
}

/** Decodes a table from the bytes of `vectors.bin` and the text of `vectors.txt`. */
export const decode = (bin: Uint8Array, wordList: string): WordVectors | string => {
  if (bin.length < 12 || String.fromCharCode(bin[0]!, bin[1]!, bin[2]!, bin[3]!) !== "SWV1") return "bad magic"
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength)
  const size = view.getUint32(4, true)
  const dims = view.getUint32(8, true)
  if (bin.length !== 12 + size * dims) return `expected ${12 + size * dims} bytes, got ${bin.length}`
  const row = wordIndex(wordList, size)
  if (typeof row === "string") return row
  // Rows stay int8 (5 MB); expanding them to float32 would cost another 20 MB of resident memory for no accuracy.
  const raw = new Int8Array(bin.buffer, bin.byteOffset + 12, size * dims)
  const inverseNorm = new Float32Array(size)
  for (let r = 0; r < size; r++) {
    const off = r * dims
    let norm = 0
    for (let d = 0; d < dims; d++) norm += raw[off + d]! * raw[off + d]!
    inverseNorm[r] = norm > 0 ? 1 / Math.sqrt(norm) : 0
  }
  const cosine = (a: number, b: number) => {
    const oa = a * dims
    const ob = b * dims
    let s = 0
    for (let d = 0; d < dims; d++) s += raw[oa + d]! * raw[ob + d]!
    return s * inverseNorm[a]! * inverseNorm[b]!
  }
  const addTo = (r: number, weight: number, out: Float32Array) => {
    const off = r * dims
    const k = weight * inverseNorm[r]!
    for (let d = 0; d < dims; d++) out[d] = out[d]! + k * raw[off + d]!
  }
  // Frequent words all lean the same way; their average direction carries no meaning of its own.
  const common = new Float32Array(dims)
  for (let r = 0; r < Math.min(size, 5000); r++) addTo(r, 1, common)
  let cn = 0
  for (let d = 0; d < dims; d++) cn += common[d]! * common[d]!
  cn = Math.sqrt(cn) || 1
  for (let d = 0; d < dims; d++) common[d] = common[d]! / cn
  return { size, dims, row, cosine, addTo, common }
}

/** Loads the table from disk (default: the files shipped in `data/`). */
export const load = (paths: { readonly vectors: string; readonly words: string } = defaultPaths) =>
  Effect.gen(function*() {
    const [bin, words] = yield* Effect.try({
      try: () => [fs.readFileSync(paths.vectors), fs.readFileSync(paths.words, "utf8")] as const,
      catch: (e) => new WordVectorsLoadError({ path: paths.vectors, reason: String(e) })
    })
    const table = decode(bin, words)
    if (typeof table === "string") return yield* new WordVectorsLoadError({ path: paths.vectors, reason: table })
    return table
  })
