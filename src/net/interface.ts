/**
 * The network layer's contract: the libp2p host, peer discovery, heartbeats with a phi-accrual failure detector,
 * and the piece wire protocols. Created through `createNetwork` in ./index.ts.
 */
import type { Libp2p, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { AbortOptions, PieceStore } from '../storage/index.ts'
import type { Reachability, ReachabilityStatus } from './reachability-service.ts'
import type { SlotAcceptanceAnswer, SlotAcceptanceRequest } from './slot-acceptance-protocol.ts'

export type { AbortOptions, Reachability, ReachabilityStatus, SlotAcceptanceAnswer, SlotAcceptanceRequest }

import type { WireSlotTerms, WireUploadTicket } from './slot-acceptance-messages.ts'

export type { WireSlotTerms, WireUploadTicket }

/** Liveness of a peer as judged by the phi-accrual failure detector. */
export type PeerState = 'alive' | 'suspect' | 'dead'

/** What this node knows about one storage peer. */
export interface PeerView {
  peerId: string
  state: PeerState
  /** Milliseconds since the last heartbeat from this peer arrived. */
  lastSeenMs: number
  /** Current suspicion level (0 = just heard from it); capped at 100. */
  phi?: number
  multiaddrs: string[]
  /** Free bytes the peer reported in its last heartbeat. */
  freeSpace?: number
  /** Software version the peer reported. */
  version?: string
  /** Misbehaviour score of the peer on the piece protocol (0 = clean; at -100 it is banned). */
  score?: number
  /** The viewer reached this peer itself just now (e.g. its control API answered): direct evidence it is alive. */
  direct?: boolean
}

/** A slot repair running on the node that answered a file-health query. */
export interface FileHealthRepair {
  slot: number
  /** Peer ID of the node receiving the rebuilt slot. */
  target: string
  /** Pieces of the slot rebuilt and stored on the target so far. */
  done: number
  pieces: number
  /** When the repair started (ms since the epoch, the answering node's clock). */
  startedAt: number
}

/** What one node knows of a file's health (`/cairn/file-health/1.0.0`). */
export interface FileHealthReport {
  /** False when the node knows nothing of the file (the lists are then empty). */
  known: boolean
  /** Slots the node holds itself. */
  mySlots: number[]
  /** Slots the node sees without a live holder. */
  lost: number[]
  /** Slot repairs the node is running. */
  repairs: FileHealthRepair[]
}

/** Bounds and ranking of the peer view (the heartbeat failure detector's table). */
export interface PeerViewInit {
  /** Most peers tracked. Default 10,000 (`MAX_TRACKED_PEERS`). */
  maxPeers?: number
  /** A peer heard from for this long ranks above fresh keys when the view is full. Default 10 min. */
  establishedAfterMs?: number
  /**
   * Peers that rank first and are never displaced by unstaked ones (the node passes Registry-active, staked nodes).
   * Called on every accepted heartbeat: answer from memory (e.g. a Set the node refreshes from the chain).
   * Default: none, so peers rank only as established (heard from for `establishedAfterMs`) or fresh.
   */
  isStaked?: (peerId: string) => boolean
}

export interface NetworkInit {
  /** Ed25519 key of the node (the daemon persists it). */
  privateKey: PrivateKey
  /** Default `['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws']` (devnet: 127.0.0.1). */
  listen?: string[]
  /** Multiaddrs with `/p2p/<id>`. */
  bootstrap?: string[]
  /** Allow loopback/private addresses in the DHT, mDNS off, short timers. */
  devnet?: boolean
  /**
   * Addresses the host announces instead of its listen addresses (a server behind a port forward, a public IP).
   * Omit to announce what the host listens on and what peers observe.
   */
  announce?: string[]
  /**
   * ICE servers (`stun:`/`turn:` URLs) of relay-signalled WebRTC (`/webrtc` listeners): what a node behind NAT needs for
   * browsers on other networks to reach it. Default none: host candidates only, nothing contacted.
   */
  iceServers?: string[]
  /** Keep private (RFC 1918, loopback) addresses in the DHT: a network that says it is a LAN. Default: devnet. */
  allowPrivateAddresses?: boolean
  /** Default true unless devnet. */
  mdns?: boolean
  /** Where the peer store snapshot is persisted (omit = memory only). */
  dataDir?: string
  /** Default 2000 (devnet 1000). */
  heartbeatIntervalMs?: number
  /** Default 8. */
  phiThreshold?: number
  version?: string
  /** Bytes free, sent in heartbeats. */
  freeSpace?: () => number
  /** False for a client-only host (CLI/gateway): no piece handlers, DHT client mode, no presence. Default true. */
  serveStore?: boolean
  /** Seam for the chain registry: extra multiaddrs to dial (called at start and on every reconnect round). */
  peerSources?: Array<() => Promise<string[]>>
  /** Deadline of a store or fetch exchange. Default 60 s. */
  transferTimeoutMs?: number
  /** Deadline of has-pieces and heartbeat exchanges. Default 10 s. */
  controlTimeoutMs?: number
  /** Inbound piece streams one peer may hold open at once. Default 16. */
  maxStreamsPerPeer?: number
  /** Piece bytes one peer may have in flight towards this node. Default 64 MiB. */
  maxBytesInFlightPerPeer?: number
  /** Piece bytes all peers together may have in flight towards this node. Default 256 MiB. */
  maxBytesInFlightTotal?: number
  /** How long a peer whose score fell to -100 stays banned. Default 10 min. */
  banDurationMs?: number
  /** Bound and ranking of the peer view: gossiped fresh keys cannot displace staked or established peers. */
  peerView?: PeerViewInit
  /**
   * Answers file-health queries (the repair service's view of one file); undefined = the file is unknown here.
   * Without it a storing node answers every query with "unknown".
   */
  reportFileHealth?: (manifestCid: CID, options: AbortOptions) => FileHealthReport | undefined
  /**
   * The node's consent policy: upload reservations, slot acceptances, and the gate on inbound piece stores. Without it
   * the node serves no `/cairn/slot-accept/1.0.0` and stores pieces from any peer (tests and benchmarks only).
   */
  slotAcceptance?: SlotAcceptanceHandler
}

/**
 * A storing node's consent policy, served on `/cairn/slot-accept/1.0.0` and applied to inbound piece stores. Answers
 * come from the node's memory and disk; a thrown error is sent as a refusal with its message.
 */
export interface SlotAcceptanceHandler {
  /** `peer` asks for room for `bytes` of pieces for `seconds`. */
  reserve(
    peer: string,
    request: { bytes: number; seconds: number; ticket?: WireUploadTicket },
    options: AbortOptions,
  ): Promise<Extract<SlotAcceptanceAnswer, { type: 'reserve-response' }>>
  /** `peer` asks the node to sign its acceptance of one deal slot. */
  accept(
    peer: string,
    terms: WireSlotTerms,
    options: AbortOptions,
  ): Promise<Extract<SlotAcceptanceAnswer, { type: 'accept-response' }>>
  /**
   * Called before piece `cid` of `bytes` from `peer` is stored: undefined admits it (and counts it against the peer's
   * reservation); otherwise the refusal and its message ('unreserved': the peer has no live reservation; 'full': the
   * piece would exceed it).
   */
  admitStore(peer: string, cid: CID, bytes: number): { refused: 'unreserved' | 'full'; message: string } | undefined
  /**
   * `peer` challenges the node for one leaf of a slot it holds, with its Merkle path (a holder's spot check). Absent:
   * the node refuses every challenge.
   */
  proveLeaf?(
    peer: string,
    challenge: Extract<SlotAcceptanceRequest, { type: 'leaf-request' }>,
    options: AbortOptions,
  ): Promise<Extract<SlotAcceptanceAnswer, { type: 'leaf-response' }>>
}

export interface NetworkComponents {
  pieceStore: PieceStore
}

export interface NetworkEvents {
  /** A peer changed state (alive, suspect, dead), or was heard from for the first time. */
  'peer:state': CustomEvent<PeerView>
  /** The node learnt whether it is reachable from outside (storage nodes outside devnet mode; see `reachability()`). */
  reachability: CustomEvent<ReachabilityStatus>
}

export interface Network extends TypedEventTarget<NetworkEvents> {
  readonly peerId: string
  /** The libp2p host (escape hatch for tests and benchmarks); throws before `start()`. */
  readonly libp2p: Libp2p
  start(): Promise<void>
  stop(): Promise<void>
  /** Addresses this node listens on, each ending in `/p2p/<peerId>`. */
  multiaddrs(): string[]
  /**
   * Whether peers can dial this node (dial-back probes; 'public' on a devnet, 'unknown' on a client), the relays
   * holding a reservation for it and its `/p2p-circuit` addresses through them.
   */
  reachability(): ReachabilityStatus
  /** Sends a piece; resolves once the remote verified it and reported it durable. */
  storePiece(peer: string, cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  /** Fetches a piece; the bytes are verified against `cid` (`CorruptDataError` otherwise). */
  fetchPiece(peer: string, cid: CID, options?: AbortOptions): Promise<Uint8Array>
  /** Asks which of `cids` the peer holds (at most 1024 per call). */
  hasPieces(peer: string, cids: CID[], options?: AbortOptions): Promise<boolean[]>
  /** Asks a storage node what it knows of a file's repair: slots it rebuilds, slots it sees lost. */
  fileHealth(peer: string, manifestCid: CID, options?: AbortOptions): Promise<FileHealthReport>
  /** Asks a storage node for an upload reservation or its signed acceptance of a slot (`/cairn/slot-accept/1.0.0`). */
  slotAcceptance(peer: string, request: SlotAcceptanceRequest, options?: AbortOptions): Promise<SlotAcceptanceAnswer>
  /** Announces in the DHT that this node holds `cid`. */
  provide(cid: CID, options?: AbortOptions): Promise<void>
  /** Peer IDs that announced `cid` in the DHT. */
  findProviders(cid: CID, options?: AbortOptions): AsyncIterable<string>
  /** Every known storage peer with its liveness. */
  peers(): PeerView[]
  /** Adds heartbeat targets (peers we share files with); presence gossip covers the rest. */
  watch(peerIds: string[]): void
  /** Removes heartbeat targets. */
  unwatch(peerIds: string[]): void
  /** Misbehaviour score of a peer on the piece protocol (0 = clean; at -100 it is banned for a while). */
  score(peerId: string): number
}
