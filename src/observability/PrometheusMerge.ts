/** One process's Prometheus text and the value of the label that tells it apart. */
export interface LabelledText {
  readonly value: string
  readonly text: string
}

interface Family {
  readonly header: Array<string>
  readonly samples: Array<string>
}

const escapeValue = (text: string) => text.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"").replaceAll("\n", "\\n")

const withLabel = (sample: string, label: string): string => {
  const brace = sample.indexOf("{")
  const space = sample.indexOf(" ")
  if (brace >= 0 && (space < 0 || brace < space)) {
    const rest = sample.slice(brace + 1)
    return `${sample.slice(0, brace)}{${label}${rest.startsWith("}") ? "" : ","}${rest}`
  }
  return space < 0 ? sample : `${sample.slice(0, space)}{${label}}${sample.slice(space)}`
}

/**
 * Merges the Prometheus texts of several processes into one exposition: each sample gains the label `name="value"`
 * of its process, and each metric family is written once (its HELP and TYPE from the first text that has it).
 * `skip(family, value)` leaves a family of one process out (e.g. a gauge every process reports alike).
 */
export const merge = (
  name: string,
  texts: ReadonlyArray<LabelledText>,
  skip: (family: string, value: string) => boolean = () => false
): string => {
  const families = new Map<string, Family>()
  for (const { text, value } of texts) {
    const label = `${name}="${escapeValue(value)}"`
    let current: Family | undefined
    let skipping = false
    for (const line of text.split("\n")) {
      if (line === "") continue
      if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
        const family = line.slice(7).split(" ", 1)[0]!
        skipping = skip(family, value)
        if (skipping) continue
        current = families.get(family)
        if (current === undefined) {
          current = { header: [], samples: [] }
          families.set(family, current)
        }
        if (!current.header.some((h) => h.slice(0, 7) === line.slice(0, 7))) current.header.push(line)
        continue
      }
      if (line.startsWith("#") || skipping) continue
      if (current === undefined) {
        current = { header: [], samples: [] }
        families.set(line.split(/[{ ]/, 1)[0]!, current)
      }
      current.samples.push(withLabel(line, label))
    }
  }
  const out: Array<string> = []
  for (const family of families.values()) out.push(...family.header, ...family.samples)
  return out.join("\n") + "\n"
}
