/**
 * Language-level text features for the embedded router: tokenising, a light stemmer, stop words, a small
 * multilingual lexicon that maps common request words of other languages to English, code/diff/log detection and a
 * generic lexicon of intent concepts (kinds of request an LLM gets). Nothing here knows any particular route set.
 */

/** Lower-cases a word and folds a few spelling variants (British -ise, curly quotes). */
const fold = (w: string) => w.replace(/[’‘]/g, "'").replace(/^'+|'+$/g, "")

/** A light suffix stemmer: enough to merge `write/writing/writes` and `generate/generation`. */
export const stem = (word: string): string => {
  let w = word
  if (w.length <= 3) return w
  if (w.endsWith("'s")) w = w.slice(0, -2)
  if (w.endsWith("ies") && w.length > 4) w = w.slice(0, -3) + "y"
  else if (/(ss|x|z|ch|sh)es$/.test(w)) w = w.slice(0, -2)
  else if (w.endsWith("s") && !/(ss|us|is|ys)$/.test(w) && w.length > 3) w = w.slice(0, -1)
  const rules: ReadonlyArray<readonly [string, string]> = [
    ["isation", "ize"], ["ization", "ize"], ["ational", "ate"], ["ation", "ate"], ["ising", "ize"], ["izing", "ize"],
    ["ise", "ize"], ["ised", "ize"], ["ized", "ize"], ["ment", ""], ["ness", ""], ["ing", ""], ["ed", ""], ["ly", ""]
  ]
  for (const [suffix, repl] of rules) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3) {
      w = w.slice(0, -suffix.length) + repl
      if ((suffix === "ing" || suffix === "ed") && /([bdfgmnprt])\1$/.test(w)) w = w.slice(0, -1)
      break
    }
  }
  if (w.endsWith("e") && w.length > 4) w = w.slice(0, -1)
  return w
}

/** Function words that carry no intent. */
export const stopWords: ReadonlySet<string> = new Set(`
a an the and or but if then else of to in on at by for with from into onto about as is are was were be been being am
do does did doing done have has had having i me my mine we us our you your yours he him his she her it its they them
their this that these those there here what which who whom whose when where how why can could would should will shall
may might must not no nor so than too very just also only own same such some any all both each few more most other
again further once up down out over under off above below between through during before after while until because
s t d ll m re ve y o isn aren wasn weren don doesn didn hasn haven hadn won wouldn shouldn couldn can't won't don't
i'm i'd i've i'll it's that's what's let's there's here's who's how's
please pls plz thank thanks hi hello hey ok okay yes yeah yep sure kindly just really actually basically like
get got want wanted need needs needed something anything thing things one ones way lot bit quick
tu te peux un une le la les de des du pour ce cette en et est que qui dans sur avec mon ma mes je il elle nous vous pas
el los las del y una por para con mi es se lo al puedes puede otra
der die das ein eine und ist mit für von zu ich du mir dir nicht auf im den dem es bitte was alle nach kannst
`.split(/\s+/).filter((w) => w.length > 0))

