/**
 * Announces stored pieces in the DHT in the background, a few at a time, so storing never waits on the DHT.
 */
import type { Libp2p } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

export interface ProvideQueueInit {
  libp2p: Libp2p
  signal: AbortSignal
  concurrency?: number
  /** Most CIDs waiting; beyond it new ones are dropped (the periodic re-provide of the store catches up). */
  maxPending?: number
}

/**
 * @example
 * ```ts
 * const queue = new ProvideQueue({ libp2p, signal })
 * queue.add(cid)
 * ```
 */
export class ProvideQueue {
  readonly #init: ProvideQueueInit
  readonly #pending = new Map<string, CID>()
  readonly #waiters = new Map<string, Array<() => void>>()
  #running = 0

  constructor(init: ProvideQueueInit) {
    this.#init = init
  }

  get pending(): number {
    return this.#pending.size + this.#running
  }

  add(cid: CID): void {
    if (this.#init.signal.aborted) return
    const key = cid.toString()
    if (!this.#pending.has(key) && this.#pending.size < (this.#init.maxPending ?? 100_000)) this.#pending.set(key, cid)
    this.#pump()
  }

  /** Adds `cid` and resolves once it was announced (or failed, or the queue stopped). */
  async addAndWait(cid: CID): Promise<void> {
    const key = cid.toString()
    await new Promise<void>((resolve) => {
      this.#waiters.set(key, [...(this.#waiters.get(key) ?? []), resolve])
      this.#init.signal.addEventListener('abort', () => resolve(), { once: true })
      this.add(cid)
    })
  }

  #pump(): void {
    const concurrency = this.#init.concurrency ?? 4
    while (this.#running < concurrency && this.#pending.size > 0 && !this.#init.signal.aborted) {
      const [key, cid] = this.#pending.entries().next().value as [string, CID]
      this.#pending.delete(key)
      this.#running++
      this.#init.libp2p.contentRouting
        .provide(cid, { signal: this.#init.signal })
        .catch(() => {})
        .finally(() => {
          this.#running--
          for (const resolve of this.#waiters.get(key) ?? []) resolve()
          this.#waiters.delete(key)
          this.#pump()
        })
    }
  }
}
