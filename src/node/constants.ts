/** Named defaults of the node daemon and the client. Applied as `init.x ?? DEFAULT_X`. */

/** Erasure parameters of a put when the user chooses none: three plain copies. */
export const DEFAULT_K = 1
export const DEFAULT_N = 3

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

/** Pieces a client has in flight at once during a put (the backpressure on the encoder). */
export const DEFAULT_PUT_CONCURRENCY = 8

/** Bytes of piece data a client has in flight at once during a put (bounds the client's memory). */
export const DEFAULT_PUT_MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024

/**
 * Piece bytes a storage node accepts in flight from all peers together, and from one peer. Lower than the network
 * layer's defaults so that a node's resident memory stays under 256 MB while it receives at full speed.
 */
export const DEFAULT_NODE_MAX_BYTES_IN_FLIGHT = 64 * 1024 * 1024
export const DEFAULT_NODE_MAX_BYTES_IN_FLIGHT_PER_PEER = 40 * 1024 * 1024

/** Attempts to store one slot: the first node plus replacements when one fails. */
export const DEFAULT_SLOT_ATTEMPTS = 4

/** Worker threads encoding segments during a put (0: on the calling thread; measured no faster on 2 cores, and each worker costs RSS). */
export const DEFAULT_ENCODE_WORKERS = 0

/** Segments a client decodes in parallel during a get. */
export const DEFAULT_GET_CONCURRENCY = 4

/**
 * A get request slower than this is raced by a request to another slot (the slow one is then cancelled). Longer
 * than the storage layer's default: on a busy machine an eager hedge doubles the load it is trying to escape.
 */
export const DEFAULT_GET_HEDGE_MS = 5_000

/** Deadline of one piece request during put or get (a safety net: the network has its own transfer deadline). */
export const DEFAULT_PIECE_TIMEOUT_MS = 120_000

/** Deadline of asking one node which pieces it holds. */
export const DEFAULT_PROBE_TIMEOUT_MS = 5_000

/** Nodes asked at once whether they hold a file's manifest. */
export const MANIFEST_PROBE_WAVE = 16

/** Deadline of one call to a node's control API. */
export const DEFAULT_CONTROL_TIMEOUT_MS = 3_000

/** Data folder names inside a node's data dir. */
export const PEER_KEY_FILE = 'peer.key'
export const CONFIG_FILE = 'config.json'
export const PEERS_FILE = 'peers.json'
export const READY_FILE = 'node.json'
export const PIECES_DIR = 'pieces'

/** The devnet's state file inside its folder. */
export const DEVNET_FILE = 'devnet.json'
export const DEFAULT_DEVNET_NODES = 6
export const DEFAULT_DEVNET_DIR = '.cairn-devnet'
/** Heartbeat interval of devnet nodes (short: a devnet lives on one machine). */
export const DEFAULT_DEVNET_HEARTBEAT_MS = 1_000
/** Longest wait for every devnet node to be up and connected. */
export const DEFAULT_DEVNET_READY_TIMEOUT_MS = 60_000

/** Where the client keeps its record of files put (JSON lines), relative to the client dir. */
export const FILES_RECORD = 'files.jsonl'

/**
 * V8 flags of node processes (the devnet passes them; bin/cairn.js's shebang sets them for the CLI): a small young
 * generation, because pieces are short-lived multi-MiB buffers and the default 16 MiB semi-spaces cost 40-90 MB of
 * resident memory per process for no measured speed (docs/benchmarks.md, Transfer).
 */
export const NODE_PROCESS_FLAGS = ['--max-semi-space-size=2']
