/**
 * The API layer's contract: what the gateway needs from a Cairn client (`FileService`), the JSON shapes of the HTTP
 * API (shared by the server, the typed client, the CLI and the dashboard) and the gateway's own options.
 * This file must stay free of Node-only imports: the dashboard loads it in the browser.
 */

// The type imports below make the dashboard's type check (web/tsconfig.json, lib es2023) read src/storage, whose
// buffer-release.ts uses ArrayBuffer.transfer (es2024): this brings in that one lib file. Nothing reaches run time.
/// <reference lib="es2024.arraybuffer" />
import type { PeerState } from '../net/index.ts'
import type { AbortOptions } from '../storage/index.ts'

export type { AbortOptions, PeerState }

/** Progress of a long transfer, in plaintext bytes. `total` is undefined when the size is not known in advance. */
export interface TransferProgress {
  type: 'progress'
  bytes: number
  total?: number
}

export interface PutInit {
  /** Data shards per segment (1 = plain replication). The service picks its default when absent. */
  k?: number
  /** Total shards (slots) per segment. */
  n?: number
  name?: string
  /** MIME type, kept in the encrypted metadata. */
  type?: string
}

export interface PutOptions extends AbortOptions {
  onProgress?: (event: TransferProgress) => void
}

export interface PutResult {
  /** `cairn:<manifest CID>#<base64url key>` */
  capability: string
  /** Plaintext bytes stored. */
  size: number
  k: number
  n: number
}

/** What the manifest says about a file; cheap (no piece is fetched). */
export interface FileStat {
  size: number
  k: number
  n: number
  name?: string
  type?: string
}

export interface ByteRange {
  /** First byte, 0 when absent. */
  offset?: number
  /** Bytes to read from `offset`; to the end when absent. */
  length?: number
}

export interface GetResult {
  /** Plaintext size of the whole file (not of the range). */
  size: number
  stream: AsyncIterable<Uint8Array>
}

export type SlotState = PeerState | 'unknown' | 'repairing'
export type FileHealth = 'healthy' | 'degraded' | 'at-risk' | 'lost'

export interface SlotStatus {
  slot: number
  /** libp2p peer ID of the holder, when one is known. */
  peerId?: string
  state: SlotState
  /** Pieces of this slot the holder confirmed (when checked). */
  pieces?: number
  /** Set while a node rebuilds this slot onto `to` (peer ID): `done` of `pieces` stored so far. */
  repair?: { from: string; to: string; done: number; pieces: number }
}

export interface FileStatus {
  /** Manifest CID (never the key). */
  manifest: string
  size: number
  k: number
  n: number
  segments: number
  /** Segments with at least k pieces on reachable nodes (of `segments`): all of them means the file reads whole. */
  segmentsReadable: number
  health: FileHealth
  /** Why a lost slot cannot be repaired now (no spare node), when it cannot; shown by the dashboard. */
  repairBlocked?: string
  slots: SlotStatus[]
  /** Deal on chain, when there is one. */
  dealId?: string
}

/** Chain view of a node. Token amounts are decimal strings of the token's smallest unit (they exceed 2^53). */
export interface NodeChainState {
  address: string
  stake: string
  status: string
  /** Epoch of the last valid proof, when any. */
  lastProofEpoch?: number
  proofsMade?: number
  proofsMissed?: number
  earnings: string
}

export interface NodeInfo {
  peerId: string
  /** Failure detector's verdict from heartbeats. */
  state: PeerState
  multiaddrs: string[]
  /** Milliseconds since the epoch of the last heartbeat received. */
  lastHeartbeat?: number
  /** Phi-accrual suspicion level, when known. */
  phi?: number
  freeBytes?: number
  usedBytes?: number
  pieces?: number
  version?: string
  chain?: NodeChainState
  /** Operator-facing name, e.g. `node-3` on a devnet. */
  label?: string
}

export interface DealSlot {
  slot: number
  provider?: string
  peerId?: string
  lastProofEpoch?: number
  missed?: number
}

export interface DealInfo {
  id: string
  manifest: string
  size: number
  k: number
  n: number
  client?: string
  escrow: string
  paid: string
  /** Protocol fees the deal's proofs burned: the escrow drops by `paid + burned`. */
  burned: string
  startEpoch?: number
  endEpoch?: number
  status?: string
  slots: DealSlot[]
}

export interface WalletInfo {
  address: string
  /** Token balance (smallest unit, decimal string). */
  balance: string
  /** Native coin balance for gas (wei, decimal string). */
  gas?: string
  escrowLocked?: string
  symbol?: string
  decimals?: number
}

/**
 * An epoch of the bank: `minted` is what its rewards mint (`epochRewards`, at most half of `burned`), `burned` the
 * protocol fees its proofs burned (`epochFees`), `paid` what its proofs paid the nodes.
 */
export interface BankEpoch {
  epoch: number
  minted: string
  burned: string
  paid: string
}

/** The bank since genesis, and per epoch. */
export interface BankInfo {
  epoch: number
  totalMinted: string
  totalBurned: string
  totalPaid: string
  /** The bank's budget for the current epoch (`emission`): the most its rewards may mint. */
  rewardPerEpoch?: string
  history: BankEpoch[]
}

