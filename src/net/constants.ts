/**
 * Named defaults and limits of the network layer. Every limit here is also documented in docs/protocol.md.
 */

/** Protocol of the piece transfer requests (store, fetch, has). One request and one response per stream. */
export const PIECE_PROTOCOL = '/cairn/piece/1.0.0'
/** Protocol of the direct heartbeat exchange between peers that share files. */
export const HEARTBEAT_PROTOCOL = '/cairn/heartbeat/1.0.0'
/** Kademlia protocol string of Cairn's DHT (kept apart from the public IPFS DHT). */
export const KAD_PROTOCOL = '/cairn/kad/1.0.0'
/** Gossipsub topic on which storage nodes announce presence (the payload is a signed heartbeat). */
export const PRESENCE_TOPIC = '/cairn/presence/1.0.0'

export const DEFAULT_LISTEN: readonly string[] = ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws']
export const DEVNET_LISTEN: readonly string[] = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000
export const DEVNET_HEARTBEAT_INTERVAL_MS = 1000
/** Heartbeat intervals outside this range are refused (init) or clamped (received). */
export const MIN_HEARTBEAT_INTERVAL_MS = 100
export const MAX_HEARTBEAT_INTERVAL_MS = 60_000

/** Phi at or above which a peer is dead (Cassandra's default is 8). */
export const DEFAULT_PHI_THRESHOLD = 8
/** A peer is suspect from `threshold * SUSPECT_PHI_RATIO` on. */
export const SUSPECT_PHI_RATIO = 0.5
/** Inter-arrival samples kept per peer by the failure detector. */
export const DEFAULT_PHI_WINDOW_SIZE = 100
/** Silence tolerated on top of the mean interval, as a fraction of the expected interval (one lost heartbeat). */
export const DEFAULT_ACCEPTABLE_PAUSE_RATIO = 1
/** Lower bound of the standard deviation, as a fraction of the expected interval (avoids hair triggers). */
export const DEFAULT_MIN_STD_DEVIATION_RATIO = 0.25
/** Phi is reported capped at this value (instead of Infinity) so that it survives JSON. */
export const MAX_REPORTED_PHI = 100
/** A peer silent (dead) for this long is dropped from the view. */
export const DEFAULT_FORGET_DEAD_AFTER_MS = 60 * 60 * 1000
/** Boots per peer remembered as left (their heartbeats, replayed, are ignored). */
export const MAX_REMEMBERED_BOOTS = 4
/** At most this many peers are tracked by the failure detector (the peer view). */
export const MAX_TRACKED_PEERS = 10_000
/**
 * A peer heard from for this long is established: when the view is full, fresh keys cannot displace it (only staked
 * peers, when the node supplies `peerView.isStaked`, outrank it).
 */
export const DEFAULT_ESTABLISHED_AFTER_MS = 10 * 60 * 1000

/** Largest piece the protocol carries. A piece is one erasure shard of a segment (4 MiB plaintext by default). */
export const MAX_PIECE_SIZE = 16 * 1024 * 1024
/** Largest CID accepted on the wire, in bytes (a CIDv1 raw sha2-256 is 36 bytes). */
export const MAX_CID_BYTES = 128
/** Most CIDs in one has-pieces request. */
export const MAX_HAS_CIDS = 1024
/** Largest frame of the piece protocol: a store request or fetch response carrying a full piece. */
export const MAX_PIECE_FRAME_SIZE = MAX_PIECE_SIZE + 1 + 1 + MAX_CID_BYTES
/** Largest frame that carries no piece data (requests, acks, has responses). */
export const MAX_CONTROL_FRAME_SIZE = 1 + 2 + MAX_HAS_CIDS * (1 + MAX_CID_BYTES)
/** Largest heartbeat message (frame body or gossip payload). */
export const MAX_HEARTBEAT_SIZE = 1024
/** Longest error text carried in a response. */
export const MAX_ERROR_MESSAGE_BYTES = 1024

/**
 * DHT announcements of stored pieces (background): at most this many at once, started at least this many ms apart,
 * and at most this many waiting. Each one is a DHT query plus an ADD_PROVIDER per closest peer (about ten streams and
 * CPU on every node they touch); unpaced, they cost a third of a devnet put's CPU (docs/benchmarks.md, Transfer).
 */
export const DEFAULT_PROVIDE_CONCURRENCY = 4
export const DEFAULT_PROVIDE_INTERVAL_MS = 1_000
export const DEFAULT_PROVIDE_MAX_PENDING = 100_000

/** Deadline of a whole store or fetch exchange (open stream, send, verify, persist, ack). */
export const DEFAULT_TRANSFER_TIMEOUT_MS = 60_000
/** Deadline of small exchanges (has-pieces, heartbeat). */
export const DEFAULT_CONTROL_TIMEOUT_MS = 10_000
/**
 * Deadline of one `/cairn/slot-accept/1.0.0` acceptance: before it signs, a node rehashes the whole slot from its
 * pieces to check the root (a GiB slot takes seconds, and several deals may be accepted at once on a loaded node).
 */
