/**
 * Types of the repair service: self-healing without the file's owner. Storage nodes that share a file watch each
 * other; when a slot's holder dies, one of the others rebuilds the slot from any k slots onto a new node; a piece
 * found missing or corrupt on a holder is rebuilt from the others and rewritten.
 */
import type { CID } from 'multiformats/cid'
import type { Network } from '../../net/index.ts'
import type { PieceStore } from '../../storage/index.ts'
import type { AbortOptions, PeerState } from '../index.ts'

/** What the repair service uses of the network. */
export type RepairNetwork = Pick<
  Network,
  'peerId' | 'peers' | 'multiaddrs' | 'fetchPiece' | 'storePiece' | 'hasPieces' | 'watch'
>

/** The seam for the chain: a node now holds a slot it did not hold when the file was put. */
export interface SlotRepairedEvent {
  /** Manifest CID (text) of the file. */
  manifestCid: string
  slot: number
  /** Peer ID of the node that now holds the slot (the node this callback runs on). */
  newHolder: string
}

/** Progress of the repair service, as events (never printed by library code). */
export type RepairEvent =
  | { type: 'repair:file-known'; manifestCid: string; slots: number[]; adopting: boolean }
  | { type: 'repair:slot-lost'; manifestCid: string; slot: number; lastHolder: string | null; rank: number }
  | { type: 'repair:start'; manifestCid: string; slot: number; target: string; pieces: number }
  | { type: 'repair:progress'; manifestCid: string; slot: number; target: string; done: number; pieces: number }
  | {
      type: 'repair:done'
      manifestCid: string
      slot: number
      target: string
      pieces: number
      bytes: number
      ms: number
    }
  | { type: 'repair:failed'; manifestCid: string; slot: number; target: string | null; error: string }
  | { type: 'repair:adopted'; manifestCid: string; slot: number; newHolder: string }
  | { type: 'repair:piece-healed'; manifestCid: string; cid: string; segment: number; slot: number; reason: string }
  | { type: 'repair:piece-failed'; manifestCid: string; cid: string; error: string }

export interface RepairServiceComponents {
  /** The node's own piece store (the service reads and rewrites pieces here). */
  pieceStore: PieceStore
  /** The node's network; called only after `start()` (the network is created after the store it serves). */
  network: () => RepairNetwork
}

export interface RepairServiceInit {
  /** Where repair.json (state) and repair.jsonl (event log) live; omit to keep both in memory only. */
  dataDir?: string
  /** Default `DEFAULT_REPAIR_CHECK_INTERVAL_MS`. */
  checkIntervalMs?: number
  placementRefreshMs?: number
  confirmMs?: number
  fallbackMs?: number
  scrubIntervalMs?: number
  scrubReads?: number
  concurrency?: number
  pieceTimeoutMs?: number
  adoptTimeoutMs?: number
  /**
   * A test switch (the node option `faults.repairHoldFile`): a slot repair stores every piece but the slot's first,
   * then waits until this file exists, so `cairn status --watch` can be shown a repair in progress.
   */
  holdFile?: string
  onProgress?: (event: RepairEvent) => void
  /** Called on the node that took over a slot, once it holds every piece of it: where the chain's repairSlot goes. */
  onSlotRepaired?: (event: SlotRepairedEvent) => void | Promise<void>
}

/** One slot of a file, as this node sees it. */
export interface RepairSlotView {
  slot: number
  /** Live holder, or null when no live node holds the slot (lost). */
  peerId: string | null
  state: PeerState | 'self' | 'lost'
  /** Set while this node rebuilds the slot onto `target`. */
  repair?: { target: string; done: number; pieces: number; startedAt: number }
}

/** A file this node holds pieces of, with its health as this node sees it. */
export interface RepairFileView {
  manifestCid: string
  k: number
  n: number
  segments: number
  mySlots: number[]
  slotsAlive: number
  /** True while at least k slots have a live holder. */
  readable: boolean
  slots: RepairSlotView[]
  adopting: boolean
}

export interface RepairService {
  /**
   * The node's store as the network should serve it: a read of a piece of this node's slots that is missing or
   * corrupt on disk is rebuilt from the other holders, rewritten, and served; a stored manifest registers its file.
   */
  readonly pieceStore: PieceStore
  start(options?: AbortOptions): Promise<void>
  stop(): Promise<void>
  /** The files this node holds and their health. */
  files(): RepairFileView[]
  /** One file by its manifest CID (any codec of the same multihash), or undefined when this node does not know it. */
  file(manifestCid: CID): RepairFileView | undefined
  /** Rebuilds one piece of this node's slots from the other holders and rewrites it; returns its bytes. */
  healPiece(cid: CID, options?: AbortOptions): Promise<Uint8Array>
  /** Runs one round now (placement, lost slots, adoption): tests and benchmarks call it instead of waiting. */
  check(): Promise<void>
  /** Runs one scrub round now (missing pieces, a few read back and verified). */
  scrub(): Promise<void>
}
