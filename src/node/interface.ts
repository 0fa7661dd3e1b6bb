import type { CID } from 'multiformats/cid'
import type { FileHealthReport } from '../net/interface.ts'

/**
 * The node layer's contract: the storage node daemon (provider role) and the client (put, get, status).
 * Implementations live beside this file and are created through the factories exported by ./index.ts.
 */

export interface AbortOptions {
  signal?: AbortSignal
}

/** A peer's state in a failure detector's view. */
export type PeerState = 'alive' | 'suspect' | 'dead'

/** One peer as a node (or the client) sees it. */
export interface PeerView {
  peerId: string
  state: PeerState
  /** Milliseconds since the peer was last heard from (its last heartbeat). */
  lastSeenMs: number
  phi?: number
  /** Misbehaviour score on the piece protocol (0 = clean). */
  score?: number
  multiaddrs: string[]
  freeSpace?: number
  version?: string
  /** The viewer reached this peer itself just now (e.g. its control API answered): direct evidence it is alive. */
  direct?: boolean
}

/** The settings of one storage node: flags override the data dir's config.json, which overrides the defaults. */
export interface NodeConfig {
  /** Multiaddrs to listen on. */
  listen: string[]
  /** Multiaddrs (with /p2p/) of nodes to join through. */
  bootstrap: string[]
  /** Disk quota of the piece store in bytes; `Infinity` for none. */
  quota: number
  /** Port of the HTTP control API on 127.0.0.1 (0 picks a free one). */
  apiPort: number
  /** Local discovery with mDNS. */
  mdns: boolean
  /** Devnet mode: loopback addresses allowed in the DHT, fast timers. */
  devnet: boolean
  /** Heartbeat interval in ms; the network's default when absent. */
  heartbeatIntervalMs?: number
}

/** What a started node publishes about itself (the data dir's node.json and the ready line on stdout). */
export interface NodeInfo {
  peerId: string
  pid: number
  multiaddrs: string[]
  /** Base URL of the control API, e.g. `http://127.0.0.1:41234`. */
  api: string
  dataDir: string
  startedAt: number
  version: string
}

/** Space used by a node's piece store. */
export interface NodeUsage {
  pieces: number
  bytes: number
  /** `null` when there is no quota. */
  quota: number | null
}

/** A running storage node: piece store + libp2p network + control API. */
export interface StorageNode {
  readonly peerId: string
  start(options?: AbortOptions): Promise<NodeInfo>
  stop(): Promise<void>
  info(): NodeInfo
}

/** One node of a devnet as recorded in devnet.json. */
export interface DevnetNode {
  peerId: string
  pid: number
  multiaddrs: string[]
  api: string
  dataDir: string
  /** The node's EVM account (when the devnet runs a chain). */
  address?: `0x${string}`
}

/** The devnet's state file (DIR/devnet.json). */
export interface DevnetState {
  nodes: DevnetNode[]
  dir: string
  startedAt: number
  /** The devchain: RPC URL, contracts and the user's wallet (absent when the devnet runs without a chain). */
  chain?: DevnetChain
  /** The gateway's URL, when `cairn devnet` started one. */
  gateway?: string
}

/** The devnet process manager. */
export interface Devnet {
  start(options?: AbortOptions): Promise<DevnetState>
  stop(): Promise<void>
  state(): DevnetState
}

