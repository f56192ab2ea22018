import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import { openAiJson, openAiStream, startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { configFile, spawnGateway, startLive } from "../support/LiveTestGateway.js"
import { routingOf } from "../support/RoutingHeaders.js"

const CODE = "Write a Python function that parses a CSV file and returns a list of dictionaries."
const REASONING = "Compare PostgreSQL and MongoDB for an e-commerce platform and explain the trade-offs step by step."

interface Shape {
  readonly code?: string
  readonly reasoning?: string
  readonly providers?: ReadonlyArray<string>
  readonly port?: number
  readonly tail?: string
}

const configOf = (upstream: string, shape: Shape = {}) => {
  const providers = shape.providers ?? ["openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-4.1"]
  return `version: v0.4.0
listeners:
  - type: model
    name: model_listener
    port: ${shape.port ?? 12000}
    address: 127.0.0.1
model_providers:
${
    providers.map((p, i) =>
      `  - model: ${p}\n    base_url: ${upstream}\n    access_key: test-key\n${i === 0 ? "    default: true\n" : ""}`
    ).join("")
  }routing_preferences:
  - name: code_generation
    description: generating new code, writing functions, or creating boilerplate
    models: [${shape.code ?? "openai/gpt-4o"}]
  - name: complex_reasoning
    description: complex reasoning tasks, multi-step analysis, or detailed explanations
    models: [${shape.reasoning ?? "openai/gpt-4.1"}]
${shape.tail ?? ""}`
}

const ask = async (url: string, content: string, session?: string) => {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 })
  const { data, response } = await client.chat.completions.create(
    { model: "openai/gpt-4o-mini", messages: [{ role: "user", content }] },
    session === undefined ? {} : { headers: { "x-routing-session-id": session } }
  ).withResponse()
  return { content: data.choices[0]!.message.content, ...routingOf(response) }
}

