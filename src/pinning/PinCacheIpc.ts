import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { PinCache } from "./PinCache.js"
import type { ListOptions, Pin, PinCacheService, PinCacheStats, PinPage, PinTarget } from "./PinCache.js"

/**
 * A pin store kept in another process and reached over a message channel (a `node:cluster` worker's IPC channel to
 * its primary): one authoritative memory store, so every worker sees the same pins. Requests are correlated by id
 * and batched per microtask, so the requests of one event-loop turn cross the channel as one message.
 */

/** What a pin store is asked over the channel. */
export type PinOperation = "get" | "peek" | "put" | "remove" | "list" | "size" | "stats"

/** One request; `key`, `target` and `list` as the operation needs them. */
export interface PinRequest {
  readonly id: number
  readonly op: PinOperation
  readonly key?: string | undefined
  readonly target?: PinTarget | undefined
  readonly list?: ListOptions | undefined
}

/** The answer to a request: a pin or null, a boolean, a page, a number or the stats, as the operation returns. */
export interface PinReply {
  readonly id: number
  readonly value: unknown
}

/** Worker → store owner: a batch of requests to the store named `store`. */
export interface PinRequests {
  readonly switchyard: "pins"
  readonly store: string
  readonly requests: ReadonlyArray<PinRequest>
}

/** Store owner → worker: the replies of a batch. */
export interface PinReplies {
  readonly switchyard: "pins"
  readonly store: string
  readonly replies: ReadonlyArray<PinReply>
}

/** A message channel to the process that owns the stores (`processChannel` in a cluster worker). */
export interface Channel {
  /** Sends a message; false when the channel is closed. */
  readonly send: (message: unknown) => boolean
  /** Subscribes to incoming messages; returns the unsubscribe. */
  readonly listen: (onMessage: (message: unknown) => void) => () => void
  /** Calls back once the channel closes; returns the unsubscribe. */
  readonly onClose: (f: () => void) => () => void
}

