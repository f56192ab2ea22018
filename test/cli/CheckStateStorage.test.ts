import { afterAll, assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))
const tmp = mkdtempSync(join(tmpdir(), "switchyard-state-check-"))

afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const check = (path: string, env: Record<string, string>) =>
  new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(root, "dist", "main.js"), "check", path],
      { cwd: root, env: { ...process.env, NO_COLOR: "1", ...env }, timeout: 20_000 },
      (error, stdout) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout })
    )
  })

const plano = (state: string) => `version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: 12000
model_providers:
  - model: anthropic/claude-sonnet-4-20250514
    access_key: $ANTHROPIC_API_KEY
    default: true
${state}`

describe("switchyard check reports state_storage", () => {
  it("memory and postgres (Plano configs, unchanged)", async () => {
    const memory = join(tmp, "memory.yaml")
    const postgres = join(tmp, "postgres.yaml")
    writeFileSync(memory, plano("state_storage:\n  type: memory\n"))
    writeFileSync(postgres, plano("state_storage:\n  type: postgres\n  connection_string: $DATABASE_URL\n"))
    const env = { ANTHROPIC_API_KEY: "k", DATABASE_URL: "postgres://plano:pw-hidden@127.0.0.1:5432/plano" }
    const [m, p] = await Promise.all([check(memory, env), check(postgres, env)])
    assert.strictEqual(m.code, 0)
    assert.match(m.stdout, /state\s+memory/)
    assert.strictEqual(p.code, 0)
    assert.match(p.stdout, /state\s+postgres 127\.0\.0\.1:5432\/plano/)
    assert.notInclude(p.stdout, "pw-hidden")
    assert.notInclude(p.stdout + m.stdout, "ignored")
  })
})