const until = async (check: () => Promise<boolean>, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe("live config reload", () => {
  let mock: MockUpstream
  beforeAll(async () => {
    mock = await startMock(openAiJson())
  })
  afterAll(() => mock.close())

  it("POST /admin/v1/config/reload applies a new config to new requests", async () => {
    const live = await startLive(configOf(mock.url))
    try {
      assert.strictEqual((await ask(live.url, CODE)).model, "openai/gpt-4o")
      await live.file.write(configOf(mock.url, { code: "openai/gpt-4.1" }))
      const answer = await live.reload()
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.body.status, "reloaded")
      assert.isAbove(Number(answer.body.generation), Number(answer.body.previous_generation))
      const after = await ask(live.url, CODE)
      assert.strictEqual(after.model, "openai/gpt-4.1")
      assert.strictEqual(after.content, "served by gpt-4.1")
    } finally {
      await live.close()
    }
  })

  it("the reload endpoint needs routing.admin_key when one is set", async () => {
    const tail = "routing:\n  admin_key: reload-secret\n"
    const live = await startLive(configOf(mock.url, { tail }))
    try {
      await live.file.write(configOf(mock.url, { code: "openai/gpt-4.1", tail }))
      assert.strictEqual((await live.reload()).status, 401)
      assert.strictEqual((await live.reload("wrong")).status, 401)
      assert.strictEqual((await ask(live.url, CODE)).model, "openai/gpt-4o")
      assert.strictEqual((await live.reload("reload-secret")).status, 200)
      assert.strictEqual((await ask(live.url, CODE)).model, "openai/gpt-4.1")
    } finally {
      await live.close()
    }
  })

  it("a change to the watched file reloads it (debounced)", async () => {
    const live = await startLive(configOf(mock.url), { watch: true })
    try {
      assert.strictEqual((await ask(live.url, CODE)).model, "openai/gpt-4o")
      // Several writes in a burst: the watch waits for quiet, then loads the last one.
      await live.file.write(configOf(mock.url, { code: "openai/gpt-4o-mini" }))
      await live.file.write(configOf(mock.url, { code: "openai/gpt-4.1" }))
      await until(async () => (await ask(live.url, CODE)).model === "openai/gpt-4.1")
    } finally {
      await live.close()
    }
  })

  it("SIGHUP reloads the config of the gateway process; --no-watch ignores file changes", async () => {
    const file = await configFile(configOf(mock.url))
    const gateway = await spawnGateway(file.path, ["--no-watch"])
    try {
      assert.strictEqual((await ask(gateway.url, CODE)).model, "openai/gpt-4o")
      await file.write(configOf(mock.url, { code: "openai/gpt-4.1" }))
      await new Promise((r) => setTimeout(r, 400))
      assert.strictEqual((await ask(gateway.url, CODE)).model, "openai/gpt-4o")
      gateway.child.kill("SIGHUP")
      await gateway.waitFor(/config reloaded/)
      assert.strictEqual((await ask(gateway.url, CODE)).model, "openai/gpt-4.1")
      assert.strictEqual(await gateway.stop(), 0)
    } finally {
      await gateway.stop()
      await file.remove()
    }
  })

  it("a pinned 5-step loop keeps its model across a reload that changes another route", async () => {
    const live = await startLive(configOf(mock.url))
    try {
      const steps = []
      for (let i = 0; i < 2; i++) steps.push(await ask(live.url, i === 0 ? CODE : REASONING, "loop-1"))
      await live.file.write(configOf(mock.url, { reasoning: "openai/gpt-4o-mini" }))
      const answer = await live.reload()
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(answer.body.pins, { kept: 1, dropped: 0 })
      for (let i = 2; i < 5; i++) steps.push(await ask(live.url, i % 2 === 0 ? REASONING : CODE, "loop-1"))
      assert.deepStrictEqual(steps.map((s) => s.model), Array(5).fill("openai/gpt-4o"))
      assert.deepStrictEqual(steps.map((s) => s.pin), ["created", "hit", "hit", "hit", "hit"])
      // The changed route does apply to a new session.
      assert.strictEqual((await ask(live.url, REASONING, "loop-2")).model, "openai/gpt-4o-mini")
    } finally {
      await live.close()
    }
  })

  it("a reload that removes the pinned model re-pins the session with repinned_config_changed", async () => {
    const live = await startLive(configOf(mock.url))
    try {
      assert.strictEqual((await ask(live.url, CODE, "gone-1")).model, "openai/gpt-4o")
      assert.strictEqual((await ask(live.url, REASONING, "stays-1")).model, "openai/gpt-4.1")
      await live.file.write(
        configOf(mock.url, { code: "openai/gpt-4.1", providers: ["openai/gpt-4o-mini", "openai/gpt-4.1"] })
      )
      const answer = await live.reload()
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(answer.body.pins, { kept: 1, dropped: 1 })
      const next = await ask(live.url, CODE, "gone-1")
      assert.strictEqual(next.model, "openai/gpt-4.1")
      assert.strictEqual(next.reason, "repinned_config_changed")
      assert.strictEqual(next.pin, "created")
      const again = await ask(live.url, CODE, "gone-1")
      assert.strictEqual(again.reason, "pinned")
      const kept = await ask(live.url, CODE, "stays-1")
      assert.deepStrictEqual([kept.model, kept.reason], ["openai/gpt-4.1", "pinned"])
    } finally {
      await live.close()
    }
  })

  it("a pin whose provider name now serves another model id is dropped too", async () => {
    const named = (id: string) =>
      configOf(mock.url, { providers: ["openai/gpt-4o-mini", "openai/gpt-4.1"], code: "coder" }).replace(
        "routing_preferences:",
        `  - name: coder\n    model: openai/${id}\n    base_url: ${mock.url}\n    access_key: test-key\n` +
          "routing_preferences:"
      )
    const live = await startLive(named("gpt-4o"))
    try {
      const first = await ask(live.url, CODE, "named-1")
      assert.deepStrictEqual([first.model, first.content], ["coder", "served by gpt-4o"])
      await live.file.write(named("o3"))
      assert.deepStrictEqual((await live.reload()).body.pins, { kept: 0, dropped: 1 })
      const next = await ask(live.url, CODE, "named-1")
      assert.deepStrictEqual([next.content, next.reason], ["served by o3", "repinned_config_changed"])
    } finally {
      await live.close()
    }
  })

  it("an invalid file is rejected with 400 and path-named issues; the running config stays", async () => {
    const live = await startLive(configOf(mock.url))
    try {
      await live.file.write(configOf(mock.url, { code: "openai/nope-model" }))
      const answer = await live.reload()
      assert.strictEqual(answer.status, 400)
      const error = answer.body.error as { code: string; issues: Array<{ path: string; message: string }> }
      assert.strictEqual(error.code, "invalid_config")
      assert.strictEqual(error.issues[0]!.path, "routing_preferences[0].models[0]")
      assert.include(error.issues[0]!.message, "nope-model")
      assert.strictEqual((await ask(live.url, CODE)).model, "openai/gpt-4o")

      await live.file.write("version: v0.4.0\nlisteners: [oops")
      const broken = await live.reload()
      assert.strictEqual(broken.status, 400)
      assert.isAbove((broken.body.error as { issues: Array<unknown> }).issues.length, 0)

      await live.file.write(configOf(mock.url, { code: "openai/gpt-4.1", port: 12001 }))
      const moved = await live.reload()
      assert.strictEqual(moved.status, 400)
      assert.include(JSON.stringify(moved.body), "cannot change live")
      assert.strictEqual((await ask(live.url, CODE)).model, "openai/gpt-4o")
    } finally {
      await live.close()
    }
  })

  it("an in-flight streamed request finishes on the old config while new requests use the new one", async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const gated = await startMock((req, res, raw) => {
      const model = String(req.body.model)
      if (model === "gpt-4o") return openAiStream(["served ", "by ", "gpt-4o"], () => gate)(req, res, raw)
      return openAiJson()(req, res, raw)
    })
    const live = await startLive(configOf(gated.url))
    try {
      const client = new OpenAI({ baseURL: `${live.url}/v1`, apiKey: "unused", maxRetries: 0 })
      const { data: stream, response } = await client.chat.completions.create({
        model: "openai/gpt-4o-mini",
        messages: [{ role: "user", content: CODE }],
        stream: true
      }).withResponse()
      assert.strictEqual(response.headers.get("x-routing-model"), "openai/gpt-4o")
      // The new config does not even serve gpt-4o: the stream still ends on the generation it started on.
      const providers = ["openai/gpt-4o-mini", "openai/gpt-4.1"]
      await live.file.write(configOf(gated.url, { code: "openai/gpt-4.1", providers }))
      assert.strictEqual((await live.reload()).status, 200)
      assert.strictEqual((await ask(live.url, CODE)).model, "openai/gpt-4.1")
      release()
      let text = ""
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
      assert.strictEqual(text, "served by gpt-4o")
    } finally {
      release()
      await live.close()
      await gated.close()
    }
  })

  it("100 concurrent requests during 20 reloads: none fails, each is served by the old or the new config", async () => {
    const slow = await startMock((req, res, raw) => {
      setTimeout(() => void openAiJson()(req, res, raw), 50 + Math.floor(Math.random() * 200))
    })
    const versions = [configOf(slow.url), configOf(slow.url, { code: "openai/gpt-4.1" })]
    const live = await startLive(versions[0]!)
    try {
      // Five requests start after each reload (the first five at once), each held 50–250 ms upstream, so the 100
      // overlap one another and the reloads however slow the machine is.
      const reloaded = Array.from({ length: 20 }, () => {
        let done: () => void = () => undefined
        const promise = new Promise<void>((resolve) => {
          done = resolve
        })
        return { promise, done }
      })
      const requests = Array.from({ length: 100 }, async (_, i) => {
        const wave = Math.floor(i / 5)
        if (wave > 0) await reloaded[wave - 1]!.promise
        return ask(live.url, CODE)
      })
      const reloads = (async () => {
        const answers = []
        for (let i = 1; i <= 20; i++) {
          await live.file.write(versions[i % 2]!)
          answers.push(await live.reload())
          reloaded[i - 1]!.done()
        }
        return answers
      })()
      const [results, answers] = await Promise.all([Promise.all(requests), reloads])
      assert.deepStrictEqual(answers.map((a) => a.status), Array(20).fill(200))
      const generations = answers.map((a) => Number(a.body.generation))
      assert.deepStrictEqual(generations, [...generations].sort((a, b) => a - b))
      assert.strictEqual(new Set(generations).size, 20)
      assert.strictEqual(results.length, 100)
      for (const result of results) {
        assert.oneOf(result.model, ["openai/gpt-4o", "openai/gpt-4.1"])
        assert.strictEqual(result.content, `served by ${result.model!.slice("openai/".length)}`)
      }
      // Both configs served some of them (the reloads really overlapped the traffic).
      assert.strictEqual(new Set(results.map((r) => r.model)).size, 2)
    } finally {
      await live.close()
      await slow.close()
    }
  })
})
