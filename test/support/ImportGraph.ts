import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

/**
 * The layers of `src/`, highest first. A module may import its own layer or any layer below it, never one above.
 * A new folder or top-level file must be given a place here before the layering test passes.
 */
export const layers: ReadonlyArray<{ readonly name: string; readonly members: ReadonlyArray<string> }> = [
  { name: "entry", members: ["main.ts", "index.ts"] },
  { name: "cli", members: ["cli/"] },
  { name: "reload", members: ["reload/"] },
  { name: "composition", members: ["Gateway.ts"] },
  { name: "http", members: ["http/"] },
  { name: "auth", members: ["auth/"] },
  { name: "routing", members: ["routing/"] },
  { name: "state", members: ["state/"] },
  { name: "pinning", members: ["pinning/"] },
  { name: "providers", members: ["providers/"] },
  { name: "errors", members: ["GatewayError.ts"] },
  { name: "translation", members: ["translation/"] },
  { name: "observability", members: ["observability/"] },
  { name: "config", members: ["config/"] },
  { name: "base", members: ["JsonValue.ts"] }
]

/** The layer index of a module path relative to `src/` (0 is the top), or -1 when it has no place. */
export const layerOf = (module: string): number =>
  layers.findIndex((layer) =>
    layer.members.some((member) => member.endsWith("/") ? module.startsWith(member) : module === member)
  )

const importPattern = /(?:^|\n)\s*(?:import|export)\s[^"']*?from\s+["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g

/** Relative imports (static, re-exports and dynamic) of one source text, as written. */
export const importsOf = (source: string): Array<string> => {
  const found: Array<string> = []
  for (const match of source.matchAll(importPattern)) found.push((match[1] ?? match[2])!)
  return found
}

/** Every module of a source tree (paths relative to it, `/`-separated) with the modules it imports. */
export const readGraph = (root: string): Map<string, Array<string>> => {
  const graph = new Map<string, Array<string>>()
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith(".ts")) {
        const module = relative(root, path).split("\\").join("/")
        const targets = importsOf(readFileSync(path, "utf8")).map((spec) =>
          relative(root, resolve(dirname(path), spec.replace(/\.js$/, ".ts"))).split("\\").join("/")
        )
        graph.set(module, targets)
      }
    }
  }
  walk(root)
  return graph
}

/** Imports that point up the layer order, or from/to a module with no layer. */
export const layerViolations = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<string> => {
  const problems: Array<string> = []
  for (const [from, targets] of graph) {
    const fromLayer = layerOf(from)
    if (fromLayer < 0) problems.push(`${from} has no layer: add its folder to test/support/ImportGraph.ts`)
    for (const to of targets) {
      const toLayer = layerOf(to)
      if (toLayer < 0) continue
      if (fromLayer >= 0 && toLayer < fromLayer) {
        problems.push(`${from} (${layers[fromLayer]!.name}) imports ${to} (${layers[toLayer]!.name}), a layer above it`)
      }
    }
  }
  return problems
}

/** Import circles, each as the list of modules around it (found by depth-first search). */
export const cycles = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<Array<string>> => {
  const found: Array<Array<string>> = []
  const state = new Map<string, "active" | "done">()
  const stack: Array<string> = []
  const visit = (node: string): void => {
    state.set(node, "active")
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue
      const seen = state.get(next)
      if (seen === "active") found.push([...stack.slice(stack.indexOf(next)), next])
      else if (seen === undefined) visit(next)
    }
    stack.pop()
    state.set(node, "done")
  }
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node)
  return found
}
