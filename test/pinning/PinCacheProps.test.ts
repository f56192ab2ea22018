import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck, Option, TestClock } from "effect"
import * as PinCache from "../../src/pinning/PinCache.js"

type Command =
  | { readonly op: "put"; readonly key: string; readonly model: number }
  | { readonly op: "get" | "peek" | "remove"; readonly key: string }
  | { readonly op: "advance"; readonly millis: number }
  | { readonly op: "list"; readonly limit: number }

type StoreCommand = Command | { readonly op: "sweep"; readonly max: number }

const keyArb = FastCheck.constantFrom("a", "b", "c", "d", "e", "f")
// Whole seconds make "exactly ttl since the last use" a frequent case; the odd milliseconds cover the rest.
const millisArb = FastCheck.oneof(
  { arbitrary: FastCheck.integer({ min: 0, max: 4 }).map((s) => s * 1000), weight: 3 },
  { arbitrary: FastCheck.integer({ min: 0, max: 12_000 }), weight: 1 }
)
const commandArb: FastCheck.Arbitrary<Command> = FastCheck.oneof(
  {
    arbitrary: FastCheck.record({
      op: FastCheck.constant("put" as const),
      key: keyArb,
      model: FastCheck.integer({ min: 0, max: 2 })
    }),
    weight: 3
  },
  { arbitrary: FastCheck.record({ op: FastCheck.constant("get" as const), key: keyArb }), weight: 3 },
  {
    arbitrary: FastCheck.record({ op: FastCheck.constantFrom("peek" as const, "remove" as const), key: keyArb }),
    weight: 1
  },
  { arbitrary: FastCheck.record({ op: FastCheck.constant("advance" as const), millis: millisArb }), weight: 2 },
  {
    arbitrary: FastCheck.record({
      op: FastCheck.constant("list" as const),
      limit: FastCheck.integer({ min: 1, max: 4 })
    }),
    weight: 1
  }
)

const storeCommandArb: FastCheck.Arbitrary<StoreCommand> = FastCheck.oneof(
  { arbitrary: commandArb, weight: 9 },
  {
    arbitrary: FastCheck.record({
      op: FastCheck.constant("sweep" as const),
      max: FastCheck.integer({ min: 1, max: 3 })
    }),
    weight: 1
  }
)

const models = ["openai/gpt-4o", "anthropic/claude-sonnet-4", "openai/gpt-4o-mini"]
const targetOf = (model: number): PinCache.PinTarget => ({
  model: models[model]!,
  route: model === 2 ? null : `route${model}`
})

interface ModelPin {
  readonly key: string
  readonly seq: number
  readonly pin: PinCache.Pin
}

/** The obvious reference: an array in LRU order, expired pins pruned before every operation. */
class Reference {
  private entries: Array<ModelPin> = []
  private seq = 0
  now = 0

  constructor(readonly capacity: number, readonly ttlMillis: number) {}

  private prune(): void {
    this.entries = this.entries.filter((e) => this.now - e.pin.lastUsedAt < this.ttlMillis)
  }

  private find(key: string): number {
    this.prune()
    return this.entries.findIndex((e) => e.key === key)
  }

  get(key: string): Option.Option<PinCache.Pin> {
    const i = this.find(key)
    if (i < 0) return Option.none()
    const [old] = this.entries.splice(i, 1)
    const pin = { ...old!.pin, lastUsedAt: this.now, hits: old!.pin.hits + 1 }
    this.entries.push({ ...old!, pin })
    return Option.some(pin)
  }

  peek(key: string): Option.Option<PinCache.Pin> {
    const i = this.find(key)
    return i < 0 ? Option.none() : Option.some(this.entries[i]!.pin)
  }

  put(key: string, target: PinCache.PinTarget): PinCache.Pin {
    const i = this.find(key)
    const pin = { ...target, createdAt: this.now, lastUsedAt: this.now, hits: 0 }
    if (i >= 0) {
      const [old] = this.entries.splice(i, 1)
      this.entries.push({ key, seq: old!.seq, pin })
    } else {
      if (this.entries.length >= this.capacity) this.entries.shift()
      this.entries.push({ key, seq: ++this.seq, pin })
    }
    return pin
  }

  remove(key: string): boolean {
    const i = this.find(key)
    if (i >= 0) this.entries.splice(i, 1)
    return i >= 0
  }

  liveKeysInCreationOrder(): ReadonlyArray<string> {
    this.prune()
    return [...this.entries].sort((a, b) => a.seq - b.seq).map((e) => e.key)
  }
}

