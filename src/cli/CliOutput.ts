import * as Effect from "effect/Effect"

/** Writes a line to stdout. */
export const out = (text: string) => Effect.sync(() => void process.stdout.write(`${text}\n`))
/** Writes a line to stderr. */
export const err = (text: string) => Effect.sync(() => void process.stderr.write(`${text}\n`))

/** Right-pads text with spaces to a width. */
export const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - text.length))

/** Aligns rows into columns; the last cell of a row is not padded. */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>, indent = "  "): Array<string> => {
  const widths: Array<number> = []
  for (const row of rows) row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length))
  return rows.map((row) =>
    indent + row.map((cell, i) => i === row.length - 1 ? cell : pad(cell, widths[i]!)).join("  ").trimEnd()
  )
}
