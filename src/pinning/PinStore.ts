import { PinKeys } from "./PinKeys.js"

/**
 * The in-memory structure behind the pin cache: a typed-array LRU with O(1) get/put/remove and a creation-order log
 * for stable pagination, plus the pin records it stores. Plain synchronous code with no Effect in it; `PinCache`
 * owns one instance inside a `Ref`.
 */

/** A session's pinned model. Times are epoch milliseconds from `Clock`. */
export interface Pin {
  readonly model: string
  readonly route: string | null
  readonly createdAt: number
  readonly lastUsedAt: number
  readonly hits: number
  /** Where the pin came from (set by the gateway's decisions; absent on pins written by older versions or Plano). */
  readonly origin?: PinOrigin | undefined
}

/** The config generation a pin was decided under and the provider model it resolved to. */
export interface PinOrigin {
  readonly generation: number
  /** The provider prefix (`openai`) and the model id sent upstream (`gpt-4o`). */
  readonly provider: string
  readonly modelId: string
}

/** What a `put` pins a session to. */
export interface PinTarget {
  readonly model: string
  readonly route: string | null
  readonly origin?: PinOrigin | undefined
}

/** One listed pin. */
export interface PinListItem {
  readonly key: string
  readonly pin: Pin
  readonly expiresAt: number
}

/** A page of pins and the cursor of the next page (undefined on the last page). */
export interface PinPage {
  readonly items: ReadonlyArray<PinListItem>
  readonly nextCursor: string | undefined
}

/** The counters a `PinStore` reports as they change. */
export type PinCounter = "hits" | "misses" | "creations" | "evictions" | "expirations"

const noSlot = -1
const initialSlots = 1024

// Slot record layouts: numbers and references are interleaved per slot so one pin sits in one or two cache lines.
const numStride = 6
const createdAtField = 0
const lastUsedAtField = 1
const hitsField = 2
// Creation sequence of the slot's key; 0 marks a free slot.
const seqField = 3
const prevField = 4
const nextField = 5
const refStride = 3
const modelField = 0
const routeField = 1
const originField = 2
const none = -1

const grownFloat = (from: Float64Array, size: number): Float64Array => {
  const to = new Float64Array(size)
  to.set(from)
  return to
}

const grownInt = (from: Int32Array, size: number): Int32Array => {
  const to = new Int32Array(size)
  to.set(from)
  return to
}

/**
 * Values shared by many pins (model and route names, origins) under small integer ids, counted so an id is
 * released with its last pin: route names can come from clients, so the table must not only grow.
 */
class Interned<A> {
  private readonly ids = new Map<string, number>()
  private readonly values: Array<A | undefined> = []
  private readonly keys: Array<string> = []
  private readonly free: Array<number> = []
  private counts: Int32Array = new Int32Array(16)

  acquire(key: string, value: A): number {
    let id = this.ids.get(key)
    if (id === undefined) {
      id = this.free.pop() ?? this.values.length
      if (id >= this.counts.length) this.counts = grownInt(this.counts, this.counts.length * 2)
      this.ids.set(key, id)
      this.values[id] = value
      this.keys[id] = key
    }
    this.counts[id]++
    return id
  }

  release(id: number): void {
    if (id === none || --this.counts[id]! > 0) return
    this.ids.delete(this.keys[id]!)
    this.values[id] = undefined
    this.keys[id] = ""
    this.free.push(id)
  }

  get(id: number): A {
    return this.values[id]!
  }
}

const originKey = (origin: PinOrigin): string => `${origin.generation}\u0001${origin.provider}\u0001${origin.modelId}`

/**
 * The in-memory structure behind `PinCache.layer`: O(1) get/put/remove, LRU order as a linked list over slot
 * records, and a creation-order log for stable pagination. It is mutable and synchronous; the service owns one
 * inside a `Ref` and touches it only in `Ref.modify`. Exported for benchmarks and alternative services.
 */
export class PinStore {
  readonly capacity: number
  readonly ttlMillis: number
  hits = 0
  misses = 0
  creations = 0
  evictions = 0
  expirations = 0

  // Everything per pin lives in typed arrays (no object per pin on the JS heap): the heap does not grow with the pins,
  // and a full cache that keeps evicting makes no old-generation garbage.
  private readonly keys: PinKeys
  private readonly names = new Interned<string>()
  private readonly origins = new Interned<PinOrigin>()
  private nums: Float64Array
  // model, route and origin ids per slot (route and origin: -1 for none)
  private refs: Int32Array
  private slots = 0
  private head = noSlot
  private tail = noSlot
  private free = noSlot
  private count = 0
  private nextSeq = 1
  private clock = 0
  // Append-only (slot, seq) log in creation order; entries whose slot no longer carries that seq are stale.
  private logSlots: Int32Array
  private logSeqs: Float64Array
  private logLength = 0

