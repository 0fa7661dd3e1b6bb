/**
 * Cairn's storage layer: the data path (segment, compress, encrypt, erasure code, address, commit) and local
 * persistence of pieces. No network, no chain. See docs/architecture.md.
 */

export { createFsPieceStore, mkdirDurable, syncFolder, writeFileDurable } from '#storage-files'
export { abortableSleep } from './abortable-sleep.ts'
export { releaseBuffer } from './buffer-release.ts'
export type { Capability } from './capability.ts'
export { formatCapability, parseCapability } from './capability.ts'
export { compressSegment, decompressSegment, SEGMENT_COMPRESSED } from './compression.ts'
export * from './constants.ts'
export { CRASH_POINTS, type CrashPointName, configureCrashPoint, crashPoint } from './crash-point.ts'
export { decodeFile } from './decode-file.ts'
export { encodeFile } from './encode-file.ts'
export { createErasureCoder } from './erasure/index.ts'
export type { FsPieceStore, FsPieceStoreInit } from './fs-piece-store.ts'
export type * from './interface.ts'
export {
  decodeManifest,
  encodeManifest,
  isManifestCid,
  manifestPieceCid,
  pieceSize,
  segmentCount,
  segmentPlaintextSize,
  slotPieces,
} from './manifest.ts'
export type { MemoryPieceStoreInit } from './memory-piece-store.ts'
export { createMemoryPieceStore } from './memory-piece-store.ts'
export {
  assertMerkleProof,
  type Hash,
  MerkleRootBuilder,
  merkleLeafCount,
  merkleLeafHash,
  merkleLeafHashes,
  merkleLeafLength,
  merkleLevels,
  merkleNodeHash,
  merklePackedLevels,
  merklePackedProof,
  merkleProof,
  merkleRoot,
  merkleVerify,
  packedTreeBytes,
} from './merkle.ts'
export { decryptMetadata } from './metadata.ts'
export { isPieceCid, pieceCid, verifyPiece } from './piece-cid.ts'
export { type RebuildPieceInit, rebuildPiece } from './rebuild-piece.ts'
export { type RedundancyPolicy, redundancyPolicy } from './redundancy.ts'
export { pieceLeafHashes } from './segment-codec.ts'
export { stopSegmentWorkers } from './segment-worker-pool.ts'
export { type ByteSource, type Segment, segmenter } from './segmenter.ts'
export type { HashedPiece } from './slot-merkle.ts'
export { slotMerkleLevels } from './slot-merkle.ts'
export * from './tree-index.ts'
export { ByteReader, findTreeEntry, readTreeHead, splitTreeCapability, treeListing } from './tree-reader.ts'
