/** Plaintext bytes per segment (the last segment of a file is shorter). */
export const DEFAULT_SEGMENT_SIZE = 4 * 1024 * 1024

/** Leaf size of the slot Merkle tree: 1 KiB keeps an on-chain proof (leaf + 27 hashes for 100 GiB) cheap. */
export const MERKLE_LEAF_SIZE = 1024