  constructor(
    options: { readonly maxEntries: number; readonly ttlSeconds: number },
    private readonly onCount: (counter: PinCounter, n: number) => void = () => {}
  ) {
    this.capacity = options.maxEntries
    this.ttlMillis = options.ttlSeconds * 1000
    const slots = Math.min(initialSlots, options.maxEntries)
    this.keys = new PinKeys(slots)
    this.nums = new Float64Array(slots * numStride)
    this.refs = new Int32Array(slots * refStride)
    this.logSlots = new Int32Array(slots)
    this.logSeqs = new Float64Array(slots)
  }

  /** Pins held, including expired ones not yet swept. */
  get size(): number {
    return this.count
  }

  /** Get-and-touch; undefined when absent or expired (an expired pin is removed). */
  get(key: string, now: number): Pin | undefined {
    const t = this.tick(now)
    const slot = this.keys.find(key)
    if (slot !== noSlot && this.expired(slot, t)) this.expire(slot)
    else if (slot !== noSlot) {
      const at = slot * numStride
      this.nums[at + lastUsedAtField] = t
      this.nums[at + hitsField]++
      this.moveToTail(slot)
      this.count1("hits")
      return this.pinAt(slot)
    }
    this.count1("misses")
    return undefined
  }

  /** The live pin without touching it; an expired pin is removed. */
  peek(key: string, now: number): Pin | undefined {
    const t = this.tick(now)
    const slot = this.keys.find(key)
    if (slot === noSlot) return undefined
    if (!this.expired(slot, t)) return this.pinAt(slot)
    this.expire(slot)
    return undefined
  }

  /** Creates or replaces a pin; evicts the least recently used pin only when adding a new key at capacity. */
  put(key: string, target: PinTarget, now: number): Pin {
    const t = this.tick(now)
    let slot = this.keys.find(key)
    if (slot !== noSlot && this.expired(slot, t)) {
      this.expire(slot)
      slot = noSlot
    }
    if (slot === noSlot) {
      if (this.count >= this.capacity) this.evictOne(t)
      slot = this.allocate()
      const seq = this.nextSeq++
      this.nums[slot * numStride + seqField] = seq
      this.appendLog(slot, seq)
      this.keys.insert(key, slot)
      this.count++
      this.linkTail(slot)
    } else {
      this.moveToTail(slot)
      this.releaseRefs(slot)
    }
    const ref = slot * refStride
    this.refs[ref + modelField] = this.names.acquire(target.model, target.model)
    this.refs[ref + routeField] = target.route === null ? none : this.names.acquire(target.route, target.route)
    this.refs[ref + originField] = target.origin === undefined
      ? none
      : this.origins.acquire(originKey(target.origin), target.origin)
    const at = slot * numStride
    this.nums[at + createdAtField] = t
    this.nums[at + lastUsedAtField] = t
    this.nums[at + hitsField] = 0
    this.count1("creations")
    return this.pinAt(slot)
  }

  /** Removes a pin; true when a live pin was removed. */
  remove(key: string, now: number): boolean {
    const t = this.tick(now)
    const slot = this.keys.find(key)
    if (slot === noSlot) return false
    if (this.expired(slot, t)) {
      this.expire(slot)
      return false
    }
    this.drop(slot)
    return true
  }

  /** Removes up to `max` expired pins, least recently used first; returns how many. */
  sweep(now: number, max: number): number {
    const t = this.tick(now)
    let removed = 0
    // Idle TTL makes LRU order lastUsedAt order, so the expired pins are exactly a prefix of the list.
    while (removed < max && this.head !== noSlot && this.expired(this.head, t)) {
      this.drop(this.head)
      removed++
    }
    if (removed > 0) {
      this.expirations += removed
      this.onCount("expirations", removed)
    }
    return removed
  }

  /**
   * Up to `limit` live pins after `cursor` in creation order of their keys. A key keeps its place while it stays
   * pinned (re-pinning included), so a listing under concurrent writes returns each pin that stays live exactly
   * once; pins created meanwhile come at the end. An unreadable cursor yields an empty last page.
   */
  list(limit: number, cursor: string | undefined, now: number): PinPage {
    const t = this.tick(now)
    const after = cursor === undefined ? 0 : decodeCursor(cursor)
    if (Number.isNaN(after)) return { items: [], nextCursor: undefined }
    const items: Array<PinListItem> = []
    let last = after
    for (let i = this.firstLogIndexAfter(after); i < this.logLength; i++) {
      const slot = this.logSlots[i]!
      const seq = this.logSeqs[i]!
      if (this.nums[slot * numStride + seqField] !== seq || this.expired(slot, t)) continue
      if (items.length === limit) return { items, nextCursor: encodeCursor(last) }
      const pin = this.pinAt(slot)
      items.push({ key: this.keys.keyAt(slot), pin, expiresAt: pin.lastUsedAt + this.ttlMillis })
      last = seq
    }
    return { items, nextCursor: undefined }
  }

