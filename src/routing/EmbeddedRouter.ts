import * as Effect from "effect/Effect"
import { backgroundRoutes } from "./BackgroundRoutes.js"
import type { Turn } from "./Conversation.js"
import * as SentenceVector from "./SentenceVector.js"
import * as Subwords from "./Subwords.js"
import * as TextFeatures from "./TextFeatures.js"
import type { MessageFeatures } from "./TextFeatures.js"
import * as WordVectors from "./WordVectors.js"

/** A route as the embedded router sees it. */
export interface RouteSpec {
  readonly name: string
  readonly description: string
  /** Sample utterances (a Switchyard extension). */
  readonly examples?: ReadonlyArray<string>
}

/** The router's answer: a route name, or null for "no route". */
export interface Classification {
  readonly route: string | null
  /** 0..1: how sure the router is of `route` (of "no route" when `route` is null). */
  readonly confidence: number
}

interface RouteTerm {
  readonly stem: string
  readonly row: number
  readonly weight: number
  readonly word: string
  readonly grams: ReadonlySet<string>
}

interface CompiledRoute {
  readonly name: string
  readonly terms: ReadonlyArray<RouteTerm>
  readonly concepts: ReadonlyMap<string, number>
  /** Sentence vector of the route's name, description and examples (null when no word is known). */
  readonly centroid: Float32Array | null
}

/** Routes compiled once for fast classification (opaque; cache it per route set). */
export interface CompiledRoutes {
  readonly _tag: "CompiledRoutes"
  readonly routes: ReadonlyArray<CompiledRoute>
  readonly vectors: WordVectors.WordVectors
  /** The route small talk goes to, when a route describes casual conversation. */
  readonly casualRoute: number
  /** The broad kinds of request the routes are weighed against (none for the background set itself). */
  readonly background: CompiledRoutes | undefined
  /** Per query word: its best match against each route; filled lazily, bounded. */
  readonly cache: Map<string, Float32Array>
}

/** Tunable constants; exported so the evaluation tool can explore them. */
export const params = {
  /** Default score below which the answer is "no route". */
  threshold: 0.07,
  /** Cosine similarity below which two different words are unrelated. */
  simFloor: 0.65,
  /** Weight of a topic concept (code, math, ...) relative to a word. */
  conceptWeight: 1,
  /** Weight of an action concept (write, explain, summarize, ...) relative to a word. */
  actionWeight: 2,
  /** Weight of the "short question" cue against routes for simple queries. */
  simpleWeight: 2.5,
  /** Dampens scores of very short messages. */
  lengthPrior: 2.5,
  /** Weight of route-name words relative to description words. */
  nameWeight: 1.2,
  /** Weight of example words relative to description words. */
  exampleWeight: 0.8,
  /** How much a previous user turn adds to a follow-up. */
  contextWeight: 0.6,
  /** Idf at which a route word counts fully. */
  routeIdfFull: 3,
  /** Factor on an action match when message and route are about different topics ("write" code vs stories). */
  topicMismatch: 0.4,
  /** Content words of a message that count fully; later ones fade. */
  headWords: 30,
  /** Long messages are not less about a route: 1 averages over all words, 0 sums the evidence. */
  lengthPower: 0.5,
  /** Count a message's concept only when some route has it. */
  conceptsOfRoutesOnly: true,
  /** Weight of a query word the vector table does not know (typo, foreign word, identifier). */
  oovWeight: 3,
  /** Lowest weight of a frequent route word, relative to a rare one. */
  routeWeightFloor: 0.25,
  /** Exponent of the similarity curve above the floor. */
  simPower: 1,
  /** How much better a broad kind of request must fit than the best route for *no route* (0 = never). */
  backgroundMargin: 2,
  /** Share of a word's evidence that must stand out from its similarity to all routes (0..1). */
  relative: 0,
  /** Similarity of two words that share a long prefix (`vulnerable`, `vulnerabilities`). */
  prefixSim: 0.8,
  /** Trigram similarity at which two spellings start to count as the same word. */
  subwordFloor: 0.5,
  /** Weight of the sentence-vector cosine against the word-level score. */
  sentenceWeight: 0,
  /** Sentence cosine below which a route gets nothing from it. */
  sentenceFloor: 0.2,
  disabled: ["account", "incident", "infra", "docs", "security", "data", "creative"] as Array<string>
}

