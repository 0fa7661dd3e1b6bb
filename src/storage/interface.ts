/**
 * The storage layer's contract: the types every other layer uses. No network, no chain.
 * Implementations live beside this file and are created through the factories exported by ./index.ts.
 */
import type { CID } from 'multiformats/cid'

export interface AbortOptions {
  signal?: AbortSignal
}

/** Usage of a piece store, in bytes of piece data. */
export interface StoreUsage {
  pieces: number
  bytes: number
  /** Configured limit; `Infinity` when there is none. */
  quota: number
}

/**
 * A content-addressed store of pieces (CIDv1, raw codec, sha2-256).
 * `put` returns only when the piece is durable; `get` verifies the hash and throws `CorruptDataError` (never returns
 * bad bytes) and `NotFoundError` when absent.
 */
export interface PieceStore {
  put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  get(cid: CID, options?: AbortOptions): Promise<Uint8Array>
  has(cid: CID, options?: AbortOptions): Promise<boolean>
  delete(cid: CID, options?: AbortOptions): Promise<void>
  list(options?: AbortOptions): AsyncIterable<CID>
  usage(): StoreUsage
}

/**
 * Reed-Solomon over GF(2^8), systematic: shards 0..k-1 are the data, k..n-1 the parity.
 * k = 1 is plain replication (every shard is a copy of the data).
 */
export interface ErasureCoder {
  readonly k: number
  readonly n: number
  /** Size of each of the n shards for `dataLength` bytes of input (the last data shard is zero-padded). */
  shardSize(dataLength: number): number
  /** Splits `data` into k data shards and computes n - k parity shards; returns all n. */
  encode(data: Uint8Array): Uint8Array[]
  /**
   * Rebuilds the original `dataLength` bytes from any k shards. `shards[i]` is shard i or undefined when missing.
   * Throws `NotEnoughPiecesError` with fewer than k present.
   */
  decode(shards: ReadonlyArray<Uint8Array | undefined>, dataLength: number): Uint8Array
  /** Rebuilds every missing shard in place (for repair). */
  reconstruct(shards: Array<Uint8Array | undefined>): Uint8Array[]
}