// Common request words of other languages, mapped to an English word the vector table knows. Generic vocabulary only.
const foreign: Record<string, string> = {
  // French
  "écris": "write", "écrire": "write", "écrivez": "write", "rédige": "write", "rédiger": "write", "génère": "generate",
  "explique": "explain", "expliquer": "explain", "expliquez": "explain", "m'expliquer": "explain", "pourquoi": "why",
  "comment": "how", "traduis": "translate", "traduire": "translate", "traduction": "translation", "résume": "summarize",
  "résumer": "summarize", "résumé": "summary", "poème": "poem", "histoire": "story", "chanson": "song",
  "fonction": "function", "calcule": "calculate", "calculer": "calculate", "erreur": "error", "fichier": "file",
  "données": "data", "tri": "sort", "détail": "detail", "exemple": "example", "moyenne": "average", "pire": "worst",
  "salut": "hi", "bonjour": "hello", "merci": "thanks", "conseiller": "recommend", "film": "movie", "mer": "sea",
  "automne": "autumn", "strophes": "stanzas", "petit": "small", "requête": "query", "sécurité": "security",
  // Spanish / Portuguese / Italian
  "escribe": "write", "escribir": "write", "escreva": "write", "scrivi": "write", "genera": "generate",
  "generas": "generate", "generar": "generate", "crea": "create", "explica": "explain", "explícame": "explain",
  "explicar": "explain", "spiega": "explain", "entiendo": "understand", "por qué": "why",
  "porque": "why", "cómo": "how", "traduce": "translate", "traducir": "translate", "traduci": "translate",
  "resume": "summarize", "resumir": "summarize", "resumen": "summary", "riassumi": "summarize", "poema": "poem",
  "cuento": "story", "historia": "story", "canción": "song", "función": "function", "funcion": "function",
  "calcula": "calculate", "cuánto": "how much", "cuanto": "how much", "datos": "data", "componente": "component",
  "formulario": "form", "validación": "validation", "contraseña": "password", "configuro": "configure",
  "configurar": "configure", "usuarios": "users", "administradores": "administrators", "obligatoria": "mandatory",
  "lista": "list", "precios": "prices", "pregunta": "question", "texto": "text", "frases": "sentences",
  "gracias": "thanks", "hola": "hello", "grazie": "thanks", "ciao": "hello", "obrigado": "thanks", "olá": "hello",
  "detalle": "detail", "algoritmo": "algorithm", "tarjeta": "card", "crédito": "credit", "número": "number",
  "valide": "validate", "error": "error", "seguridad": "security", "contrato": "contract",
  // German
  "schreib": "write", "schreibe": "write", "schreiben": "write", "erkläre": "explain", "erklär": "explain",
  "erklären": "explain", "warum": "why", "übersetze": "translate", "übersetzen": "translate",
  "übersetzung": "translation", "zusammenfassung": "summary", "fasse": "summarize", "gedicht": "poem",
  "geschichte": "story", "funktion": "function", "skript": "script", "datei": "file", "dateien": "files",
  "ordner": "folder", "sortiert": "sorted", "berechne": "calculate", "fehler": "error", "daten": "data",
  "morgen": "morning", "hallo": "hello", "danke": "thanks", "abfrage": "query", "nutzer": "users", "liegen": "cause",
  "prüfen": "check", "sicherheit": "security", "englische": "english", "deutsche": "german", "tag": "day"
}

/** A generic lexicon of request kinds; cue words are stemmed at load, phrases are matched on the token sequence. */
const conceptCues: Record<string, string> = {
  create: `write writes writing generate generating generation create creating make build implement scaffold draft
    compose produce craft develop code-up come-up-with give-me show-me whip-up`,
  modify: `fix rewrite refactor modify change changing update convert port add extend improve improving adapt tweak
    make-it instead`,
  explain: `explain explanation explanations understand understanding clarify describe meaning mean means teach why
    walk-me-through walk-through what-does how-does how-do what-is-this what's-this what-happens elaborate intuition`,
  reason: `reasoning reason analysis analyze analyse tradeoff tradeoffs trade-off trade-offs compare comparison
    evaluate assess implications step-by-step multi-step think-through pros cons weigh strategy decide decision
    careful thorough rigorous in-depth in-detail should-i should-we what-if`,
  summarize: `summarize summarise summary summaries summarization tldr recap gist key-points condense shorten
    synopsis takeaways key-takeaways digest abstract brief-overview`,
  translate: `translate translating translation translations say-in how-do-you-say how-would-i-say how-do-i-say
    in-english in-french in-spanish in-german in-italian in-japanese in-chinese in-thai in-portuguese into-english
    into-french into-spanish into-german into-italian into-japanese into-chinese into-portuguese ins-english
    literally`,
  review: `review reviewing critique feedback look-over lgtm merge merging approve pull-request diff diffs nitpick`,
  fix: `fix fixing debug debugging bug bugs broken failing crash exception traceback not-working`,
  code: `code coding program programming script scripts function functions method class snippet snippets
    boilerplate library libraries module regex python javascript typescript java golang rust bash
    shell compiler algorithm implementation`,
  math: `math mathematics equation equations solve calculate calculation arithmetic algebra calculus derivative
    integral percent percentage probability fraction numeric compute geometry interest compound compounded
    how-much how-many how-long average-speed solve-for`,
  data: `data dataset datasets csv spreadsheet spreadsheets excel formula formulas statistic statistics stats trend
    trends chart median correlation pivot analytics sql query queries column columns`,
  creative: `story stories poem poems poetry haiku limerick sonnet lyrics song songs verse slogan slogans tagline
    jingle fiction tale creative ad-copy marketing-copy`,
  account: `account billing bill charged charge subscription order orders shipping shipped delivery delivered
    tracking refund refunds return returns invoice payment cancel upgrade downgrade`,
  incident: `outage outages down error errors latency timeout timeouts timing-out logs log stack-trace crash degraded
    alert alerts incident prod production oom spike spiking erroring cpu lag slow unresponsive root-cause
    what-could-cause paged on-call failing restarting postmortem`,
  infra: `terraform kubernetes k8s helm manifest manifests dockerfile docker compose ci cd pipeline pipelines
    deployment cluster pod pods ingress aws gcp azure vpc cronjob hpa ansible yaml infrastructure`,
  docs: `readme documentation docs docstring docstrings api-reference runbook runbooks guide tutorial comments
    changelog wiki document documenting descriptions`,
  security: `security vulnerability vulnerabilities vulnerable vuln cve injection xss csrf secret secrets leaked leak
    credential credentials authentication authorization mfa 2fa hardening exploit exploitable pentest attack
    attacker encryption permissions rbac access-key api-key secret-key private-key password passwords exposed`,
  casual: `casual conversation conversations chat chitchat chit-chat small-talk banter greeting greetings smalltalk
    social`,
  simple: `simple quick general basic factual trivia easy everyday short`
}

