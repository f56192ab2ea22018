import { randomBytes } from "node:crypto"

/** A fresh id with the target API's prefix (`msg_`, `toolu_`, `chatcmpl-`, `call_`) when the upstream sent none. */
export const randomId = (prefix: string): string => `${prefix}${randomBytes(12).toString("hex")}`

/** The current time in Unix seconds, for an OpenAI `created` field. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
