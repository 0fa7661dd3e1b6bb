/**
 * An in-memory `CatalogNameStore` with the Names contract's rules: a strictly increasing sequence per name, and a
 * compare-and-swap publish that a racing writer makes conflict (re-read and re-applied, as `updateName` does).
 */
import type { CatalogNameStore } from '../../src/api/index.ts'

export interface MemoryNameStore extends CatalogNameStore {
  /** Every record of `name`, oldest first. */
  history(name: string): string[]
  /** Publishes made, conflicts met. */
  readonly counts: { publishes: number; conflicts: number; sequenceReads: number }
  /** Runs once before the next publish of any name, after its update ran (to make another writer win the race). */
  beforeNextPublish(hook: () => Promise<void>): void
}

export function createMemoryNameStore(): MemoryNameStore {
  const records = new Map<string, string[]>()
  const counts = { publishes: 0, conflicts: 0, sequenceReads: 0 }
  let hook: (() => Promise<void>) | undefined
  const sequence = (name: string): number => records.get(name)?.length ?? 0
  return {
    counts,
    history: (name) => [...(records.get(name) ?? [])],
    beforeNextPublish(next) {
      hook = next
    },
    async sequence(name) {
      counts.sequenceReads++
      return sequence(name)
    },
    async resolve(name) {
      const list = records.get(name) ?? []
      return list.length === 0 ? undefined : { sequence: list.length, capability: list.at(-1)! }
    },
    async update(name, update) {
      for (let attempt = 1; attempt <= 10; attempt++) {
        const seen = sequence(name)
        const next = await update(records.get(name)?.at(-1))
        if (next === undefined) return undefined
        const run = hook
        hook = undefined
        await run?.()
        if (sequence(name) !== seen) {
          counts.conflicts++
          continue
        }
        records.set(name, [...(records.get(name) ?? []), next])
        counts.publishes++
        return seen + 1
      }
      throw new Error(`name ${name}: too many conflicts`)
    },
  }
}
