import * as Redacted from "effect/Redacted"
import { type Collector, unknownKey } from "./ConfigIssue.js"
import { isRecord, show } from "./ConfigSchema.js"
import type { StateStorageSettings } from "./GatewayConfig.js"

const keys = ["type", "connection_string"]

/** `state_storage` (Plano: `/v1/responses` conversation state): memory, or PostgreSQL at `connection_string`. */
export const resolveStateStorage = (value: unknown, collector: Collector): StateStorageSettings | undefined => {
  if (value === undefined || value === null) return undefined
  if (!isRecord(value)) {
    collector.add(["state_storage"], `expected a mapping {type: memory | postgres, connection_string}, got ${show(value)}`)
    return undefined
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) collector.add(["state_storage", key], unknownKey(key, keys.join(", ")))
  }
  const type = value["type"]
  if (type === "memory") return { type: "memory" }
  if (type !== "postgres") {
    collector.add(["state_storage", "type"], `expected memory or postgres, got ${show(type)}`)
    return undefined
  }
  const url = value["connection_string"]
  if (typeof url !== "string" || !/^postgres(ql)?:\/\/./i.test(url)) {
    // A connection string may carry a password, so only a non-string is echoed.
    const got = typeof url === "string" ? "" : `, got ${show(url)}`
    collector.add(
      ["state_storage", "connection_string"],
      `expected a postgres:// or postgresql:// URL (e.g. $DATABASE_URL) with type: postgres${got}`
    )
    return undefined
  }
  return { type: "postgres", connectionString: Redacted.make(url) }
}
