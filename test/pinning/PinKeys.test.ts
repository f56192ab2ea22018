import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { PinKeys } from "../../src/pinning/PinKeys.js"

type Op = { readonly op: "insert" | "remove" | "find"; readonly key: string }

// Short inline keys, keys too long to sit inline, and keys with characters above U+00FF, from a small pool so the
// sequences hit existing keys often and long probe runs form in the small tables.
const keyArb = FastCheck.oneof(
  FastCheck.string({ minLength: 0, maxLength: 6 }),
  FastCheck.constantFrom("a".repeat(47), "a".repeat(48), "b".repeat(300), "tenant\u0001session", "ü-key", "ключ"),
  FastCheck.integer({ min: 0, max: 200 }).map((i) => `s-${i}`)
)
const opArb: FastCheck.Arbitrary<Op> = FastCheck.record({
  op: FastCheck.constantFrom("insert" as const, "remove" as const, "find" as const),
  key: keyArb
})

describe("PinKeys", () => {
  it.prop(
    "indexes like a Map over random inserts, removals and lookups, through table growth",
    [FastCheck.array(opArb, { maxLength: 1000 })],
    ([ops]) => {
      const keys = new PinKeys(2)
      const reference = new Map<string, number>()
      const freeSlots: Array<number> = []
      let slots = 0
      let capacity = 2
      for (const { key, op } of ops) {
        if (op === "insert" && !reference.has(key)) {
          const slot = freeSlots.pop() ?? slots++
          if (slot >= capacity) keys.grow((capacity *= 2))
          keys.insert(key, slot)
          reference.set(key, slot)
        } else if (op === "remove" && reference.has(key)) {
          keys.remove(reference.get(key)!)
          freeSlots.push(reference.get(key)!)
          reference.delete(key)
        }
        assert.strictEqual(keys.find(key), reference.get(key) ?? -1)
      }
      for (const [key, slot] of reference) {
        assert.strictEqual(keys.find(key), slot)
        assert.strictEqual(keys.keyAt(slot), key)
      }
    }
  )
})
