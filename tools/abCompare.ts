// An interleaved A/B of two gateway builds on one shared machine: both run at once against one mock upstream and take
// turns under load, so the machine's drifting background load hits both alike. Reports gateway CPU µs per request.
// usage: tsx tools/abCompare.ts <dist/main.js of A> <dist/main.js of B> [--rounds N] [--seconds S] [--yaml-b TEXT]
// (--yaml-b: YAML appended to B's config only, e.g. "observability:\n  access_log: false")
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { cpuMicros, runLoad, startServer } from "./benchSupport.js"
import type { ServerProcess } from "./benchSupport.js"

const argv = process.argv.slice(2)
const opt = (name: string, fallback: number) => {
  const i = argv.indexOf(name)
  return i < 0 ? fallback : Number(argv[i + 1])
}
const [mainA, mainB] = argv
if (mainA === undefined || mainB === undefined) throw new Error("usage: abCompare.ts A/dist/main.js B/dist/main.js")
const rounds = opt("--rounds", 6)
const seconds = opt("--seconds", 3)
const yamlB = (() => {
  const i = argv.indexOf("--yaml-b")
  return i < 0 ? "" : (argv[i + 1] ?? "").replace(/\\n/g, "\n") + "\n"
})()
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const body = JSON.stringify({ model: "openai/mock-model", messages: [{ role: "user", content: "hello there" }] })

const main = async () => {
  const tmp = mkdtempSync(join(tmpdir(), "switchyard-ab-"))
  const servers: Array<ServerProcess> = []
  try {
    const mock = await startServer(
      "mock",
      [process.execPath, "--import", "tsx", join(root, "tools/benchMockUpstream.ts"), "--port", "0"],
      { cpu: undefined, cwd: root }
    )
    servers.push(mock)
    const file = join(tmp, "ab.yaml")
    writeFileSync(
      file,
      `version: v0.4.0\nlisteners:\n  - type: model\n    name: m\n    address: 127.0.0.1\nmodel_providers:\n` +
        `  - model: openai/mock-model\n    base_url: ${mock.origin}\n    default: true\n`
    )
    const fileB = join(tmp, "ab-b.yaml")
    writeFileSync(fileB, readFileSync(file, "utf8") + yamlB)
    const gateways: Array<[string, ServerProcess]> = []
    for (const [name, main] of [["A", mainA], ["B", mainB]] as const) {
      const config = name === "B" ? fileB : file
      const server = await startServer(name, [process.execPath, main, "--config", config, "--port", "0"], {
        cpu: undefined,
        cwd: root
      })
      servers.push(server)
      gateways.push([name, server])
      await runLoad({ url: `${server.origin}/v1/chat/completions`, body, connections: 32, durationS: 2 })
    }
    const perReq: Record<string, Array<number>> = { A: [], B: [] }
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? gateways : [...gateways].reverse()
      for (const [name, server] of order) {
        const before = cpuMicros(server.pid) ?? 0
        const load = await runLoad({ url: `${server.origin}/v1/chat/completions`, body, connections: 32, durationS: seconds })
        const used = (cpuMicros(server.pid) ?? 0) - before
        perReq[name]!.push(used / Math.max(1, load.ok))
        process.stdout.write(`round ${r} ${name}: ${Math.round(load.rps)} req/s, ${Math.round(used / load.ok)} µs/req\n`)
      }
    }
    const median = (xs: Array<number>) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    process.stdout.write(
      `median gateway CPU µs/req at c=32 (json): A ${Math.round(median(perReq.A!))}, B ${Math.round(median(perReq.B!))}\n`
    )
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
    rmSync(tmp, { recursive: true, force: true })
  }
}

void main()
