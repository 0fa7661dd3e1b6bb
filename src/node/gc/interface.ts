/** The garbage collector's contract: what it reads, what it deletes, what it reports. */
import type { CID } from 'multiformats/cid'
import type { FsPieceStore, PieceStore } from '../../storage/index.ts'
import type { AcceptedSlotKey, AcceptedSlotRecord } from '../accepted-slots.ts'
import type { MarketView } from '../chain-service/index.ts'

export interface PieceCollectorComponents {
  /** The node's own disk store (never the healing store: a delete must not trigger a rebuild). */
  pieceStore: Pick<PieceStore, 'list' | 'get' | 'delete'> & Pick<FsPieceStore, 'stat'>
  /** The chain service's book of the Market; undefined until it was read once (nothing is deleted before). */
  market: () => MarketView | undefined
  /** The slot acceptances this node signed (a slot accepted and not expired keeps its pieces). */
  accepted: { list(): Promise<AcceptedSlotRecord[]>; remove(key: AcceptedSlotKey): Promise<void> }
  /** The repair service: the files it tracks, and forgetting one before its pieces go. */
  repair: {
    files(): Array<{ manifestCid: string; mySlots: number[] }>
    forget(manifestCid: CID): boolean
  }
}

export interface PieceCollectorInit {
  /** Where gc-state.json lives, and the slot caches (slots/) of the slots whose pieces go. */
  dataDir: string
  /** Default DEFAULT_GC_GRACE_MS. */
  graceMs?: number
  /** Default DEFAULT_GC_INTERVAL_MS. */
  intervalMs?: number
  /** Default DEFAULT_GC_MAX_BOOK_AGE_MS. */
  maxBookAgeMs?: number
  /** Wall clock in ms (tests): piece files' times and gc-state.json's are on it. Also the book's clock when `monotonicNow` is not given. */
  now?: () => number
  /** Monotonic clock in ms (tests; default `performance.now()`): the book's age (`MarketView.readAt`) is on it. */
  monotonicNow?: () => number
  onEvent?: (event: PieceCollectorEvent) => void
}

/** What one sweep did. */
export interface SweepReport {
  /** Pieces looked at. */
  scanned: number
  /** Slots whose pieces were kept (running deals, live acceptances, tracked repairs, within the grace). */
  slotsKept: number
  /** Pieces referenced by a kept slot (a piece of several kept slots counts once). */
  referenced: number
  /** Unreferenced pieces kept because they are younger than the grace period. */
  young: number
  deleted: number
  bytesFreed: number
  /** Files the repair service stopped tracking. */
  forgotten: number
  /** Set when the sweep deleted nothing on purpose, and why. */
  skipped?: string
}

export type PieceCollectorEvent = ({ type: 'gc:swept' } & SweepReport) | { type: 'gc:error'; message: string }

export interface PieceCollector {
  /** Sweeps every `intervalMs` until stop(). */
  start(): void
  stop(): Promise<void>
  /** One sweep now (runs alone: a call during a sweep waits for it and then sweeps). */
  sweep(options?: { signal?: AbortSignal }): Promise<SweepReport>
}
