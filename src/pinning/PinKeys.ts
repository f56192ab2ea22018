/**
 * The key index of a `PinStore`, off the JS heap: each slot's key as bytes in a fixed-width record, and an
 * open-addressing table (linear probing, backward-shift deletion, so churn leaves no tombstones) from a key's hash
 * to its slot. A million session ids held as strings in a `Map` were a million old-generation objects that every
 * eviction turned into garbage; here they are a few typed arrays that stay the same size at capacity.
 */

// Keys of up to 47 one-byte characters (a UUID, a scoped UUID) live inline; longer ones, or ones with characters
// above U+00FF, are kept as strings on the side.
const width = 48
const longKey = 255
const empty = -1

const hashOf = (key: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  // FNV-1a's low bits are weak for keys that differ only at the end; mix before masking.
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

const fitsInline = (key: string): boolean => {
  if (key.length >= width) return false
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0xff) return false
  return true
}

/** A string → slot index whose keys live in typed arrays; slots are chosen by the caller. */
export class PinKeys {
  private bytes: Uint8Array
  private hashes: Int32Array
  private table: Int32Array
  private mask: number
  private readonly long = new Map<number, string>()

  constructor(slots: number) {
    this.bytes = new Uint8Array(slots * width)
    this.hashes = new Int32Array(slots)
    this.table = new Int32Array(tableSizeFor(slots)).fill(empty)
    this.mask = this.table.length - 1
  }

  /** Makes room for slots `0 .. slots - 1`. */
  grow(slots: number): void {
    if (slots <= this.hashes.length) return
    const bytes = new Uint8Array(slots * width)
    bytes.set(this.bytes)
    this.bytes = bytes
    const hashes = new Int32Array(slots)
    hashes.set(this.hashes)
    this.hashes = hashes
    const size = tableSizeFor(slots)
    if (size === this.table.length) return
    const old = this.table
    this.table = new Int32Array(size).fill(empty)
    this.mask = size - 1
    for (let i = 0; i < old.length; i++) if (old[i] !== empty) this.place(old[i]!)
  }

  /** The slot of `key`, or -1. */
  find(key: string): number {
    const h = hashOf(key)
    for (let i = h & this.mask;; i = (i + 1) & this.mask) {
      const slot = this.table[i]!
      if (slot === empty) return -1
      if (this.hashes[slot] === h && this.equals(slot, key)) return slot
    }
  }

  /** Indexes `key` (absent) at `slot` (free). */
  insert(key: string, slot: number): void {
    this.hashes[slot] = hashOf(key)
    const at = slot * width
    if (fitsInline(key)) {
      this.bytes[at] = key.length
      for (let i = 0; i < key.length; i++) this.bytes[at + 1 + i] = key.charCodeAt(i)
    } else {
      this.bytes[at] = longKey
      this.long.set(slot, key)
    }
    this.place(slot)
  }

  /** Removes the key of an indexed `slot`. */
  remove(slot: number): void {
    let i = this.hashes[slot]! & this.mask
    while (this.table[i] !== slot) i = (i + 1) & this.mask
    // Backward shift: pull later entries of the probe run into the hole unless that would move one before its home.
    for (let j = (i + 1) & this.mask;; j = (j + 1) & this.mask) {
      const s = this.table[j]!
      if (s === empty) break
      const home = this.hashes[s]! & this.mask
      const stays = i <= j ? i < home && home <= j : i < home || home <= j
      if (stays) continue
      this.table[i] = s
      i = j
    }
    this.table[i] = empty
    if (this.bytes[slot * width] === longKey) this.long.delete(slot)
  }

  /** The key of an indexed slot. */
  keyAt(slot: number): string {
    const at = slot * width
    const length = this.bytes[at]!
    if (length === longKey) return this.long.get(slot)!
    return String.fromCharCode.apply(null, Array.from(this.bytes.subarray(at + 1, at + 1 + length)))
  }

  private place(slot: number): void {
    let i = this.hashes[slot]! & this.mask
    while (this.table[i] !== empty) i = (i + 1) & this.mask
    this.table[i] = slot
  }

  private equals(slot: number, key: string): boolean {
    const at = slot * width
    const length = this.bytes[at]!
    if (length === longKey) return this.long.get(slot) === key
    if (length !== key.length) return false
    for (let i = 0; i < length; i++) if (this.bytes[at + 1 + i] !== key.charCodeAt(i)) return false
    return true
  }
}

// At most half full, so probe runs stay short.
const tableSizeFor = (slots: number): number => {
  let size = 2
  while (size < slots * 2) size *= 2
  return size
}
