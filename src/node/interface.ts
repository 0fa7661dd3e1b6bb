/**
 * The node layer's contract: the storage node daemon (provider role). Implementations live beside this file and are
 * created through the factories exported by ./index.ts. Peer views and abort options are the lower layers' types.
 */
import type { AbortOptions, PeerState, PeerView } from '../net/index.ts'

export type { AbortOptions, PeerState, PeerView }

/**
 * Every setting of one storage node, composed from each layer's named defaults (`defaultNodeOptions`). Sources, each
 * over the one below: flags > environment > the data dir's config.json > defaults (`loadNodeOptions`; which flag and
 * which `CAIRN_*` variable set which key is one table in src/cli/node-options-sources.ts).
 */
export interface NodeOptions {
  network: NodeNetworkOptions
  storage: NodeStorageOptions
  chain: NodeChainOptions
  repair: NodeRepairOptions
  gc: NodeGcOptions
  limits: NodeLimitsOptions
  /** Test and benchmark switches: never for production (environment only, never read from config.json). */
  faults: NodeFaultOptions
}

export interface NodeNetworkOptions {
  /** Multiaddrs to listen on. */
  listen: string[]
  /** Multiaddrs (with /p2p/) of nodes to join through. */
  bootstrap: string[]
  /** Local discovery with mDNS. */
  mdns: boolean
  /** Devnet mode: loopback addresses allowed in the DHT, fast timers. */
  devnet: boolean
  /** Heartbeat interval in ms; the network's default (2000, devnet 1000) when absent. */
  heartbeatIntervalMs?: number
  /** Port of the HTTP control API on 127.0.0.1 (0 picks a free one). */
  apiPort: number
  /**
   * Addresses announced to peers and registered in the Registry instead of the listen addresses (a public IP, a port
   * forward); empty: the listen addresses.
   */
  announce: string[]
  /**
   * STUN servers (`stun:` URLs) of the `/webrtc` listener (relay-signalled WebRTC: pages on other networks reaching a
   * node behind NAT); empty: host candidates only. Default: the network file's `iceServers`.
   */
  iceServers: string[]
  /** Private and loopback addresses are dialled and kept in the DHT: a LAN network (also set by the network file). */
  allowPrivateAddresses: boolean
}

export interface NodeStorageOptions {
  /** Disk quota of the piece store in bytes; `Infinity` for none. */
  quota: number
}

/** Where a node's EVM key comes from: a file (mode 0600) or the key's hex text (the environment). */
export type NodePrivateKeySource = { file: string } | { text: string }

export interface NodeChainOptions {
  /** JSON-RPC URL of the chain; absent: the node runs off chain. */
  rpcUrl?: string
  /** More endpoints of the chain, tried in order when `rpcUrl` fails (the network file's further `rpc` URLs). */
  fallbackRpcUrls?: string[]
  /** The deployment file (e.g. a devchain's contracts.json): chain ID, contract addresses, first block. */
  contractsFile?: string
  /** The network file (network.json): chain, contracts, bootstrap list; `rpcUrl` and `contractsFile` override it. */
  networkFile?: string
  /** The node's EVM key. */
  privateKey?: NodePrivateKeySource
  /** Price asked per byte per epoch, in token units. */
  pricePerByteEpoch: bigint
  /** Stake locked at registration, in token units. */
  stake: bigint
  /** Report other nodes' missed proofs. */
  watcher: boolean
  /** Widest eth_getLogs block range asked of the endpoint (public endpoints cap it; default 2,000). */
  logBlockRange: number
}

/** The repair service's tunables (see `RepairServiceInit`). */
export interface NodeRepairOptions {
  checkIntervalMs: number
  placementRefreshMs: number
  confirmMs: number
  fallbackMs: number
  scrubIntervalMs: number
  scrubReads: number
  concurrency: number
  pieceTimeoutMs: number
  adoptTimeoutMs: number
}

/** The garbage collector's tunables (see `PieceCollectorInit`; a node off chain has no collector). */
export interface NodeGcOptions {
  /** How long pieces stay after nothing needs them any more, and how old an unreferenced piece must be to go. */
  graceMs: number
  /** How often the piece store is swept. */
  intervalMs: number
}

/** Piece bytes the node accepts in flight (memory bound while it receives). */
export interface NodeLimitsOptions {
  maxBytesInFlightTotal: number
  maxBytesInFlightPerPeer: number
}

/** Test and benchmark switches. Never for production: each makes the node misbehave or slows it on purpose. */
export interface NodeFaultOptions {
  /** Serve every piece with one byte flipped (a faulty disk or a dishonest node). */
  corruptServedPieces: boolean
  /** Keep no piece, confirm slots without checking and answer challenges with made-up leaves. */
  fakeProofs: boolean
  /** A file a slot repair waits for before it stores the slot's last piece ('' for none): holds a repair to be watched. */
  repairHoldFile: string
  /** Serve the raw-stream benchmark protocol (`npm run bench -- transfer`). */
  benchSink: boolean
  /** Test-only crash switch `<point>:<n>` (CAIRN_FAULT_CRASH_AT): SIGKILL on the n-th hit of a crash point; '' off. */
  crashAt: string
}

/** One source of settings (the config file, the environment, the flags): any key of any section. */
export type NodeOptionsLayer = { [S in keyof NodeOptions]?: Partial<NodeOptions[S]> }

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
