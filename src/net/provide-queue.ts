/**
 * Announces stored pieces in the DHT in the background, so storing never waits on the DHT.
 *
 * Each announcement is a DHT query plus one ADD_PROVIDER message per closest peer: about ten streams, and CPU on
 * every node they touch. Announcing each piece the moment it is stored cost a third of all CPU time of a devnet put
 * (docs/benchmarks.md, Transfer), so the queue paces itself: at most `concurrency` announcements at once, started at
 * least `intervalMs` apart. The newest piece goes first: a put stores its manifest last, and the manifest is what
 * `findProviders` is asked for; older pieces follow when the node is quieter.
 */
import type { Libp2p } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { DEFAULT_PROVIDE_CONCURRENCY, DEFAULT_PROVIDE_INTERVAL_MS, DEFAULT_PROVIDE_MAX_PENDING } from './constants.ts'

export interface ProvideQueueInit {
  libp2p: Pick<Libp2p, 'contentRouting'>
  signal: AbortSignal
  /** Announcements running at once (default DEFAULT_PROVIDE_CONCURRENCY). */
  concurrency?: number
  /** Least time between the starts of two announcements, ms (default DEFAULT_PROVIDE_INTERVAL_MS; 0 = no pacing). */
  intervalMs?: number
  /** Most CIDs waiting; beyond it new ones are dropped (the re-provide of the store on start catches up). */
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
  readonly #concurrency: number
  readonly #intervalMs: number
  readonly #maxPending: number
  /** Waiting CIDs by key; `#order` holds their keys oldest first (stale keys are skipped when taken). */
  readonly #pending = new Map<string, CID>()
  #order: string[] = []
  readonly #waiters = new Map<string, Array<() => void>>()
  #running = 0
  #lastStart = Number.NEGATIVE_INFINITY
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(init: ProvideQueueInit) {
    this.#init = init
    this.#concurrency = Math.max(1, init.concurrency ?? DEFAULT_PROVIDE_CONCURRENCY)
    this.#intervalMs = Math.max(0, init.intervalMs ?? DEFAULT_PROVIDE_INTERVAL_MS)
    this.#maxPending = init.maxPending ?? DEFAULT_PROVIDE_MAX_PENDING
    init.signal.addEventListener(
      'abort',
      () => {
        clearTimeout(this.#timer)
        this.#timer = undefined
      },
      { once: true },
    )
  }

  /** CIDs waiting or being announced. */
  get pending(): number {
    return this.#pending.size + this.#running
  }

  add(cid: CID): void {
    this.#enqueue(cid)
    this.#pump()
  }

  /** Adds `cid` and resolves once it was announced (or failed, or dropped, or the queue stopped). */
  async addAndWait(cid: CID): Promise<void> {
    const key = cid.toString()
    await new Promise<void>((resolve) => {
      if (this.#init.signal.aborted) return resolve()
      this.#waiters.set(key, [...(this.#waiters.get(key) ?? []), resolve])
      this.#init.signal.addEventListener('abort', () => resolve(), { once: true })
      if (!this.#enqueue(cid)) this.#settle(key) // dropped: the queue is full
      this.#pump()
    })
  }

  /** False when `cid` was dropped (queue full or stopped). */
  #enqueue(cid: CID): boolean {
    if (this.#init.signal.aborted) return false
    const key = cid.toString()
    if (this.#pending.has(key)) return true
    if (this.#pending.size >= this.#maxPending) return false
    // A CID decoded from a request is a view into the request's buffer: a waiting CID would keep the whole piece in
    // memory (a put's backlog pinned hundreds of MB per node). Keep a copy of its 36 bytes instead.
    this.#pending.set(key, CID.decode(cid.bytes.slice()))
    this.#order.push(key)
    return true
  }

  /** The newest waiting CID, removed from the queue. */
  #takeNewest(): [string, CID] | undefined {
    while (this.#order.length > 0) {
      const key = this.#order.pop()!
      const cid = this.#pending.get(key)
      if (cid === undefined) continue
      this.#pending.delete(key)
      if (this.#pending.size === 0) this.#order = []
      return [key, cid]
    }
    return undefined
  }

  #settle(key: string): void {
    for (const resolve of this.#waiters.get(key) ?? []) resolve()
    this.#waiters.delete(key)
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#pending.size > 0 && !this.#init.signal.aborted) {
      const wait = this.#lastStart + this.#intervalMs - performance.now()
      if (wait > 0) {
        if (this.#timer === undefined) {
          this.#timer = setTimeout(() => {
            this.#timer = undefined
            this.#pump()
          }, wait)
          this.#timer.unref?.()
        }
        return
      }
      const next = this.#takeNewest()
      if (next === undefined) return
      const [key, cid] = next
      this.#running++
      this.#lastStart = performance.now()
      this.#init.libp2p.contentRouting
        .provide(cid, { signal: this.#init.signal })
        .catch(() => {})
        .finally(() => {
          this.#running--
          this.#settle(key)
          this.#pump()
        })
    }
  }
}