/** This process's IPC channel to its parent (a `node:cluster` worker's to its primary); undefined without one. */
export const processChannel = (): Channel | undefined => {
  if (process.send === undefined) return undefined
  return {
    send: (message) => {
      if (process.connected !== true || process.send === undefined) return false
      try {
        // false only means Node queued it behind others; it is still sent.
        process.send(message)
        return true
      } catch {
        return false
      }
    },
    listen: (onMessage) => {
      process.on("message", onMessage)
      return () => process.off("message", onMessage)
    },
    onClose: (f) => {
      process.once("disconnect", f)
      return () => process.off("disconnect", f)
    }
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** Whether a message is a batch of pin requests (for the process that answers them). */
export const isRequests = (message: unknown): message is PinRequests =>
  isRecord(message) && message["switchyard"] === "pins" && typeof message["store"] === "string" &&
  Array.isArray(message["requests"])

const isReplies = (message: unknown, store: string): message is PinReplies =>
  isRecord(message) && message["switchyard"] === "pins" && message["store"] === store &&
  Array.isArray(message["replies"])

/** Runs one request against a store (the owning side of the channel). */
export const answer = (pins: PinCacheService, request: PinRequest): Effect.Effect<unknown> => {
  const key = request.key ?? ""
  switch (request.op) {
    case "get":
      return Effect.map(pins.get(key), Option.getOrNull)
    case "peek":
      return Effect.map(pins.peek(key), Option.getOrNull)
    case "put":
      return request.target === undefined ? Effect.succeed(null) : pins.put(key, request.target)
    case "remove":
      return pins.remove(key)
    case "list":
      return pins.list(request.list ?? {})
    case "size":
      return pins.size
    case "stats":
      return pins.stats
  }
}

/** Answers a batch against the named stores; a store it does not hold answers null to each request. */
export const answerAll = (
  stores: Readonly<Record<string, PinCacheService>>,
  batch: PinRequests
): Effect.Effect<PinReplies> => {
  const pins = stores[batch.store]
  return Effect.map(
    Effect.forEach(batch.requests, (request) =>
      pins === undefined
        ? Effect.succeed({ id: request.id, value: null })
        : Effect.map(answer(pins, request), (value) => ({ id: request.id, value }))),
    (replies) => ({ switchyard: "pins", store: batch.store, replies })
  )
}

/** Which store a client talks to and the TTL it reports in `expiresAt`. */
export interface PinCacheIpcOptions {
  readonly store: string
  readonly ttlSeconds: number
}

const emptyStats = (ttlSeconds: number): PinCacheStats => ({
  hits: 0,
  misses: 0,
  creations: 0,
  evictions: 0,
  expirations: 0,
  routerCallsSaved: 0,
  size: 0,
  capacity: 0,
  ttlSeconds
})

/**
 * A pin store client over `channel`. When the channel is closed (the owner is gone) it fails open like the Redis
 * store: lookups miss, writes are not kept, lists are empty.
 */
export const make = (
  channel: Channel,
  options: PinCacheIpcOptions
): Effect.Effect<PinCacheService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const { store, ttlSeconds } = options
    const ttlMillis = ttlSeconds * 1000
    const pending = new Map<number, (value: unknown) => void>()
    let queue: Array<PinRequest> = []
    let nextId = 1
    let closed = false

    const failAll = () => {
      closed = true
      const waiting = [...pending.values()]
      pending.clear()
      for (const resume of waiting) resume(undefined)
    }
    const flush = () => {
      const requests = queue
      queue = []
      if (!channel.send({ switchyard: "pins", store, requests })) failAll()
    }
    const unlisten = channel.listen((message) => {
      if (!isReplies(message, store)) return
      for (const reply of message.replies) {
        const resume = pending.get(reply.id)
        if (resume === undefined) continue
        pending.delete(reply.id)
        resume(reply.value)
      }
    })
    const unclose = channel.onClose(failAll)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        unlisten()
        unclose()
        failAll()
      })
    )

    // Resolves with the reply's value, or undefined when the channel closed before an answer came.
    const call = (op: PinOperation, key?: string, target?: PinTarget, list?: ListOptions) =>
      Effect.async<unknown>((resume) => {
        if (closed) return resume(Effect.succeed(undefined))
        const id = nextId++
        pending.set(id, (value) => resume(Effect.succeed(value)))
        if (queue.push({ id, op, key, target, list }) === 1) setImmediate(flush)
        return Effect.sync(() => {
          pending.delete(id)
        })
      })

    // The owner is our own process on the other end of the channel: replies are the store's own values.
    const pinOf = (value: unknown) => Option.fromNullable(value as Pin | null | undefined)
    const get = (key: string) => Effect.map(call("get", key), pinOf)
    const put = (key: string, target: PinTarget) =>
      Effect.map(call("put", key, target), (value): Pin => {
        if (isRecord(value)) return value as unknown as Pin
        const now = clock.unsafeCurrentTimeMillis()
        return { ...target, createdAt: now, lastUsedAt: now, hits: 0 }
      })
    const peek = Effect.fn("PinCache.peek")((key: string) => Effect.map(call("peek", key), pinOf))
    const remove = Effect.fn("PinCache.remove")((key: string) =>
      Effect.map(call("remove", key), (value) => value === true)
    )
    const list = Effect.fn("PinCache.list")((options: ListOptions) =>
      Effect.map(call("list", undefined, undefined, options), (value): PinPage =>
        isRecord(value) ? value as unknown as PinPage : { items: [], nextCursor: undefined })
    )
    const size = Effect.map(call("size"), (value) => typeof value === "number" ? value : 0)
    const stats = Effect.map(call("stats"), (value): PinCacheStats =>
      isRecord(value) ? value as unknown as PinCacheStats : emptyStats(ttlSeconds))

    return {
      get,
      peek,
      put,
      remove,
      list,
      size,
      stats,
      expiresAt: (pin: Pin) => pin.lastUsedAt + ttlMillis
    } as const
  })

/** The session pin store of the process at the other end of `channel`. */
export const layer = (channel: Channel, options: PinCacheIpcOptions): Layer.Layer<PinCache> =>
  Layer.scoped(PinCache, make(channel, options))
