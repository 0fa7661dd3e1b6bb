/**
 * The chaos suite's one source of randomness: a seeded generator (mulberry32), so a run is repeated exactly by
 * passing its seed again. File contents come from it too: a failing run's bytes can be rebuilt.
 */

/** A seeded pseudo-random generator. */
export interface Random {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [min, max]. */
  int(min: number, max: number): number
  /** `count` distinct items of `items`, in random order. */
  pick<T>(items: readonly T[], count: number): T[]
  /** `size` pseudo-random bytes. */
  bytes(size: number): Buffer
  /** A generator of its own, derived from this one and `label` (each run of a scenario gets one). */
  fork(label: string): Random
}

/**
 * Creates the generator of `seed` (a 32-bit integer).
 *
 * @example
 * ```ts
 * const rng = createRandom(42)
 * rng.int(1, 6) // the same on every run with seed 42
 * ```
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  return {
    next,
    int,
    pick(items, count) {
      const copy = [...items]
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(0, i)
        ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
      }
      return copy.slice(0, count)
    },
    bytes(size) {
      const out = Buffer.allocUnsafe(size)
      for (let i = 0; i + 4 <= size; i += 4) out.writeUInt32LE(Math.floor(next() * 4294967296), i)
      for (let i = size - (size % 4); i < size; i++) out[i] = int(0, 255)
      return out
    },
    fork(label) {
      let h = seed >>> 0
      for (const ch of label) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0
      return createRandom(h ^ int(0, 0xffffffff))
    },
  }
}