const listAll = (cache: PinCache.PinCacheService, limit: number) =>
  Effect.gen(function*() {
    const keys: Array<string> = []
    let cursor: string | undefined = undefined
    do {
      const page: PinCache.PinPage = yield* cache.list({ limit, cursor })
      keys.push(...page.items.map((item) => item.key))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return keys
  })

describe("PinCache properties", () => {
  it.effect.prop(
    "behaves like a reference LRU with idle TTL over random operation sequences",
    {
      capacity: FastCheck.integer({ min: 1, max: 5 }),
      ttlSeconds: FastCheck.integer({ min: 1, max: 10 }),
      sweepIntervalSeconds: FastCheck.integer({ min: 3, max: 20 }),
      commands: FastCheck.array(commandArb, { maxLength: 30, size: "max" })
    },
    ({ capacity, commands, sweepIntervalSeconds, ttlSeconds }) =>
      Effect.gen(function*() {
        const cache = yield* PinCache.PinCache
        const reference = new Reference(capacity, ttlSeconds * 1000)
        const lastPut = new Map<string, string>()
        for (const command of commands) {
          switch (command.op) {
            case "put": {
              const target = targetOf(command.model)
              lastPut.set(command.key, target.model)
              assert.deepStrictEqual(yield* cache.put(command.key, target), reference.put(command.key, target))
              break
            }
            case "get":
            case "peek": {
              const actual = yield* cache[command.op](command.key)
              assert.deepStrictEqual(actual, reference[command.op](command.key), `${command.op} ${command.key}`)
              // A live pin's model never changes unless the key was re-put.
              if (Option.isSome(actual)) assert.strictEqual(actual.value.model, lastPut.get(command.key))
              break
            }
            case "remove":
              assert.strictEqual(yield* cache.remove(command.key), reference.remove(command.key))
              break
            case "advance":
              yield* TestClock.adjust(`${command.millis} millis`)
              reference.now += command.millis
              break
            case "list":
              assert.deepStrictEqual(yield* listAll(cache, command.limit), reference.liveKeysInCreationOrder())
              break
          }
          const size = yield* cache.size
          assert.isAtMost(size, capacity)
          assert.isAtLeast(size, reference.liveKeysInCreationOrder().length)
        }
        assert.deepStrictEqual(yield* listAll(cache, 2), reference.liveKeysInCreationOrder())
      }).pipe(Effect.provide(PinCache.layer({ maxEntries: capacity, ttlSeconds, sweepIntervalSeconds }))),
    { fastCheck: { numRuns: 60 } }
  )

  it.prop(
    "the store behaves like the reference over long sequences with explicit sweeps",
    {
      capacity: FastCheck.integer({ min: 1, max: 5 }),
      ttlSeconds: FastCheck.integer({ min: 1, max: 10 }),
      commands: FastCheck.array(storeCommandArb, { maxLength: 120, size: "max" })
    },
    ({ capacity, commands, ttlSeconds }) => {
      const store = new PinCache.PinStore({ maxEntries: capacity, ttlSeconds })
      const reference = new Reference(capacity, ttlSeconds * 1000)
      const listStore = (limit: number) => {
        const keys: Array<string> = []
        let cursor: string | undefined = undefined
        do {
          const page: PinCache.PinPage = store.list(limit, cursor, reference.now)
          keys.push(...page.items.map((item) => item.key))
          cursor = page.nextCursor
        } while (cursor !== undefined)
        return keys
      }
      for (const command of commands) {
        const now = reference.now
        switch (command.op) {
          case "put": {
            const target = targetOf(command.model)
            assert.deepStrictEqual(store.put(command.key, target, now), reference.put(command.key, target))
            break
          }
          case "get":
          case "peek":
            assert.deepStrictEqual(
              Option.fromNullable(store[command.op](command.key, now)),
              reference[command.op](command.key)
            )
            break
          case "remove":
            assert.strictEqual(store.remove(command.key, now), reference.remove(command.key))
            break
          case "advance":
            reference.now += command.millis
            break
          case "list":
            assert.deepStrictEqual(listStore(command.limit), reference.liveKeysInCreationOrder())
            break
          case "sweep":
            assert.isAtMost(store.sweep(now, command.max), command.max)
            break
        }
        assert.isAtMost(store.size, capacity)
        assert.isAtLeast(store.size, reference.liveKeysInCreationOrder().length)
      }
      store.sweep(reference.now, capacity)
      assert.strictEqual(store.size, reference.liveKeysInCreationOrder().length)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "a get after the TTL has passed since the last use is always empty",
    {
      ttlSeconds: FastCheck.integer({ min: 1, max: 600 }),
      uses: FastCheck.array(FastCheck.integer({ min: 0, max: 599_999 }), { maxLength: 10 }),
      late: FastCheck.integer({ min: 0, max: 10_000_000 })
    },
    ({ late, ttlSeconds, uses }) => {
      const store = new PinCache.PinStore({ maxEntries: 10, ttlSeconds })
      const ttl = ttlSeconds * 1000
      let now = 1_700_000_000_000
      store.put("s", targetOf(0), now)
      for (const gap of uses) {
        now += gap
        const pin = store.get("s", now)
        if (gap >= ttl) {
          assert.isUndefined(pin)
          return
        }
        assert.strictEqual(pin?.lastUsedAt, now)
      }
      now += ttl + late
      assert.isUndefined(store.peek("s", now))
      assert.isUndefined(store.get("s", now))
    },
    { fastCheck: { numRuns: 500 } }
  )
})
