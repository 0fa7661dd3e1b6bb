/**
 * A map bounded to `capacity` entries, each with a rank (0 = lowest). Inserting into a full map evicts the entry of
 * the lowest rank present that was touched longest ago, but only when that rank is at most the newcomer's: an entry
 * is never displaced by one of lower rank. Every operation is O(1) in the number of entries (one insertion-ordered
 * Map per rank; a touch moves the entry to the end of its rank's Map).
 */

export interface RankedInsert {
  /** False when the map was full of entries that outrank the newcomer (nothing changed). */
  inserted: boolean
  /** Key evicted to make room, if any. */
  evicted?: string
}

/**
 * @example
 * ```ts
 * const view = new RankedBoundedMap<Entry>(10_000, 3)
 * view.insert(peerId, entry, isStaked(peerId) ? 2 : 0)
 * view.touch(peerId, 1) // heard from again, now ranked 1: most recently touched of its rank
 * ```
 */
export class RankedBoundedMap<V> {
  readonly #capacity: number
  readonly #ranks: Array<Map<string, V>>
  readonly #rankOf = new Map<string, number>()

  constructor(capacity: number, ranks: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError('capacity must be a positive integer')
    this.#capacity = capacity
    this.#ranks = Array.from({ length: ranks }, () => new Map<string, V>())
  }

  get size(): number {
    return this.#rankOf.size
  }

  get(key: string): V | undefined {
    const rank = this.#rankOf.get(key)
    return rank === undefined ? undefined : this.#ranks[rank]!.get(key)
  }

  rank(key: string): number | undefined {
    return this.#rankOf.get(key)
  }

  /** Adds `key` (which must be absent) at `rank`, evicting a lower- or equal-ranked entry when full. */
  insert(key: string, value: V, rank: number): RankedInsert {
    const result: RankedInsert = { inserted: true }
    if (this.#rankOf.size >= this.#capacity) {
      const lowest = this.#ranks.findIndex((entries) => entries.size > 0)
      if (lowest > rank) return { inserted: false }
      const evicted = this.#ranks[lowest]!.keys().next().value as string
      this.delete(evicted)
      result.evicted = evicted
    }
    this.#ranks[rank]!.set(key, value)
    this.#rankOf.set(key, rank)
    return result
  }

  /** Marks `key` as just used and moves it to `rank`; false when absent. */
  touch(key: string, rank: number): boolean {
    const current = this.#rankOf.get(key)
    if (current === undefined) return false
    const value = this.#ranks[current]!.get(key) as V
    this.#ranks[current]!.delete(key)
    this.#ranks[rank]!.set(key, value)
    this.#rankOf.set(key, rank)
    return true
  }

  delete(key: string): boolean {
    const rank = this.#rankOf.get(key)
    if (rank === undefined) return false
    this.#ranks[rank]!.delete(key)
    this.#rankOf.delete(key)
    return true
  }

  /** Every value, lowest rank first, least recently touched first within a rank. */
  *values(): IterableIterator<V> {
    for (const entries of this.#ranks) yield* entries.values()
  }
}