export const DEFAULT_SLOT_ACCEPT_TIMEOUT_MS = 120_000
/** Piece streams a single peer may have open towards this node at once (inbound, all connections). */
export const DEFAULT_MAX_STREAMS_PER_PEER = 16
/** Piece bytes a single peer may hold in this node's memory: request bytes that arrived, fetch answers not yet read. */
export const DEFAULT_MAX_BYTES_IN_FLIGHT_PER_PEER = 64 * 1024 * 1024
/** Piece bytes all peers together may have in flight towards this node. */
export const DEFAULT_MAX_BYTES_IN_FLIGHT_TOTAL = 256 * 1024 * 1024

/** Misbehaviour score: every peer starts at 0; penalties subtract; at BAN_SCORE the peer is disconnected and banned. */
export const PENALTY_MALFORMED = 20
export const PENALTY_OVERSIZE = 25
export const PENALTY_CORRUPT_DATA = 25
export const PENALTY_LIMIT_EXCEEDED = 5
/**
 * A peer whose inbound exchange ran out its deadline while the node waited on it (a body trickled in, an answer left
 * unread). Waits on the node's own disk do not count. Ten such streams within ten minutes get the peer banned.
 */
export const PENALTY_TIMEOUT = 10
export const BAN_SCORE = -100
export const DEFAULT_BAN_DURATION_MS = 10 * 60 * 1000
/** Penalties decay: every minute a peer's negative score moves this many points back toward 0. */
export const SCORE_RECOVERY_PER_MINUTE = 5

/** File in `dataDir` holding the persisted peer store snapshot (node/ keeps its own peers.json beside it). */
export const PEER_STORE_FILE = 'peerstore.json'
export const PEER_STORE_SAVE_INTERVAL_MS = 30_000
/** Most peers written to the persisted snapshot. */
export const MAX_PERSISTED_PEERS = 1000
/** How often the node checks that it is connected and, when below the target, dials known and sourced peers. */
export const DEFAULT_RECONNECT_INTERVAL_MS = 30_000
export const DEVNET_RECONNECT_INTERVAL_MS = 3000
/** Below this many open connections the node dials persisted and sourced peers. */
export const DEFAULT_MIN_CONNECTIONS = 8

export const DEFAULT_VERSION = '0.1.0'

/** Protocol of the file-health query: what a node knows of one file's repair (slots it rebuilds, slots it sees lost). */
export const FILE_HEALTH_PROTOCOL = '/cairn/file-health/1.0.0'
/** Longest peer ID text carried in a file-health answer (an Ed25519 peer ID is 52 characters). */
export const MAX_PEER_ID_TEXT_BYTES = 128
/** Largest file-health request: type, CID length, CID. */
export const MAX_FILE_HEALTH_REQUEST_SIZE = 2 + MAX_CID_BYTES
/** Largest file-health answer: type, status, then three lists of at most 255 slots (n <= 255). */
export const MAX_FILE_HEALTH_RESPONSE_SIZE = 2 + 2 * (1 + 255) + 1 + 255 * (1 + 1 + MAX_PEER_ID_TEXT_BYTES + 4 + 4 + 8)

/**
 * Bounds of a storage node's circuit relay v2 server (outside devnet mode): it relays for strangers, so it holds at most
 * RELAY_MAX_RESERVATIONS reservations, carries at most RELAY_CIRCUITS_PER_PEER circuits at once to one reserved
 * node (and from one requesting connection), and resets a circuit after RELAY_DATA_LIMIT_BYTES (both directions
 * together) or RELAY_DURATION_LIMIT_MS. A circuit carries one full piece with room to spare; a client whose circuit
 * was reset opens a new one. Reservations are refused to banned peers and while this node is not reachable itself.
 */
export const RELAY_MAX_RESERVATIONS = 32
export const RELAY_CIRCUITS_PER_PEER = 16
export const RELAY_DATA_LIMIT_BYTES = 4 * MAX_PIECE_SIZE
export const RELAY_DURATION_LIMIT_MS = 5 * 60_000

/**
 * Inbound connections a host admits mid-handshake at once (libp2p's default is 10: ten silent sockets from one address
 * kept every other peer out). libp2p also refuses more than 5 new connections a second from one address and drops a
 * connection whose handshake is not done within `INBOUND_UPGRADE_TIMEOUT_MS`, so one address holds at most 50 of
 * these; filling them takes 3 addresses that keep reconnecting.
 */
export const MAX_PENDING_INBOUND_CONNECTIONS = 128
/** Time an inbound connection has to finish its handshake (Noise, then Yamux), ms: libp2p's default, made explicit. */
export const INBOUND_UPGRADE_TIMEOUT_MS = 10_000
