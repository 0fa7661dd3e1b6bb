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

/** Bit flags of a segment, recorded in the manifest and bound into the segment's authenticated data. */
export type SegmentFlags = number

/** One segment in a manifest. */
export interface ManifestSegment {
  /** Ciphertext bytes (compressed or raw plaintext plus the 16-byte tag): the length the erasure decoder returns. */
  size: number
  /** `SEGMENT_COMPRESSED` (1) when the plaintext was zstd-compressed before encryption; 0 when stored raw. */
  flags: SegmentFlags
  /**
   * sha-256 of the segment's padded ciphertext: ciphertext, tag and zero padding to a multiple of k x 1 KiB, i.e.
   * exactly the bytes that are erasure coded (with k = 1, every piece, so every piece CID has this digest). A reader
   * checks it after erasure decoding, so any k pieces that verify give the same bytes or an error.
   */
  ciphertextHash: Uint8Array
  /** The n piece CIDs; `pieces[slot]`. */
  pieces: CID[]
}

/** One slot in a manifest: what the node holding it commits to. */
export interface ManifestSlot {
  /** Merkle root (32 bytes) over the slot's pieces concatenated in segment order (see merkle.ts). */
  root: Uint8Array
  /** Total bytes of the slot's pieces. */
  size: number
}

/**
 * What a file is made of. Stored as DAG-CBOR under its own CID. It reveals sizes and layout, never content or names:
 * the name, media type and modification time are inside `metadata`, encrypted under the file key.
 */
export interface Manifest {
  /** Format version (`MANIFEST_VERSION`); it fixes the algorithms: zstd, AES-256-GCM, RS over GF(2^8), sha2-256. */
  version: number
  /** Plaintext bytes of the file. */
  size: number
  /** Plaintext bytes per segment (the last one is shorter). */
  segmentSize: number
  /** Any k of the n pieces of a segment rebuild it. */
  k: number
  n: number
  /** Random per-file salt: derives the file's subkey and names the file in every segment's authenticated data. */
  salt: Uint8Array
  /** 16 bytes derived from the key; lets a reader tell a wrong key from damaged data. Reveals nothing of the key. */
  keyCheck: Uint8Array
  /** Encrypted, padded metadata (`decryptMetadata` opens it). */
  metadata: Uint8Array
  segments: ManifestSegment[]
  /** `slots[j]` commits to piece j of every segment. */
  slots: ManifestSlot[]
}

/** What the encrypted metadata holds. */
export interface FileMetadata {
  name?: string
  /** Media type, e.g. `text/plain`. */
  type?: string
  /** Modification time, milliseconds since the Unix epoch. */
  mtime?: number
}

export type EncodeProgressEvent =
  | { type: 'segment-encoded'; segment: number; plaintextBytes: number; pieceBytes: number; compressed: boolean }
  | { type: 'done'; size: number; segments: number; manifestCid: CID }

export interface EncodeInit {
  /** Pieces needed to rebuild a segment; default `DEFAULT_K`. */
  k?: number
  /** Pieces (slots) per segment; default `DEFAULT_N`. */
  n?: number
  segmentSize?: number
  /** zstd level 1..19; default 3. */
  compressionLevel?: number
  /** 32-byte file key; a fresh random one by default. */
  key?: Uint8Array
  metadata?: FileMetadata
  /** Worker threads that code segments in parallel; 0 (default) codes on the calling thread. */
  workers?: number
  /** Segments the encoder may run ahead of the consumer of `pieces` (default `DEFAULT_ENCODE_AHEAD`). */
  ahead?: number
  onProgress?: (event: EncodeProgressEvent) => void
}

/**
 * One piece as the encoder produces it: piece `slot` of segment `segment`. `bytes` belongs to the consumer, which
 * may free it with `releaseBuffer` once stored; with k = 1 the n pieces of a segment are one shared buffer.
 */
export interface EncodedPiece {
  segment: number
  slot: number
  cid: CID
  bytes: Uint8Array
}

export interface EncodedFile {
  manifest: Manifest
  manifestCid: CID
  manifestBytes: Uint8Array
  key: Uint8Array
  /** `cairn:<manifest CID>#<key>`: everything needed to read the file. */
  capability: string
  /** Plaintext bytes read from the source. */
  size: number
}

export interface EncodeResult {
  /** Every piece in segment order, slots 0..n-1 within a segment. Consume it fully for `done` to resolve. */
  pieces: AsyncIterable<EncodedPiece>
  /** Resolves after `pieces` has been fully consumed; rejects if encoding failed. */
  done: Promise<EncodedFile>
}

export interface PieceRequest {
  segment: number
  slot: number
  cid: CID
}

/** Fetches one piece; it may return wrong bytes (they are verified) and should honour `signal`. */
export type PieceFetcher = (request: PieceRequest, options: { signal: AbortSignal }) => Promise<Uint8Array>

export type DecodeProgressEvent =
  | { type: 'segment-decoded'; segment: number; plaintextBytes: number; slots: number[] }
  | { type: 'piece-failed'; segment: number; slot: number; reason: string }

export interface DecodeInit {
  /** First plaintext byte to return (default 0). */
  offset?: number
  /** Bytes to return from `offset` (default: to the end). */
  length?: number
  /** Segments fetched in parallel (default `DEFAULT_DECODE_CONCURRENCY`, or workers + 1). */
  concurrency?: number
  /** Worker threads that decode segments in parallel; 0 (default) decodes on the calling thread. */
  workers?: number
  /** Slots to ask first, in order of preference; the rest follow, data slots first. */
  slotOrder?: number[]
  /** A request slower than this (ms) is raced by a request to another slot (default `DEFAULT_PIECE_HEDGE_MS`). */
  hedgeAfter?: number
  /**
   * The fetcher returns fresh buffers that nothing else holds (e.g. read from disk or the network for this call):
   * decodeFile may then free each piece's memory as soon as its segment is decoded, which keeps RSS low. Leave it
   * off when the fetcher returns buffers it keeps (a cache, a map).
   */
  releasePieces?: boolean
  /** Called for every piece whose bytes do not match its CID, so a node can repair that slot. */
  onCorruptPiece?: (request: PieceRequest, error: Error) => void
  onProgress?: (event: DecodeProgressEvent) => void
}
