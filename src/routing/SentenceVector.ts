import type * as WordVectors from "./WordVectors.js"

/**
 * Sentence vectors for the embedded router: a weighted average of word vectors (SIF: rare words weigh more), minus
 * the direction every frequent word shares, normalised. Built from the general word-vector table only.
 */

/** SIF weight a/(a + p(w)), with p(w) estimated from the frequency rank of the word (Zipf's law). */
export const sifWeight = (row: number): number => {
  if (row < 0) return 0
  const p = 0.1 / (row + 10)
  return 1e-4 / (1e-4 + p)
}

/** An accumulator of weighted word vectors. */
export interface SentenceVector {
  readonly sum: Float32Array
  weight: number
}

export const empty = (vectors: WordVectors.WordVectors): SentenceVector => ({
  sum: new Float32Array(vectors.dims),
  weight: 0
})

export const add = (vectors: WordVectors.WordVectors, acc: SentenceVector, row: number, weight: number): void => {
  if (row < 0 || weight <= 0) return
  vectors.addTo(row, weight, acc.sum)
  acc.weight += weight
}

/** The unit vector of a sentence with the common component removed, or null when no word was known. */
export const finish = (vectors: WordVectors.WordVectors, acc: SentenceVector): Float32Array | null => {
  if (acc.weight <= 0) return null
  const v = acc.sum
  const c = vectors.common
  let proj = 0
  for (let d = 0; d < v.length; d++) proj += v[d]! * c[d]!
  let norm = 0
  for (let d = 0; d < v.length; d++) {
    v[d] = v[d]! - proj * c[d]!
    norm += v[d]! * v[d]!
  }
  if (norm === 0) return null
  const inv = 1 / Math.sqrt(norm)
  for (let d = 0; d < v.length; d++) v[d] = v[d]! * inv
  return v
}

export const cosine = (a: Float32Array, b: Float32Array): number => {
  let s = 0
  for (let d = 0; d < a.length; d++) s += a[d]! * b[d]!
  return s
}