const cacheLimit = 20_000

// A message's concept also partly matches a route that names a related one ("fix it" asks for new code).
const conceptAffinity: Record<string, ReadonlyArray<readonly [string, number]>> = {
  modify: [["create", 0.8], ["fix", 0.6]],
  fix: [["modify", 0.8], ["create", 0.5]],
  create: [["modify", 0.6]],
  explain: [["reason", 0.5]],
  reason: [["explain", 0.5]]
}

const idfOfRow = (row: number) => (row < 0 ? params.oovWeight : Math.max(0.3, Math.log(1 + (row + 1) / 200)))

// Identifiers, numbers with units and hashes say nothing about intent.
const looksLikeId = (word: string) => /\d/.test(word) || word.length > 20

const rowOf = (vectors: WordVectors.WordVectors, word: string, stem: string) => {
  let row = vectors.row(word)
  if (row < 0) row = vectors.row(stem)
  if (row < 0) row = vectors.row(stem + "e")
  return row
}

/** Compiles route names, descriptions and examples into reusable term tables. */
export const compileRoutes = (
  vectors: WordVectors.WordVectors,
  routes: ReadonlyArray<RouteSpec>,
  withBackground = true
): CompiledRoutes => {
  const compiled = routes.map((route): CompiledRoute => {
    const terms = new Map<string, RouteTerm>()
    const concepts = new Map<string, number>()
    const sentence = SentenceVector.empty(vectors)
    const addText = (text: string, scale: number, withConcepts = true) => {
      const f = TextFeatures.analyzeRouteText(text)
      for (const t of f.tokens) {
        if (TextFeatures.stopWords.has(t.word)) continue
        const row = rowOf(vectors, t.word, t.stem)
        // Frequent words ("new", "tasks") say little about a route and resemble too many query words.
        const weight = scale * Math.min(1, Math.max(params.routeWeightFloor, idfOfRow(row) / params.routeIdfFull))
        const known = terms.get(t.stem)
        if (known === undefined || known.weight < weight) {
          terms.set(t.stem, { stem: t.stem, row, weight, word: t.word, grams: Subwords.trigrams(t.word) })
        }
        SentenceVector.add(vectors, sentence, row, scale * SentenceVector.sifWeight(row))
      }
      if (!withConcepts) return
      for (const [c, n] of f.concepts) concepts.set(c, Math.max(concepts.get(c) ?? 0, Math.min(1, n) * scale))
    }
    // Names are often compounds ("search_as_a_service") whose words would raise misleading concepts.
    addText(route.name, params.nameWeight, false)
    addText(route.description, 1)
    for (const example of route.examples ?? []) addText(example, params.exampleWeight)
    return {
      name: route.name,
      terms: [...terms.values()],
      concepts,
      centroid: SentenceVector.finish(vectors, sentence)
    }
  })
  const casualRoute = compiled.findIndex((r) => (r.concepts.get("casual") ?? 0) > 0)
  const background = withBackground ? compileRoutes(vectors, backgroundRoutes, false) : undefined
  return { _tag: "CompiledRoutes", routes: compiled, vectors, casualRoute, background, cache: new Map() }
}

const simOf = (cos: number) =>
  cos <= params.simFloor ? 0 : Math.pow((cos - params.simFloor) / (1 - params.simFloor), params.simPower)

/** Best match of one query word against every route. */
const matchWord = (compiled: CompiledRoutes, word: string, stem: string, row: number): Float32Array => {
  const key = word
  const cached = compiled.cache.get(key)
  if (cached !== undefined) return cached
  const out = new Float32Array(compiled.routes.length)
  const grams = word.length >= 5 ? Subwords.trigrams(word) : undefined
  compiled.routes.forEach((route, r) => {
    let best = 0
    for (const term of route.terms) {
      let s = 0
      if (term.stem === stem) s = 1
      else if (row >= 0 && term.row >= 0) s = simOf(compiled.vectors.cosine(row, term.row))
      if (grams !== undefined && s < 1) {
        const g = Subwords.similarity(grams, term.grams)
        if (g > params.subwordFloor) s = Math.max(s, (g - params.subwordFloor) / (1 - params.subwordFloor))
        if (s < params.prefixSim && Subwords.sharesStem(word, term.word)) s = params.prefixSim
      }
      s *= term.weight
      if (s > best) best = s
    }
    out[r] = best
  })
  if (compiled.cache.size >= cacheLimit) compiled.cache.clear()
  compiled.cache.set(key, out)
  return out
}

