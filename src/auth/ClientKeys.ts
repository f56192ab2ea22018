import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { hash, timingSafeEqual } from "node:crypto"
import type { IncomingHttpHeaders } from "node:http"
import { GatewayConfig } from "../config/GatewayConfig.js"
import type { ClientKeyConfig } from "../config/GatewayConfig.js"
import { InvalidClientKey } from "../GatewayError.js"

/** The key a request presented: `Authorization: Bearer <key>` or `x-api-key: <key>` (Anthropic clients). */
export const presentedKey = (headers: IncomingHttpHeaders): string | undefined => {
  const auth = headers.authorization
  if (typeof auth === "string") {
    const match = /^Bearer\s+(\S.*)$/i.exec(auth)
    if (match !== null) return match[1]!.trim()
  }
  const apiKey = headers["x-api-key"]
  return typeof apiKey === "string" && apiKey.length > 0 ? apiKey : undefined
}

/**
 * The client keys of `auth.keys`. Only SHA-256 digests are held; a presented key is hashed and compared with every
 * digest in constant time, so neither the comparison nor the lookup depends on how much of a key was right.
 */
export class ClientKeys extends Effect.Service<ClientKeys>()("switchyard/ClientKeys", {
  effect: Effect.gen(function*() {
    const config = yield* GatewayConfig
    const clock = yield* Effect.clock
    const keys: ReadonlyArray<ClientKeyConfig> = config.auth?.type === "keys" ? config.auth.keys : []
    /** True when requests must carry a client key. */
    const required = keys.length > 0

    const find = (presented: string): ClientKeyConfig | undefined => {
      const digest = hash("sha256", presented, "buffer")
      let found: ClientKeyConfig | undefined
      for (const key of keys) {
        if (timingSafeEqual(digest, key.sha256) && found === undefined) found = key
      }
      return found
    }

    /** The request's key entry; `undefined` when no keys are configured (the gateway is open). */
    const authenticate = (
      headers: IncomingHttpHeaders
    ): Either.Either<ClientKeyConfig | undefined, InvalidClientKey> => {
      if (!required) return Either.right(undefined)
      const presented = presentedKey(headers)
      if (presented === undefined) return Either.left(new InvalidClientKey({ reason: "missing" }))
      const key = find(presented)
      if (key === undefined) return Either.left(new InvalidClientKey({ reason: "unknown" }))
      if (key.expiresAt !== undefined && clock.unsafeCurrentTimeMillis() >= key.expiresAt) {
        return Either.left(new InvalidClientKey({ reason: "expired" }))
      }
      return Either.right(key)
    }

    return { required, authenticate } as const
  })
}) {}
