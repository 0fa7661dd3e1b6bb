/**
 * Leaf hashes of the pieces a node received, computed as each piece is stored, so that the slot prover can build a
 * slot's Merkle tree without reading and hashing the slot again (slot-prover.ts). A hash is recorded only once the
 * store accepted the piece, which checks its bytes against the CID: the leaf hashes of a CID are then a fact about
 * that CID, whatever later happens to the file (a changed file fails the proofs, which read the disk). The cache is
 * in memory, bounded, oldest out: a piece not found here is read from disk as before.
 */
import type { CID } from 'multiformats/cid'
import { type PieceStore, pieceLeafHashes } from '../../storage/index.ts'

/** Leaf hashes kept at most: 64 MiB covers 2 GiB of received, not yet checked pieces (32 bytes per 1 KiB). */
export const DEFAULT_PIECE_LEAF_CACHE_BYTES = 64 * 1024 * 1024

export interface PieceLeafCacheInit {
  /** Bytes of leaf hashes kept at most (default `DEFAULT_PIECE_LEAF_CACHE_BYTES`). */
  maxBytes?: number
}

/** A received piece: its byte length and its leaf hashes (32 bytes per 1 KiB leaf, the last leaf may be short). */
export interface ReceivedPiece {
  size: number
  leafHashes: Uint8Array
}

export interface PieceLeafCache {
  /** `store` whose `put` also records the stored piece's leaf hashes (computed while the write runs). */
  recording(store: PieceStore): PieceStore
  /** The byte length and leaf hashes of a piece this process stored, if still kept. */
  get(cid: CID): ReceivedPiece | undefined
  /** Forgets pieces (once their slot's tree is on disk). */
  delete(cids: Iterable<CID>): void
  /** Bytes of leaf hashes kept. */
  readonly bytes: number
}

/**
 * Creates the receipt-time leaf hash cache of a node.
 *
 * @example
 * ```ts
 * const leaves = createPieceLeafCache()
 * const network = createNetwork({ pieceStore: leaves.recording(store) }, init)
 * const prover = createSlotProver({ pieceStore: store, pieceLeaves: leaves }, { cacheDir })
 * ```
 */
export function createPieceLeafCache(init: PieceLeafCacheInit = {}): PieceLeafCache {
  const maxBytes = init.maxBytes ?? DEFAULT_PIECE_LEAF_CACHE_BYTES
  const kept = new Map<string, ReceivedPiece>()
  let bytes = 0
  const forget = (key: string) => {
    const piece = kept.get(key)
    if (piece === undefined) return
    kept.delete(key)
    bytes -= piece.leafHashes.byteLength
  }
  const record = (cid: CID, piece: ReceivedPiece) => {
    const key = cid.toString()
    forget(key)
    if (piece.leafHashes.byteLength > maxBytes) return
    kept.set(key, piece)
    bytes += piece.leafHashes.byteLength
    for (const oldest of kept.keys()) {
      if (bytes <= maxBytes) break
      forget(oldest)
    }
  }
  return {
    recording(store) {
      return {
        async put(cid, piece, options) {
          // The write starts (the store checks the bytes against the CID first, synchronously or not) and the
          // leaves are hashed while it runs; they are kept only if the store accepted the piece.
          const written = store.put(cid, piece, options)
          let hashes: Uint8Array | undefined
          try {
            hashes = pieceLeafHashes(piece)
          } finally {
            await written
          }
          record(cid, { size: piece.byteLength, leafHashes: hashes })
        },
        get: (cid, options) => store.get(cid, options),
        has: (cid, options) => store.has(cid, options),
        delete: async (cid, options) => {
          forget(cid.toString())
          await store.delete(cid, options)
        },
        list: (options) => store.list(options),
        usage: () => store.usage(),
      }
    },
    get: (cid) => kept.get(cid.toString()),
    delete(cids) {
      for (const cid of cids) forget(cid.toString())
    },
    get bytes() {
      return bytes
    },
  }
}
