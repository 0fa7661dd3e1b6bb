/** Named defaults of the node daemon. Applied as `init.x ?? DEFAULT_X`. */

/** Listen addresses of `cairn node start` when neither flag nor config file names any. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0']
/** Port of the local HTTP control API (on 127.0.0.1). 0 picks a free port. */
export const DEFAULT_API_PORT = 0
/** Disk quota of a node's piece store; `Infinity` means no limit. */
export const DEFAULT_QUOTA = Number.POSITIVE_INFINITY
/** How often a node saves the multiaddrs of the peers it knows to its data dir (peers.json). */
export const DEFAULT_PEER_SAVE_INTERVAL_MS = 10_000
/** Most peers a node exchanges direct heartbeats with (its remembered and connected peers). */
export const MAX_WATCHED_PEERS = 32
/** Most peers a node remembers in peers.json. */
export const MAX_SAVED_PEERS = 200
/**
 * Piece bytes a storage node accepts in flight from all peers together, and from one peer. Lower than the network
 * layer's defaults so that a node's resident memory stays under 256 MB while it receives at full speed.
 */
export const DEFAULT_NODE_MAX_BYTES_IN_FLIGHT = 64 * 1024 * 1024
export const DEFAULT_NODE_MAX_BYTES_IN_FLIGHT_PER_PEER = 40 * 1024 * 1024
/** Deadline of one call to a node's control API. */
export const DEFAULT_CONTROL_TIMEOUT_MS = 3_000
/** Data folder names inside a node's data dir. */
export const PEER_KEY_FILE = 'peer.key'
export const CONFIG_FILE = 'config.json'
export const PEERS_FILE = 'peers.json'
export const READY_FILE = 'node.json'
export const PIECES_DIR = 'pieces'
