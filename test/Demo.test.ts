import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

describe("npm run demo (tools/demo.ts)", () => {
  it("without keys: the unpinned run switches models and the pinned run holds one", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" }
    delete env.OPENAI_API_KEY
    delete env.ANTHROPIC_API_KEY
    const started = performance.now()
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(root, "node_modules/tsx/dist/cli.mjs"), "tools/demo.ts"],
        { cwd: root, env, timeout: 30_000 },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
      )
    })
    const seconds = (performance.now() - started) / 1000
    assert.strictEqual(result.code, 0, `${result.stdout}\n${result.stderr}`)
    assert.isBelow(seconds, 30)
    const out = result.stdout
    assert.include(out, "completions come from a local simulated provider")
    const switched = /✗ Without pinning: model switched (\d+) time\(s\)/.exec(out)
    assert.isNotNull(switched, out)
    assert.isAtLeast(Number(switched![1]), 2, out)
    assert.match(out, /✓ With pinning: \S+ held for all 5 steps/)
    assert.strictEqual(out.match(/^ {2}step \d /gm)?.length, 10)
    assert.include(out, "══ Final Report (pinned session)")
    // The simulated answers name the model that served them: the pinned run's report comes from the held model.
    const held = /✓ With pinning: (\S+) held/.exec(out)![1]!
    const report = out.slice(out.indexOf("══ Final Report"))
    assert.include(report, `[${held}]`)
  }, 40_000)
})