/** Live events, pushed to `/api/v1/events` as server-sent events (the `event:` field is `type`). */
export type CairnEvent =
  | { type: 'node:state'; at: number; peerId: string; state: PeerState; previous?: PeerState }
  | { type: 'file:stored'; at: number; manifest: string; size: number; name?: string }
  | {
      type: 'piece:stored'
      at: number
      manifest?: string
      slot: number
      peerId?: string
      segment?: number
      bytes?: number
    }
  | { type: 'repair:started'; at: number; manifest: string; slot: number; from?: string; to?: string }
  | { type: 'repair:finished'; at: number; manifest: string; slot: number; to?: string; ok: boolean }
  | { type: 'proof:submitted'; at: number; dealId?: string; slot?: number; peerId?: string; epoch?: number }
  | { type: 'proof:missed'; at: number; dealId?: string; slot?: number; peerId?: string; epoch?: number }
  | { type: 'payment'; at: number; dealId?: string; to?: string; amount: string; epoch?: number }

export type CairnEventType = CairnEvent['type']

/**
 * The narrow surface the gateway needs from a Cairn client. The node's client implements it through
 * `createCairnFileService`; unit tests pass an in-memory one.
 */
export interface FileService {
  put(source: AsyncIterable<Uint8Array>, init: PutInit, options?: PutOptions): Promise<PutResult>
  /** Throws `NotFoundError` / `InvalidCapabilityError`; `range` must already be inside the file. */
  get(capability: string, range: ByteRange, options?: AbortOptions): Promise<GetResult>
  stat(capability: string, options?: AbortOptions): Promise<FileStat>
  status(capability: string, options?: AbortOptions): Promise<FileStatus>
  nodes(options?: AbortOptions): Promise<NodeInfo[]>
  deals?(options?: AbortOptions): Promise<DealInfo[]>
  wallet?(options?: AbortOptions): Promise<WalletInfo>
  bank?(options?: AbortOptions): Promise<BankInfo>
  /** Live events; returns the unsubscribe function. */
  subscribe?(listener: (event: CairnEvent) => void): () => void
  /**
   * The user's record of the files it stored: through this gateway (API and S3), `cairn put` or another gateway of
   * the same record (the client's files.jsonl: one list, whoever stored the file). Oldest first.
   */
  list(options?: AbortOptions): Promise<StoredFile[]>
  /** The record of one file, if the user has one. */
  find(capability: string, options?: AbortOptions): Promise<StoredFile | undefined>
  /** Forgets a file from the record (its deals run on); false when it was not recorded. */
  forget(capability: string, options?: AbortOptions): Promise<boolean>
  /**
   * Ends the file's deals that the user's wallet opened (the escrow no node can still earn comes back; the nodes
   * delete the pieces after their grace period) and forgets it. Absent off chain.
   */
  remove?(capability: string, options?: AbortOptions): Promise<RemovedFile>
  /** Adds a file stored before to the record (a gateway index of an earlier version, migrated once). */
  adopt(file: StoredFile): Promise<void>
}

/** What removing a file did to each of its deals. */
export interface RemovedFile {
  deals: Array<{ dealId: string; outcome: 'ended' | 'already-ended' | 'unchanged'; refund: string }>
}

/** A file the user stored (the user's record keeps this list; the network does not). */
export interface StoredFile {
  capability: string
  manifest: string
  name?: string
  type?: string
  size: number
  k: number
  n: number
  /** Milliseconds since the epoch. */
  createdAt: number
}

export interface GatewayInfo {
  version: string
  url: string
  s3Endpoint?: string
  publicReads: boolean
}

/** Body of every error answer of `/api/v1`. */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> }
}

export interface S3Credentials {
  endpoint: string
  accessKeyId: string
  secretAccessKey: string
  region: string
}

export interface RateLimitInit {
  /** Requests per window per client address. */
  max?: number
  /** Window in milliseconds. */
  windowMs?: number
}

export interface GatewayInit {
  /** Folder for the API token, S3 keys, the S3 object index and the list of stored files (created when missing). */
  dataDir: string
  host?: string
  /** 0 picks a free port. */
  port?: number
  /** Port of the S3-compatible endpoint; 0 picks a free one; `false` disables S3. */
  s3Port?: number | false
  s3Region?: string
  /** Downloads by capability (`GET /api/v1/files/:capability/content`) without a token. */
  publicReads?: boolean
  /** Largest upload accepted, in bytes. */
  maxUploadBytes?: number
  /** Redundancy of objects written through S3 (the file service's default when absent). */
  s3Redundancy?: { k?: number; n?: number }
  rateLimit?: RateLimitInit | false
  /** Folder of the built dashboard (web/dist); the dashboard is not served when absent or missing. */
  webRoot?: string
  /** Poll `nodes()` this often (ms) to emit `node:state` events when the service has no live events. */
  nodePollMs?: number
  /** Watch the slots of this many most recent files (0: off) to report repairs as events. */
  watchFiles?: number
  watchIntervalMs?: number
}

export interface GatewayComponents {
  files: FileService
  /** Prometheus registry to expose at /metrics; the gateway creates its own when absent. */
  metrics?: import('./metrics.ts').CairnMetrics
  /** Answers `GET /api/v1/quote` (a gateway on chain); absent: 404. */
  quote?: import('./quote-route.ts').QuoteService
  /** Renews the user's deals before they end (a gateway on chain); started and stopped with the gateway. */
  renewer?: import('./deal-renewer.ts').DealRenewer
}

export interface Gateway {
  start(): Promise<void>
  stop(): Promise<void>
  /** `http://host:port` once started. */
  readonly url: string
  /** `http://host:s3port` once started, undefined when S3 is disabled. */
  readonly s3Endpoint: string | undefined
  /** The bearer token mutating calls need. */
  readonly token: string
  /** Publishes an event to SSE subscribers (the node wiring may push its own). */
  publish(event: CairnEvent): void
}
