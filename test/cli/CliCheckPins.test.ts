import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { openAiJson, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { configFile, startLive } from "../support/LiveTestGateway.js"

const CODE = "Write a Python function that parses a CSV file and returns a list of dictionaries."
const REASONING = "Compare PostgreSQL and MongoDB for an e-commerce platform and explain the trade-offs step by step."

const configOf = (upstream: string, code: string, providers: ReadonlyArray<string>) => `version: v0.4.0
listeners: [{ type: model, name: model_listener, port: 12000, address: 127.0.0.1 }]
model_providers:
${providers.map((p) => `  - model: ${p}\n    base_url: ${upstream}\n    access_key: test-key\n`).join("")}\
routing_preferences:
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models: [${code}]
  - name: complex_reasoning
    description: complex reasoning tasks, multi-step analysis, or detailed explanations
    models: [openai/gpt-4.1]
`

const cli = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const env = { PATH: process.env.PATH ?? "" }
    execFile(process.execPath, ["dist/main.js", ...args], { env }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }))
  })

describe("switchyard check --against / --pins", () => {
  let mock: MockUpstream
  beforeAll(async () => {
    mock = await startMock(openAiJson())
  })
  afterAll(() => mock.close())

  it("lists the live pins a new config would drop, before reloading", async () => {
    const all = ["openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-4.1"]
    const live = await startLive(configOf(mock.url, "openai/gpt-4o", all))
    const next = await configFile(configOf(mock.url, "openai/gpt-4.1", ["openai/gpt-4o-mini", "openai/gpt-4.1"]))
    try {
      const ask = (content: string, session: string) =>
        fetch(`${live.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-routing-session-id": session },
          body: JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content }] })
        }).then((r) => r.text())
      await ask(CODE, "coder-7")
      await ask(REASONING, "thinker-3")

      const against = await cli(["check", next.path, "--against", live.url])
      assert.strictEqual(against.code, 0, against.stderr)
      assert.include(against.stdout, `pins of ${live.url}: 1 kept, 1 dropped on reload`)
      assert.match(against.stdout, /coder-7\s+model openai\/gpt-4o is no longer served/)
      assert.notInclude(against.stdout, "thinker-3")

      const saved = path.join(path.dirname(next.path), "pins.json")
      await fs.writeFile(saved, await (await fetch(`${live.url}/v1/routing/sessions`)).text())
      const fromFile = await cli(["check", next.path, "--pins", saved])
      assert.strictEqual(fromFile.code, 0, fromFile.stderr)
      assert.include(fromFile.stdout, `pins of ${saved}: 1 kept, 1 dropped on reload`)

      // What check predicted is what the reload does.
      await live.file.write(await fs.readFile(next.path, "utf8"))
      assert.deepStrictEqual((await live.reload()).body.pins, { kept: 1, dropped: 1 })

      const unreachable = await cli(["check", next.path, "--against", "http://127.0.0.1:9"])
      assert.strictEqual(unreachable.code, 1)
      assert.include(unreachable.stderr, "cannot read the pins of http://127.0.0.1:9")
    } finally {
      await live.close()
      await next.remove()
    }
  })
})
