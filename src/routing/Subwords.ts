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