/** Scores of one message against every route, each in 0..1. */
const scoreMessage = (compiled: CompiledRoutes, f: MessageFeatures): Float64Array => {
  const n = compiled.routes.length
  const sums = new Float64Array(n)
  let total = 0
  const seen = new Set<string>()
  const sentence = SentenceVector.empty(compiled.vectors)
  let position = 0
  for (const t of f.tokens) {
    if (TextFeatures.stopWords.has(t.word) || seen.has(t.stem) || /^\d+$/.test(t.word)) continue
    seen.add(t.stem)
    position++
    const row = rowOf(compiled.vectors, t.word, t.stem)
    const fade = position <= params.headWords ? 1 : params.headWords / position
    const w = (row < 0 && looksLikeId(t.word) ? 0.3 : idfOfRow(row)) * fade
    total += w
    if (params.sentenceWeight > 0) {
      SentenceVector.add(compiled.vectors, sentence, row, fade * SentenceVector.sifWeight(row))
    }
    const m = matchWord(compiled, t.word, t.stem, row)
    if (params.relative > 0 && n > 1) {
      // A word close to every route ("week", "problem") tells little about which one fits: credit only its excess
      // over the mean of the routes.
      let mean = 0
      for (let r = 0; r < n; r++) mean += m[r]!
      mean /= n
      for (let r = 0; r < n; r++) {
        sums[r] += w * ((1 - params.relative) * m[r]! + params.relative * Math.max(0, m[r]! - mean) * n / (n - 1))
      }
    } else for (let r = 0; r < n; r++) sums[r] += w * m[r]!
  }
  const conceptsOf = new Map(f.concepts)
  if (f.shortQuestion) conceptsOf.set("simple", 1)
  for (const [c, strength] of conceptsOf) {
    if (params.disabled.includes(c)) continue
    const base = c === "simple" ? params.simpleWeight : TextFeatures.actionConcepts.has(c)
      ? params.actionWeight
      : params.conceptWeight
    const w = base * Math.sqrt(strength)
    const related = conceptAffinity[c]
    const isAction = TextFeatures.actionConcepts.has(c)
    let any = false
    for (let r = 0; r < n; r++) {
      const own = compiled.routes[r]!.concepts
      let m = own.get(c) ?? 0
      if (related !== undefined) for (const [other, k] of related) m = Math.max(m, k * (own.get(other) ?? 0))
      if (m > 0) any = true
      if (isAction && m > 0 && topicMismatch(conceptsOf, own)) m *= params.topicMismatch
      sums[r] += w * m
    }
    // A kind of request no route speaks of tells nothing about which route fits; it must not dilute the others.
    if (any || !params.conceptsOfRoutesOnly) total += w
  }
  const norm = Math.pow(total + params.lengthPrior, params.lengthPower)
  for (let r = 0; r < n; r++) sums[r] = sums[r]! / norm
  const v = SentenceVector.finish(compiled.vectors, sentence)
  if (v !== null && params.sentenceWeight > 0) {
    for (let r = 0; r < n; r++) {
      const c = compiled.routes[r]!.centroid
      if (c === null) continue
      const cos = SentenceVector.cosine(v, c)
      if (cos > params.sentenceFloor) sums[r] = sums[r]! + params.sentenceWeight * (cos - params.sentenceFloor)
    }
  }
  return sums
}

const isTopic = (c: string) => !TextFeatures.actionConcepts.has(c) && c !== "casual" && c !== "simple"

/** Both sides name topics and none is shared. */
const topicMismatch = (query: ReadonlyMap<string, number>, route: ReadonlyMap<string, number>) => {
  let queryHas = false
  let routeHas = false
  for (const c of query.keys()) {
    if (!isTopic(c)) continue
    queryHas = true
    if (route.has(c)) return false
  }
  for (const c of route.keys()) if (isTopic(c)) routeHas = true
  return queryHas && routeHas
}

const pick = (scores: Float64Array) => {
  let best = -1
  let second = 0
  for (let r = 0; r < scores.length; r++) {
    if (best < 0 || scores[r]! > scores[best]!) {
      if (best >= 0) second = Math.max(second, scores[best]!)
      best = r
    } else second = Math.max(second, scores[r]!)
  }
  return { best, top: best < 0 ? 0 : scores[best]!, second }
}