/** Concepts that name what the user wants done (as opposed to what it is about); they decide most routes. */
export const actionConcepts: ReadonlySet<string> = new Set([
  "create", "modify", "explain", "reason", "summarize", "translate", "review", "fix"
])

/** Concepts only a route description can raise; messages raise them through message-level flags. */
const routeOnly: ReadonlySet<string> = new Set(["casual", "simple"])

const conceptOfStem = new Map<string, Array<string>>()
const conceptOfPhrase = new Map<string, Array<string>>()
for (const [concept, cues] of Object.entries(conceptCues)) {
  for (const cue of cues.split(/\s+/).filter((c) => c.length > 0)) {
    const target = cue.includes("-") && !/^(tl;dr|trade-off|trade-offs|multi-step|chit-chat)$/.test(cue)
      ? conceptOfPhrase
      : conceptOfStem
    const key = target === conceptOfPhrase ? cue.replace(/-/g, " ") : stem(cue)
    const list = target.get(key) ?? []
    if (!list.includes(concept)) list.push(concept)
    target.set(key, list)
  }
}

const phraseStarts = new Set([...conceptOfPhrase.keys()].map((p) => p.split(" ")[0]!))

/** The names of all concepts. */
export const concepts: ReadonlyArray<string> = Object.keys(conceptCues)

// Whole messages made only of these are small talk (greetings, thanks, acknowledgements, sign-offs).
const smallTalk: ReadonlySet<string> = new Set(`
hi hello hey hiya howdy yo sup heya hola bonjour salut hallo ciao morning evening afternoon night good gm greetings
thanks thank thx ty tysm cheers appreciate appreciated grateful merci gracias danke grazie obrigado
bye goodbye cya later see you soon take care farewell have a nice great one day weekend
ok okay k kk cool nice great perfect awesome excellent lovely wonderful amazing brilliant fantastic sweet neat
lol haha hah hehe lmao rofl wow oh ah yes yeah yep yup no nope sure fine alright right got it works worked working
sorted done all now that's thats it's was helpful useful super much very so really fair enough makes sense
perfectly exactly fixed solved trick lifesaver did
how's hows how are you doing going it what's up whats there everyone all folks team guys again for the help earlier
today tonight your you're u r my friend buddy mate dear wie geht's geht dir heute guten tag ça va
`.split(/\s+/).filter((w) => w.length > 0))

const alternatives = (parts: ReadonlyArray<string>, prefix = "\\b(", suffix = ")\\b") =>
  new RegExp(prefix + parts.join("|") + suffix, "i")