  // Keeps time monotonic so LRU order stays lastUsedAt order even if the wall clock steps back.
  private tick(now: number): number {
    if (now > this.clock) this.clock = now
    return this.clock
  }

  private expired(slot: number, now: number): boolean {
    return now - this.nums[slot * numStride + lastUsedAtField]! >= this.ttlMillis
  }

  private count1(counter: "hits" | "misses" | "creations"): void {
    this[counter]++
    this.onCount(counter, 1)
  }

  private pinAt(slot: number): Pin {
    const at = slot * numStride
    const ref = slot * refStride
    const route = this.refs[ref + routeField]!
    const origin = this.refs[ref + originField]!
    const pin: Pin = {
      model: this.names.get(this.refs[ref + modelField]!),
      route: route === none ? null : this.names.get(route),
      createdAt: this.nums[at + createdAtField]!,
      lastUsedAt: this.nums[at + lastUsedAtField]!,
      hits: this.nums[at + hitsField]!
    }
    return origin === none ? pin : { ...pin, origin: this.origins.get(origin) }
  }

  private releaseRefs(slot: number): void {
    const ref = slot * refStride
    this.names.release(this.refs[ref + modelField]!)
    this.names.release(this.refs[ref + routeField]!)
    this.origins.release(this.refs[ref + originField]!)
    this.refs.fill(none, ref, ref + refStride)
  }

  private expire(slot: number): void {
    this.drop(slot)
    this.expirations++
    this.onCount("expirations", 1)
  }

  private evictOne(now: number): void {
    const slot = this.head
    if (this.expired(slot, now)) return this.expire(slot)
    this.drop(slot)
    this.evictions++
    this.onCount("evictions", 1)
  }

  private drop(slot: number): void {
    this.keys.remove(slot)
    this.unlink(slot)
    this.releaseRefs(slot)
    this.nums[slot * numStride + seqField] = 0
    this.nums[slot * numStride + nextField] = this.free
    this.free = slot
    this.count--
  }

  private allocate(): number {
    if (this.free !== noSlot) {
      const slot = this.free
      this.free = this.nums[slot * numStride + nextField]!
      return slot
    }
    const slot = this.slots++
    if (slot * numStride === this.nums.length) {
      const slots = Math.min(this.capacity, slot * 2)
      this.nums = grownFloat(this.nums, slots * numStride)
      this.refs = grownInt(this.refs, slots * refStride)
      this.keys.grow(slots)
    }
    return slot
  }

  private linkTail(slot: number): void {
    const at = slot * numStride
    this.nums[at + prevField] = this.tail
    this.nums[at + nextField] = noSlot
    if (this.tail === noSlot) this.head = slot
    else this.nums[this.tail * numStride + nextField] = slot
    this.tail = slot
  }

  private unlink(slot: number): void {
    const at = slot * numStride
    const before = this.nums[at + prevField]!
    const after = this.nums[at + nextField]!
    if (before === noSlot) this.head = after
    else this.nums[before * numStride + nextField] = after
    if (after === noSlot) this.tail = before
    else this.nums[after * numStride + prevField] = before
  }

  private moveToTail(slot: number): void {
    if (slot === this.tail) return
    this.unlink(slot)
    this.linkTail(slot)
  }

  private appendLog(slot: number, seq: number): void {
    if (this.logLength === this.logSlots.length) {
      // Compacting once stale entries are at least half the log keeps appends amortized O(1).
      if (this.logLength - this.count >= this.logLength >> 1) this.compactLog()
      else {
        this.logSlots = grownInt(this.logSlots, this.logLength * 2)
        this.logSeqs = grownFloat(this.logSeqs, this.logLength * 2)
      }
    }
    this.logSlots[this.logLength] = slot
    this.logSeqs[this.logLength] = seq
    this.logLength++
  }

  private compactLog(): void {
    let kept = 0
    for (let i = 0; i < this.logLength; i++) {
      const slot = this.logSlots[i]!
      const seq = this.logSeqs[i]!
      if (this.nums[slot * numStride + seqField] !== seq) continue
      this.logSlots[kept] = slot
      this.logSeqs[kept] = seq
      kept++
    }
    this.logLength = kept
  }

  private firstLogIndexAfter(seq: number): number {
    let lo = 0
    let hi = this.logLength
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.logSeqs[mid]! <= seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

const encodeCursor = (seq: number): string => seq.toString(36)

const decodeCursor = (cursor: string): number => /^[0-9a-z]{1,11}$/.test(cursor) ? parseInt(cursor, 36) : NaN
