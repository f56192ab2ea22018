import * as fs from "node:fs"
import { fileURLToPath } from "node:url"

/** `../shared/routing-eval` beside the repository (as CI lays it out), else the workplace's copy. */
export const routingEvalDir = (): string => {
  const candidates = [fileURLToPath(new URL("../../../shared/routing-eval", import.meta.url)), "/work/shared/routing-eval"]
  const found = candidates.find((dir) => fs.existsSync(`${dir}/dev.jsonl`))
  if (found === undefined) throw new Error(`routing-eval dev set not found in ${candidates.join(" or ")}`)
  return found
}

/** One labelled case of the dev set. */
export interface DevCase {
  readonly id: string
  readonly routeset: string
  readonly expected: string | null
  readonly kind: string
  readonly messages: ReadonlyArray<Record<string, unknown>>
}

/** The routesets and cases of the dev set. */
export const loadDevSet = () => {
  const dir = routingEvalDir()
  const routesets = JSON.parse(fs.readFileSync(`${dir}/routesets.json`, "utf8")) as Record<
    string,
    ReadonlyArray<{ name: string; description: string }>
  >
  const cases = fs.readFileSync(`${dir}/dev.jsonl`, "utf8").split("\n").filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as DevCase)
  return { routesets, cases }
}
