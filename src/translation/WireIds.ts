import { randomFillSync } from "node:crypto"

// Random bytes are drawn 4 KiB at a time: one `randomBytes` call per id measured as a sixth of a translated
// stream's CPU. The ids only need to be unique and unguessable enough to not collide, not secret.
const pool = Buffer.allocUnsafe(4096)
let offset = pool.length

/** `bytes` random bytes as lowercase hex. */
export const randomHex = (bytes: number): string => {
  if (offset + bytes > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const hex = pool.toString("hex", offset, offset + bytes)
  offset += bytes
  return hex
}

/** A fresh id with the target API's prefix (`msg_`, `toolu_`, `chatcmpl-`, `call_`) when the upstream sent none. */
export const randomId = (prefix: string): string => `${prefix}${randomHex(12)}`

/** The current time in Unix seconds, for an OpenAI `created` field. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
