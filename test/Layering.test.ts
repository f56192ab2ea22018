import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"
import { cycles, importsOf, layerViolations, readGraph } from "./support/ImportGraph.js"

const src = fileURLToPath(new URL("../src", import.meta.url))

describe("the shape of src/", () => {
  const graph = readGraph(src)

  it("imports point down the layer order only", () => {
    assert.deepStrictEqual(layerViolations(graph), [])
  })

  it("has no import circle", () => {
    assert.deepStrictEqual(cycles(graph).map((cycle) => cycle.join(" -> ")), [])
  })

  it("has no file over 450 lines", () => {
    const long: Array<string> = []
    for (const module of graph.keys()) {
      const lines = readFileSync(join(src, module), "utf8").split("\n").length
      if (lines > 450) long.push(`${module}: ${lines} lines`)
    }
    assert.deepStrictEqual(long, [])
  })

  it("keeps tests beside their folder: every test folder names a src folder", () => {
    const testDirs = readdirSync(fileURLToPath(new URL(".", import.meta.url)), { withFileTypes: true })
      .filter((entry) =>
        entry.isDirectory() && entry.name !== "support" && entry.name !== "fixtures" && entry.name !== "faults"
      )
      .map((entry) => entry.name)
    const srcDirs = new Set(
      readdirSync(src, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name)
    )
    assert.deepStrictEqual(testDirs.filter((dir) => !srcDirs.has(dir)), [])
  })
})

describe("the layering checker", () => {
  it("reads static, type-only, re-export and dynamic imports", () => {
    const source = [
      `import * as A from "./A.js"`,
      `import type { B } from "../b/B.js"`,
      `export { C } from "./C.js"`,
      `const d = await import("./D.js")`,
      `import * as Effect from "effect/Effect"`
    ].join("\n")
    assert.deepStrictEqual(importsOf(source), ["./A.js", "../b/B.js", "./C.js", "./D.js"])
  })

  it("rejects an import that points up the layers", () => {
    const graph = new Map([["config/ConfigFile.ts", ["http/ProxyHandler.ts"]], ["http/ProxyHandler.ts", []]])
    assert.deepStrictEqual(layerViolations(graph), [
      "config/ConfigFile.ts (config) imports http/ProxyHandler.ts (http), a layer above it"
    ])
  })

  it("rejects a module in a folder that has no layer", () => {
    assert.strictEqual(layerViolations(new Map([["utils/Misc.ts", []]])).length, 1)
  })

  it("finds a circle inside one layer", () => {
    const graph = new Map([
      ["config/A.ts", ["config/B.ts"]],
      ["config/B.ts", ["config/C.ts"]],
      ["config/C.ts", ["config/A.ts"]]
    ])
    assert.deepStrictEqual(cycles(graph), [["config/A.ts", "config/B.ts", "config/C.ts", "config/A.ts"]])
  })
})