const personal = alternatives([
  "your favou?rite", "do you (like|enjoy|prefer|have a favou?rite)",
  "are you (a |an )?(human|robot|bot|ai|real)", "how are you", "what do you think of"
])
const mathLike = alternatives(
  [
    "\\d\\s*[-+*/^×÷=]\\s*[\\d(a-z]", "\\d+(\\.\\d+)?\\s*%", "\\b[a-z]\\s*[²³^]", "\\b\\d+\\s*/\\s*\\d+\\b",
    "\\bsolve\\b"
  ],
  "(",
  ")"
)
const topicShift = alternatives([
  "unrelated", "btw", "by the way", "separate (thing|question)", "different (question|topic)", "another question",
  "new question", "switching gears", "otra pregunta", "change of topic", "off[- ]topic"
])
const continuation = alternatives([
  "and", "but", "also", "now", "then", "what about", "how about", "ok(ay)? (now|and|so)", "same", "another", "next",
  "more", "again", "instead", "make it", "can you make", "do the same", "what if", "and if", "y", "et", "und"
], "^(")
const anaphora = /\b(it|that|this|those|them|instead|too|as well|again|the same)\b/i

/** A token of prose: its folded surface form and its stem. */
export interface Token {
  readonly word: string
  readonly stem: string
}

/** What was found in one message. */
export interface MessageFeatures {
  readonly tokens: ReadonlyArray<Token>
  /** Concepts triggered by cue words, phrases or message-level cues; weight 0..2 (more cues, earlier = more). */
  readonly concepts: ReadonlyMap<string, number>
  readonly hasCode: boolean
  readonly hasDiff: boolean
  readonly hasLogs: boolean
  /** Only greetings, thanks, acknowledgements or sign-offs. */
  readonly smallTalk: boolean
  /** A short question with no code (a quick lookup). */
  readonly shortQuestion: boolean
  /** Opens with a topic change ("unrelated: ...", "btw ..."). */
  readonly topicShift: boolean
  /** Looks like a continuation of the previous request ("and in Go?", "make it shorter"). */
  readonly continuation: boolean
  /** Words of prose, excluding stop words. */
  readonly contentCount: number
}

