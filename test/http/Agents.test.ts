import { Agent, OpenAIProvider, Runner, tool } from "@openai/agents"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { z } from "zod"
import { multiApi, SUNNY } from "../support/MockResponses.js"
import { startMock } from "../support/MockUpstream.js"
import type { MockUpstream } from "../support/MockUpstream.js"
import { startGateway } from "../support/TestGateway.js"
import type { TestGateway } from "../support/TestGateway.js"

const CHAT = "mistral/mistral-large-latest"
const CLAUDE = "anthropic/claude-sonnet-4-20250514"

let mock: MockUpstream
let gateway: TestGateway

beforeAll(async () => {
  mock = await startMock(multiApi())
  gateway = await startGateway(`
version: v0.4.0
listeners:
  - type: model
    name: m
    port: 12000
model_providers:
  - model: ${CHAT}
    access_key: k
    base_url: ${mock.url}
    default: true
  - model: ${CLAUDE}
    access_key: k
    base_url: ${mock.url}
`)
})

afterAll(async () => {
  await gateway?.close()
  await mock?.close()
})

describe("the OpenAI Agents SDK (@openai/agents) over /v1/responses", () => {
  for (const model of [CHAT, CLAUDE]) {
    for (const stream of [false, true]) {
      it.live(`one tool-using agent turn (${model}, ${stream ? "streamed" : "not streamed"})`, () =>
        Effect.promise(async () => {
          const cities: Array<string> = []
          const getWeather = tool({
            name: "get_weather",
            description: "Current weather of a city",
            parameters: z.object({ city: z.string() }),
            execute: ({ city }) => {
              cities.push(city)
              return "{\"sky\":\"clear\"}"
            }
          })
          const agent = new Agent({ name: "weather", instructions: "Answer briefly.", model, tools: [getWeather] })
          const runner = new Runner({
            modelProvider: new OpenAIProvider({ baseURL: `${gateway.url}/v1`, apiKey: "client-key", useResponses: true }),
            tracingDisabled: true
          })
          const before = mock.requests.length
          let output: unknown
          if (stream) {
            const result = await runner.run(agent, "What is the weather in Oslo?", { stream: true })
            await result.completed
            output = result.finalOutput
          } else {
            output = (await runner.run(agent, "What is the weather in Oslo?")).finalOutput
          }
          assert.deepStrictEqual(cities, ["Oslo"])
          assert.strictEqual(output, SUNNY)
          assert.strictEqual(mock.requests.length - before, 2)
        }))
    }
  }
})