// `classify` scores the same turns against the routes and then the background kinds; analyse each text once.
const recent = new Map<string, MessageFeatures>()
const analyzeRecent = (text: string): MessageFeatures => {
  let f = recent.get(text)
  if (f === undefined) {
    f = TextFeatures.analyze(text)
    if (recent.size >= 8) recent.clear()
    recent.set(text, f)
  }
  return f
}

/** Scores of the latest user intent against every route (exported for the evaluation tool). */
export const scores = (compiled: CompiledRoutes, turns: ReadonlyArray<Turn>): {
  readonly scores: Float64Array
  readonly smallTalk: boolean
} => {
  const n = compiled.routes.length
  let last = -1
  for (let i = turns.length - 1; i >= 0; i--) {
    if (turns[i]!.role === "user" && turns[i]!.content.trim().length > 0) {
      last = i
      break
    }
  }
  if (last < 0 || n === 0) return { scores: new Float64Array(n), smallTalk: false }
  const f = analyzeRecent(turns[last]!.content)
  if (f.smallTalk) return { scores: new Float64Array(n), smallTalk: true }
  const out = scoreMessage(compiled, f)
  if (!f.topicShift) {
    // Short or anaphoric messages ("and in Go?") take their intent from the turns before.
    const dependence = (f.continuation ? 0.6 : 0.2) + (f.contentCount <= 4 ? 0.4 : f.contentCount <= 10 ? 0.2 : 0)
    let weight = params.contextWeight * Math.min(1, dependence)
    for (let i = last - 1, seen = 0; i >= 0 && seen < 2 && weight > 0.02; i--) {
      const turn = turns[i]!
      if (turn.role !== "user" || turn.content.trim().length === 0) continue
      seen++
      const pf = analyzeRecent(turn.content)
      if (pf.smallTalk) continue
      const prev = scoreMessage(compiled, pf)
      for (let r = 0; r < n; r++) out[r] = out[r]! + weight * prev[r]!
      weight *= 0.5
    }
  }
  // Evidence is unbounded once long messages are not averaged away; the threshold lives on a 0..1 scale.
  for (let r = 0; r < n; r++) out[r] = out[r]! / (1 + out[r]!)
  return { scores: out, smallTalk: false }
}

/** Picks the route for the latest user intent, or null when no route scores at least `threshold`. */
export const classify = (
  compiled: CompiledRoutes,
  turns: ReadonlyArray<Turn>,
  threshold: number = params.threshold
): Classification => {
  const result = scores(compiled, turns)
  if (result.smallTalk) {
    return compiled.casualRoute >= 0
      ? { route: compiled.routes[compiled.casualRoute]!.name, confidence: 0.9 }
      : { route: null, confidence: 0.9 }
  }
  const { best, second, top } = pick(result.scores)
  if (best >= 0 && top >= threshold && params.backgroundMargin > 0 && compiled.background !== undefined) {
    // Is this request about something else? A broad kind of request that fits clearly better than every route.
    const other = pick(scores(compiled.background, turns).scores)
    if (other.top > top * (1 + params.backgroundMargin)) {
      return { route: null, confidence: Math.min(1, 0.5 + 0.5 * (1 - top / other.top)) }
    }
  }
  if (best < 0 || top < threshold) {
    return { route: null, confidence: threshold <= 0 ? 0 : Math.min(1, Math.max(0, 1 - top / threshold) + 0.5) }
  }
  const margin = top > 0 ? (top - second) / top : 0
  const confidence = Math.min(1, 0.5 * Math.min(1, top / (2 * threshold)) + 0.5 * margin)
  return { route: compiled.routes[best]!.name, confidence }
}

/** Loads the table and builds the router's methods outside any layer (for a router that loads on first use). */
export const make = Effect.gen(function*() {
  const vectors = yield* WordVectors.load()
  return {
    vectors,
    compile: (routes: ReadonlyArray<RouteSpec>): CompiledRoutes => compileRoutes(vectors, routes),
    classify
  } as const
})

/** The embedded offline router: loads the word-vector table once; `compile` and `classify` are pure and fast. */
export class EmbeddedRouter extends Effect.Service<EmbeddedRouter>()("switchyard/EmbeddedRouter", {
  effect: make,
  dependencies: []
}) {}
