import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { spawnChild, stopChild } from "./support/ChildProcesses.js"
import { chatCompletion, startMock } from "./support/MockUpstream.js"

// The built program: `node dist/main.js --config FILE --port 0` logs its address, serves until a signal, then lets
// in-flight requests finish and exits 0.
const configFor = (mock: string) => `
version: v0.4.0
listeners: [{ type: model, name: model_listener, port: 12000, address: 127.0.0.1 }]
model_providers:
  - model: openai/gpt-4o-mini
    base_url: ${mock}
    access_key: sk-test
    default: true
tracing: { random_sampling: 100 }
`

describe("the gateway process", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`drains in-flight requests on ${signal} and exits 0`, async () => {
      const mock = await startMock((req, res) => {
        setTimeout(() => {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify(chatCompletion(String(req.body.model), "slow answer")))
        }, 600)
      })
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "switchyard-"))
      const file = path.join(dir, "config.yaml")
      await fs.writeFile(file, configFor(mock.url))
      const child = spawnChild(process.execPath, ["dist/main.js", "--config", file, "--port", "0"], {
        env: { ...process.env, SWITCHYARD_PORT: "" }
      })
      try {
        let output = ""
        const url = await new Promise<string>((resolve, reject) => {
          const onData = (chunk: Buffer) => {
            output += chunk.toString()
            const match = /listening on (http:\/\/[^\s"]+)/.exec(output)
            if (match !== null) resolve(match[1]!)
          }
          child.stdout!.on("data", onData)
          child.stderr!.on("data", onData)
          child.once("exit", (code) => reject(new Error(`exited ${code}: ${output}`)))
        })
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
        assert.include(output, "tracing.random_sampling is set but no trace endpoint is")
        const inFlight = fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] })
        })
        while (mock.requests.length === 0) await new Promise((r) => setTimeout(r, 10))
        const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
        child.kill(signal)
        const response = await inFlight
        assert.strictEqual(response.status, 200)
        const body = await response.json() as { choices: Array<{ message: { content: string } }> }
        assert.strictEqual(body.choices[0]!.message.content, "slow answer")
        assert.strictEqual(await exited, 0)
      } finally {
        await stopChild(child)
        await mock.close()
      }
    })
  }
})