const codeKeywords = [
  "def", "class", "import", "from", "function", "const", "let", "var", "return", "if", "for", "while", "public",
  "private", "package", "func", "fn", "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "WITH", "WHERE", "resource",
  "module", "apiVersion", "kind", "RUN", "COPY", "CMD", "#include", "</?[a-z]+[ >]"
]
const codeLine = new RegExp(`^\\s*([{}[\\]();]|(${codeKeywords.join("|")})\\b|.*[;{}]\\s*$|.*\\)\\s*:\\s*$|.*=>)`)
const diffLine = /^[+-](?![+-])\S?/
const logLine = /\b(ERROR|WARN|FATAL|Exception|Traceback|panic:|at [\w.$]+\(|\d{2}:\d{2}:\d{2})/

// A sentence that happens to end in "):" or "{" is still an instruction ("Turn this into a chart (values.yaml):").
const isProse = (line: string) => (line.match(/\b[A-Za-z]{2,}\s/g) ?? []).length >= 6 && !/[;=]|^\s/.test(line)

/** Splits a message into prose and code, and reports what kind of code it held. */
const separateCode = (text: string) => {
  let hasCode = false
  let hasDiff = false
  let hasLogs = false
  let prose = text.replace(/```([a-zA-Z0-9_+-]*)\n?([\s\S]*?)(```|$)/g, (_m, lang: string, body: string) => {
    hasCode = true
    if (lang === "diff" || body.split("\n").filter((l) => diffLine.test(l)).length >= 2) hasDiff = true
    if (logLine.test(body)) hasLogs = true
    return lang.length > 0 ? ` ${lang} ` : " "
  })
  const lines = prose.split("\n")
  const kept: Array<string> = []
  let codeLines = 0
  for (const line of lines) {
    if (logLine.test(line) && /\d{2}:\d{2}|ERROR|Exception|Traceback/.test(line)) hasLogs = true
    if (lines.length > 1 && codeLine.test(line) && !isProse(line)) {
      codeLines++
      continue
    }
    kept.push(line)
  }
  if (codeLines >= 2) hasCode = true
  prose = kept.join("\n").replace(/`([^`]+)`/g, (_m, c: string) => {
    if (/[^\w\s.'-]/.test(c) || c.includes("_") || /[a-z][A-Z]/.test(c)) hasCode = true
    return ` ${c} `
  })
  if (/[=;{}]\s*\w|\w\(\)|\w\.\w+\(|=>|<\/?\w+>|\$\{/.test(prose)) hasCode = true
  return { prose, hasCode, hasDiff, hasLogs }
}

const wordPattern = /[\p{L}\p{N}][\p{L}\p{N}'’+#._-]*[\p{L}\p{N}+#]|[\p{L}\p{N}]/gu

/** Splits prose into folded words, translating known foreign request words. */
export const words = (prose: string): Array<string> => {
  const out: Array<string> = []
  const lower = prose.toLowerCase().replace(/tl;dr/g, " tldr ").replace(/por qué/g, " porque ")
  for (const raw of lower.match(wordPattern) ?? []) {
    const w = fold(raw)
    const mapped = foreign[w]
    if (mapped !== undefined) out.push(...mapped.split(" "))
    else if (/^[\p{L}]+-[\p{L}]+$/u.test(w) && !w.startsWith("multi")) out.push(...w.split("-"))
    else out.push(w.replace(/\.+$/, ""))
  }
  return out
}

/** Extracts the features of one message. */
export const analyze = (input: string, forRoute = false): MessageFeatures => {
  // Bounds the work on pasted documents; the instruction is at their start or end.
  const text = input.length > 2400 ? `${input.slice(0, 1600)}\n${input.slice(-600)}` : input
  const { prose, hasCode, hasDiff, hasLogs } = separateCode(text)
  const ws = words(prose)
  const tokens: Array<Token> = []
  const conceptWeights = new Map<string, number>()
  let position = 0
  // Instructions sit at the start (or the end) of a long message; cue words inside pasted material count less.
  const fadeAt = (p: number) => (p <= 30 ? 1 : 30 / p)
  const bump = (c: string, w: number) => conceptWeights.set(c, Math.min(2, (conceptWeights.get(c) ?? 0) + w))
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!
    const s = stem(w)
    tokens.push({ word: w, stem: s })
    if (!stopWords.has(w)) position++
    const fade = fadeAt(position)
    for (const c of conceptOfStem.get(s) ?? []) if (forRoute || !routeOnly.has(c)) bump(c, fade)
    if (!phraseStarts.has(w)) continue
    let phrase = w
    for (let n = 2; n <= 4 && i + n <= ws.length; n++) {
      phrase += " " + ws[i + n - 1]!
      for (const c of conceptOfPhrase.get(phrase) ?? []) if (forRoute || !routeOnly.has(c)) bump(c, fade)
    }
  }
  const trimmed = text.trim()
  const content = tokens.filter((t) => !stopWords.has(t.word))
  const plain = ws.filter((w) => !/^\d+$/.test(w))
  const isSmallTalk = !hasCode && plain.length > 0 && plain.length <= 12 && plain.every((w) => smallTalk.has(w))
  const isContinuation = continuation.test(trimmed) || (content.length <= 6 && anaphora.test(trimmed))
  if (!forRoute) {
    if (hasCode) bump("code", 1)
    if (hasDiff) bump("review", 1)
    if (hasLogs || /\b5\d\ds?\b/.test(prose)) bump("incident", 1)
    if (mathLike.test(prose)) bump("math", 1)
    if (personal.test(trimmed)) bump("casual", 1)
  }
  const asks = /\?\s*$/.test(trimmed) || /^(what|who|when|where|which|how|is|are|does|do|can|quick q)\b/i.test(trimmed)
  const shortQuestion = !hasCode && asks && content.length <= 8 && !isSmallTalk && !isContinuation
  return {
    tokens,
    concepts: conceptWeights,
    hasCode,
    hasDiff,
    hasLogs,
    smallTalk: isSmallTalk,
    shortQuestion,
    topicShift: topicShift.test(text),
    continuation: isContinuation,
    contentCount: content.length
  }
}

/** Features of a route's name, description and examples (no message-level flags). */
export const analyzeRouteText = (text: string) => analyze(text.replace(/_/g, " "), true)