/** The part of the network the client uses (satisfied by src/net's Network). */
export interface ClientNetwork {
  readonly peerId: string
  storePiece(peer: string, cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  /** Resolves with bytes verified against `cid`; `CorruptDataError` when the peer sent others. */
  fetchPiece(peer: string, cid: CID, options?: AbortOptions): Promise<Uint8Array>
  hasPieces(peer: string, cids: CID[], options?: AbortOptions): Promise<boolean[]>
  peers(): PeerView[]
  findProviders?(cid: CID, options?: AbortOptions): AsyncIterable<string>
  /** What a storage node knows of a file's repair (`/cairn/file-health/1.0.0`); status works without it. */
  fileHealth?(peer: string, manifestCid: CID, options?: AbortOptions): Promise<FileHealthReport>
}

/** Where a file's slot lives. */
export interface SlotPlacement {
  index: number
  peerId: string
}

/** The outcome of a put: the file is stored on every slot. */
export interface PutResult {
  capability: string
  manifestCid: string
  size: number
  k: number
  n: number
  slots: SlotPlacement[]
  /** Each slot's Merkle root (0x hex) and byte size, as the manifest commits to them (what a deal names). */
  commitments?: Array<{ root: `0x${string}`; size: number }>
}

export interface PutInit {
  /** Pieces needed to read a segment (1 = replication). */
  k?: number
  /** Pieces stored per segment, each on a different node. */
  n?: number
  segmentSize?: number
  metadata?: { name?: string; type?: string; mtime?: number }
  /** Only nodes this accepts may hold a slot (e.g. those whose price is within the deal's maximum). */
  eligible?: (peerId: string) => boolean
  onProgress?: (event: ClientProgressEvent) => void
}

export interface GetInit {
  offset?: number
  length?: number
  /** Peer IDs to ask first (e.g. a nearby node). */
  prefer?: string[]
  onProgress?: (event: ClientProgressEvent) => void
}

/** A slot being rebuilt onto a new node, as the node doing it reported it. */
export interface SlotRepairStatus {
  slot: number
  /** Peer ID of the node rebuilding the slot (the repairer). */
  from: string
  /** Peer ID of the node receiving the slot. */
  to: string
  /** Pieces rebuilt and stored on `to` so far (of `pieces`). */
  done: number
  pieces: number
  /** When the repair started (ms since the epoch, the repairer's clock). */
  startedAt: number
}

/** One slot of a file in a status report. */
export interface SlotStatus {
  index: number
  /** `null` when no node is known to hold the slot. */
  peerId: string | null
  state: PeerState
  /** Pieces of the slot the holder confirmed it has (of `pieces`); 0 when it could not be asked. */
  held: number
  pieces: number
  /** Set while a node rebuilds this slot onto another (the most advanced repair when several run). */
  repair?: SlotRepairStatus
}

export interface FileStatus {
  capability: string
  manifestCid: string
  size: number
  k: number
  n: number
  /** True when every segment has at least k pieces held by reachable nodes (a get can read the whole file). */
  readable: boolean
  /** Slots held in full by alive nodes (of `n`). */
  slotsAlive: number
  /** Segments of the file (each is k-of-n erasure coded). */
  segments: number
  /** Segments for which reachable nodes confirmed holding at least k distinct pieces (of `segments`). */
  segmentsReadable: number
  /** Slot repairs running now, as the repairing nodes report them (by slot). */
  repairs: SlotRepairStatus[]
  slots: SlotStatus[]
}

/** A file in the client's local record (`cairn ls`). */
export interface FileRecord {
  capability: string
  manifestCid: string
  size: number
  k: number
  n: number
  slots: SlotPlacement[]
  name?: string
  storedAt: number
}

/** The client's local record of files put. */
export interface FileRecordStore {
  add(record: FileRecord): Promise<void>
  find(manifestCid: string): Promise<FileRecord | undefined>
  list(): Promise<FileRecord[]>
}

/** Progress of client operations; only cli/ draws them. */
export type ClientProgressEvent =
  | { type: 'put:placement'; slots: SlotPlacement[] }
  | { type: 'put:read'; bytes: number }
  | { type: 'put:piece'; segment: number; slot: number; peerId: string; bytes: number }
  | { type: 'put:retry'; slot: number; from: string; to: string; error: string }
  | { type: 'put:manifest'; manifestCid: string }
  | { type: 'get:manifest'; size: number; k: number; n: number; holders: number }
  | { type: 'get:bytes'; bytes: number; total: number }
  | { type: 'get:corrupt'; peerId: string; cid: string; segment: number; slot: number }
  | { type: 'get:fallback'; peerId: string; cid: string; error: string }

/** The client: put, get and status of files over the network. */
export interface Client {
  /** Live storage nodes as the client sees them right now. */
  nodes(options?: AbortOptions): Promise<PeerView[]>
  put(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    init?: PutInit,
    options?: AbortOptions,
  ): Promise<PutResult>
  get(capability: string, init?: GetInit, options?: AbortOptions): AsyncIterable<Uint8Array>
  status(capability: string, options?: AbortOptions): Promise<FileStatus>
}

/** The chain part of devnet.json (`rpcUrl` and `account` are what the gateway reads; `rpc` and `user` the CLI). */
export interface DevnetChain {
  rpc: string
  rpcUrl: string
  chainId: number
  contracts: { token: `0x${string}`; registry: `0x${string}`; market: `0x${string}` }
  /** First block of the contracts (event queries start here), as a decimal string. */
  blockNumber: string
  epochSeconds: number
  /** The user's funded wallet: its address and the file holding its key. */
  user: { address: `0x${string}`; keyFile: string }
  account: `0x${string}`
}
