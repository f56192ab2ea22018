import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import { startGateway } from "../support/TestGateway.js"

// Issue 18: failures were logged on stdout with the access lines. Warnings and errors go to stderr (console.warn and
// console.error write there); info stays on stdout.

afterEach(() => {
  vi.restoreAllMocks()
})

describe("the standalone server's logger", () => {
  it("writes warnings to stderr and info to stdout", async () => {
    const out: Array<string> = []
    const err: Array<string> = []
    vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => void out.push(args.join(" ")))
    vi.spyOn(console, "info").mockImplementation((...args: Array<unknown>) => void out.push(args.join(" ")))
    vi.spyOn(console, "warn").mockImplementation((...args: Array<unknown>) => void err.push(args.join(" ")))
    vi.spyOn(console, "error").mockImplementation((...args: Array<unknown>) => void err.push(args.join(" ")))
    const gateway = await startGateway(`
version: v0.4.0
listeners: [{ type: model, name: model_listener, port: 12000 }]
model_providers:
  - model: openai/gpt-4o-mini
    base_url: http://127.0.0.1:9
    access_key: k
    default: true
prompt_targets: [{ name: lookup }]
`)
    await gateway.close()
    const warned = err.some((line) => line.includes("level=WARN") && line.includes("ignoring Plano keys"))
    assert.isTrue(warned, err.join("\n"))
    assert.isFalse(out.some((line) => line.includes("level=WARN")), out.join("\n"))
    assert.isTrue(out.some((line) => line.includes("listening on")), out.join("\n"))
  })
})
