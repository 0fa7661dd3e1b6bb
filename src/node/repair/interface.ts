/**
 * Types of the repair service: self-healing without the file's owner. Storage nodes that share a file watch each
 * other; when a slot's holder dies, one of the others rebuilds the slot from any k slots onto a new node; a piece
 * found missing or corrupt on a holder is rebuilt from the others and rewritten.
 */
import type { CID } from 'multiformats/cid'
import type { Network } from '../../net/index.ts'
import type { PieceStore } from '../../storage/index.ts'
import type { AbortOptions, PeerState } from '../index.ts'

/**
 * What the repair service uses of the network. `slotAcceptance` reserves room on a repair's target before its pieces
 * are sent (nodes accept pieces only under a reservation); a network without it (tests) stores without one.
 */
export type RepairNetwork = Pick<
  Network,
  'peerId' | 'peers' | 'multiaddrs' | 'fetchPiece' | 'storePiece' | 'hasPieces' | 'watch'
> &
  Partial<Pick<Network, 'slotAcceptance'>>

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
  /** Another holder's repair of the slot is in flight (its target's pieces keep growing): this node waits. */
  | { type: 'repair:waiting'; manifestCid: string; slot: number; target: string }
  | { type: 'repair:adopted'; manifestCid: string; slot: number; newHolder: string }
  | { type: 'repair:piece-healed'; manifestCid: string; cid: string; segment: number; slot: number; reason: string }
  | { type: 'repair:piece-failed'; manifestCid: string; cid: string; error: string }
  /** A peer claimed a slot of the file but failed its spot check: not a holder, remembered as failed for a while. */
  | { type: 'repair:holder-rejected'; manifestCid: string; slot: number; peerId: string; reason: string }
  /** A stored manifest this node does not track (not accepted, over a bound): it starts no repair. */
  | { type: 'repair:file-ignored'; manifestCid: string; reason: string }

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
  /**
   * Whether a peer may count as a slot's holder, serve a rebuild, or receive a repaired slot. With a chain: a
   * Registry-active staked node (`registryPeers(reader).isStaked`). Asked often: answer from memory. Default: every
   * peer (the off-chain devnet). This node always counts for itself.
   */
  isEligible?: (peerId: string) => boolean
  /**
   * A peer's capacity in bytes as the Registry records it (undefined: unknown), the rank of repair targets after
   * address spreading. Default: none (targets spread by a hash of file, slot and peer). Free space a peer reports in
   * its own heartbeats is never used: anyone can claim a petabyte.
   */
  capacityOf?: (peerId: string) => bigint | undefined
  /**
   * Whether a stored manifest (raw piece CID's dag-cbor twin) may be tracked: with a chain, the manifest of a deal
   * this node accepted a slot of (or is taking over by repair). Asked once per manifest stored and at start for each
   * saved file. Default: every manifest, within `maxFileSlots`, `maxFiles` and `maxTrackedManifestBytes`.
   */
  isAcceptedManifest?: (manifestCid: CID) => boolean | Promise<boolean>
  /** Files with more slots than this are not tracked (a forged k = 1, n = 255 file would push 254 slots). */
  maxFileSlots?: number
  /** Files tracked at most; further manifests are not tracked. */
  maxFiles?: number
  /** Manifest bytes held in memory for tracked files, at most. */
  maxTrackedManifestBytes?: number
  /** Files being adopted (manifest without any piece yet) at most. */
  maxAdopting?: number
  /** Slot repairs one file may start per `repairPeriodMs`. */
  maxRepairsPerFile?: number
  repairPeriodMs?: number
  /** How long a holder's passed spot check counts before a new random piece is fetched from it. */
  spotCheckTtlMs?: number
  /** How long a peer that failed a spot check (or served wrong bytes) counts as no holder and no target. */
  failedPeerMs?: number
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
  /**
   * Stops tracking a file (the garbage collector, before it deletes the file's pieces): it is no longer watched,
   * repaired or healed on read, and leaves repair.json. False when the file was not tracked or a slot repair of it
   * runs now (try again later).
   */
  forget(manifestCid: CID): boolean
  /** Rebuilds one piece of this node's slots from the other holders and rewrites it; returns its bytes. */
  healPiece(cid: CID, options?: AbortOptions): Promise<Uint8Array>
  /** Runs one round now (placement, lost slots, adoption): tests and benchmarks call it instead of waiting. */
  check(): Promise<void>
  /** Runs one scrub round now (missing pieces, a few read back and verified). */
  scrub(): Promise<void>
}
