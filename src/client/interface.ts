/**
 * The client's contract: put, get and status of files over the network, and the user's local record of files.
 * Created through `createClient` in ./index.ts.
 */
import type { CID } from 'multiformats/cid'
import type {
  AbortOptions,
  FileHealthReport,
  PeerState,
  PeerView,
  SlotAcceptanceAnswer,
  SlotAcceptanceRequest,
} from '../net/index.ts'
import type { UploadTicketSigner } from '../node/index.ts'

/** The part of the network the client uses (satisfied by src/net's Network). */
export interface ClientNetwork {
  readonly peerId: string
  storePiece(peer: string, cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  /**
   * Resolves with bytes verified against `cid`; `CorruptDataError` when the peer sent others. The buffer is the
   * caller's: a get frees it as soon as its segment is decoded.
   */
  fetchPiece(peer: string, cid: CID, options?: AbortOptions): Promise<Uint8Array>
  hasPieces(peer: string, cids: CID[], options?: AbortOptions): Promise<boolean[]>
  peers(): PeerView[]
  findProviders?(cid: CID, options?: AbortOptions): AsyncIterable<string>
  /**
   * Upload reservations and slot acceptances (`/cairn/slot-accept/1.0.0`): a put reserves room on every node before
   * it sends pieces, and a deal asks each node to sign its acceptance of its slot.
   */
  slotAcceptance(peer: string, request: SlotAcceptanceRequest, options?: AbortOptions): Promise<SlotAcceptanceAnswer>
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
  /** What the Registry says of the nodes (`registeredNodes(...).placement`): one slot per operator, spread by endpoints. */
  placement?: RegistryPlacement
  onProgress?: (event: ClientProgressEvent) => void
}

/**
 * What the Registry records of the nodes, for a put's placement. Replicas are byte-identical, so one operator holding
 * two slots keeps one copy: a put gives each operator at most one slot (the Market refuses two, DuplicateOperator),
 * and spreads slots over the /24s of the endpoints nodes registered instead of those they report in heartbeats.
 */
export interface RegistryPlacement {
  /** The account operating the node (undefined: unknown, the node counts as its own operator). */
  operatorOf(peerId: string): string | undefined
  /** The endpoints the node registered (undefined or empty: its heartbeat addresses are used). */
  endpointsOf(peerId: string): string[] | undefined
  /**
   * Signs the upload ticket a node on chain needs before it takes pieces, with the wallet that will pay the deal
   * (`registeredNodes` of a `ChainClient` sets it). Absent: reservations carry no ticket (nodes off chain).
   */
  uploadTicket?: UploadTicketSigner
  /**
   * The Registry read again once the pieces are stored, right before the deal: which nodes are still active. A node
   * jailed (or gone) during the upload has its slot moved to an active spare, instead of the deal failing. Absent: no
   * second read.
   */
  stillActive?: (options?: AbortOptions) => Promise<(peerId: string) => boolean>
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
  /**
   * Why a lost slot cannot be repaired now, when it cannot: every live node already holds a slot of this file, and a
   * slot needs a node of its own. Absent when the file is whole, a repair runs, or a spare node exists.
   */
  repairBlocked?: string
  slots: SlotStatus[]
}

/** A file in the client's local record (`cairn ls`): what its put returned, its name, and when it was stored. */
export interface FileRecord extends Omit<PutResult, 'commitments'> {
  name?: string
  /** The content type an upload declared (the gateway's). */
  type?: string
  storedAt: number
}

/** The client's local record of files put. */
export interface FileRecordStore {
  add(record: FileRecord): Promise<void>
  find(manifestCid: string): Promise<FileRecord | undefined>
  /** The files recorded and not forgotten since. */
  list(): Promise<FileRecord[]>
  /** Forgets a file (`cairn rm`, the gateway's DELETE): durable once it resolves; false when it was not listed. */
  forget(manifestCid: string): Promise<boolean>
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
