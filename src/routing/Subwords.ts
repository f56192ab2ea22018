/**
 * Character trigram similarity: lets a word the vector table does not know (a typo, an inflection, a cognate in
 * another language, a code identifier) still match a route word that is spelled alike.
 */

/** The padded character trigrams of a word. */
export const trigrams = (word: string): ReadonlySet<string> => {
  const w = `<${word.normalize("NFD").replace(/[\u0300-\u036f]/g, "")}>`
  const out = new Set<string>()
  for (let i = 0; i + 3 <= w.length; i++) out.add(w.slice(i, i + 3))
  return out
}

/** Dice coefficient of two trigram sets, 0..1. */
export const similarity = (a: ReadonlySet<string>, b: ReadonlySet<string>): number => {
  if (a.size === 0 || b.size === 0) return 0
  let shared = 0
  for (const g of a) if (b.has(g)) shared++
  return (2 * shared) / (a.size + b.size)
}

/** Two words share a stem: a common prefix of at least 5 letters covering most of the shorter word. */
export const sharesStem = (a: string, b: string): boolean => {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++
  return i >= 5 && i >= 0.7 * n
}
