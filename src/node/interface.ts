/**
 * The node layer's contract: the storage node daemon (provider role). Implementations live beside this file and are
 * created through the factories exported by ./index.ts. Peer views and abort options are the lower layers' types.
 */
import type { AbortOptions, PeerState, PeerView } from '../net/index.ts'

export type { AbortOptions, PeerState, PeerView }

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
