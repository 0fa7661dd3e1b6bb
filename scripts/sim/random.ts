/** Seeded randomness and order statistics for the simulations: the same seed gives the same run. */

/** A seeded generator (mulberry32) of numbers in [0, 1). */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** The nearest-rank percentile `p` (0..100) of `values` (Infinity stands for a trial never caught). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

/** `count` distinct integers of [0, range), chosen with `rand`. */
export function sample(rand: () => number, range: number, count: number): Set<number> {
  const chosen = new Set<number>()
  while (chosen.size < Math.min(count, range)) chosen.add(Math.floor(rand() * range))
  return chosen
}
