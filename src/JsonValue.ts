/** A JSON object as parsed from the wire: fields not yet checked. */
export type JsonObject = Record<string, unknown>

/** True for a JSON object (not an array, not null). */
export const isRecord = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The value if it is a string, else undefined. */
export const stringOr = (value: unknown): string | undefined => typeof value === "string" ? value : undefined

/** The value if it is a finite number, else undefined. */
export const numberOr = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined

/** The value if it is a string of at least one character, else undefined. */
export const nonEmpty = (value: unknown): string | undefined =>
  typeof value === "string" && value.length > 0 ? value : undefined

/** True unless the field is absent or null. */
export const present = (value: unknown): boolean => value !== undefined && value !== null
