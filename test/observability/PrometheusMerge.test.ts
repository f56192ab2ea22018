import { assert, describe, it } from "@effect/vitest"
import * as PrometheusMerge from "../../src/observability/PrometheusMerge.js"

const worker = `# HELP a_total A counter
# TYPE a_total counter
a_total{api="chat"} 3
a_total 1
# HELP h A histogram
# TYPE h histogram
h_bucket{le="1"} 2
h_sum 0.5
h_count 2
# HELP g A gauge
# TYPE g gauge
g 7
`

describe("PrometheusMerge", () => {
  it("labels every sample with its process and writes each family once", () => {
    const merged = PrometheusMerge.merge("worker", [
      { value: "1", text: worker },
      { value: "2", text: worker.replace("a_total 1", "a_total 4") },
      { value: "primary", text: "# HELP p_total P\n# TYPE p_total counter\np_total 9\n" }
    ], (family, value) => family === "g" && value !== "1")
    assert.strictEqual(
      merged,
      [
        "# HELP a_total A counter",
        "# TYPE a_total counter",
        `a_total{worker="1",api="chat"} 3`,
        `a_total{worker="1"} 1`,
        `a_total{worker="2",api="chat"} 3`,
        `a_total{worker="2"} 4`,
        "# HELP h A histogram",
        "# TYPE h histogram",
        `h_bucket{worker="1",le="1"} 2`,
        `h_sum{worker="1"} 0.5`,
        `h_count{worker="1"} 2`,
        `h_bucket{worker="2",le="1"} 2`,
        `h_sum{worker="2"} 0.5`,
        `h_count{worker="2"} 2`,
        "# HELP g A gauge",
        "# TYPE g gauge",
        `g{worker="1"} 7`,
        "# HELP p_total P",
        "# TYPE p_total counter",
        `p_total{worker="primary"} 9`,
        ""
      ].join("\n")
    )
  })
})
