/** Plaintext bytes per segment (the last segment of a file is shorter). */
export const DEFAULT_SEGMENT_SIZE = 4 * 1024 * 1024

/** Smallest and largest segment size accepted (a segment is held whole in memory while it is coded). */
export const MIN_SEGMENT_SIZE = 1024
export const MAX_SEGMENT_SIZE = 64 * 1024 * 1024

/** Leaf size of the slot Merkle tree: 1 KiB keeps an on-chain proof (leaf + 27 hashes for 100 GiB) cheap. */
export const MERKLE_LEAF_SIZE = 1024

/** Default redundancy: plain replication to three slots (k = 1 of n = 3). */
export const DEFAULT_K = 1
export const DEFAULT_N = 3

/** Reed-Solomon over GF(2^8) with distinct Cauchy points allows at most 255 shards (pieces per segment). */
export const MAX_SHARDS = 255

/** zstd level used when none is given (node:zlib's zstd, levels 1..19 accepted). */
export const DEFAULT_COMPRESSION_LEVEL = 3
export const MIN_COMPRESSION_LEVEL = 1
export const MAX_COMPRESSION_LEVEL = 19

/** A compressed segment is kept only if it is at most this fraction of the original (it saved >= 5%). */
export const COMPRESSION_KEEP_RATIO = 0.95

/** AES-256-GCM: key, nonce and tag sizes in bytes. */
export const FILE_KEY_SIZE = 32
export const NONCE_SIZE = 12
export const TAG_SIZE = 16
/** Random per-file salt; it names the file inside the authenticated data and derives the per-file subkey. */
export const FILE_SALT_SIZE = 16

/** Encrypted metadata is padded to a multiple of this many bytes so its length does not reveal the name's length. */
export const METADATA_PADDING = 256
/** Limit on the encoded metadata (name, type, mtime) before encryption. */
export const MAX_METADATA_SIZE = 16 * 1024

/**
 * Manifest format version written by this code; decoders reject any other. Version 2 added each segment's
 * `ciphertextHash`; version 1 manifests are refused (an uploader picks the version, so a readable version 1 would
 * keep the attack the hash closes: different bytes for different readers of one capability).
 */
export const MANIFEST_VERSION = 2
/** Sets of k pieces a decoder tries for one segment whose pieces disagree with its `ciphertextHash`, at most. */
export const MAX_SEGMENT_DECODE_ATTEMPTS = 32
/** Hard cap on manifest bytes accepted by the decoder (checked before parsing). */
export const MAX_MANIFEST_SIZE = 64 * 1024 * 1024

/** Text prefix of a capability: `cairn:<manifest CID>#<key in base64url>`. */
export const CAPABILITY_PREFIX = 'cairn:'

/** Segments the encoder may hold ahead of its consumer (read, in coding, or coded and not yet taken). */
export const DEFAULT_ENCODE_AHEAD = 2
/** Segments the decoder fetches ahead of the one being returned. */
export const DEFAULT_DECODE_CONCURRENCY = 2
/** A piece request that takes longer than this is raced by a request to another slot (ms). */
export const DEFAULT_PIECE_HEDGE_MS = 2_000
