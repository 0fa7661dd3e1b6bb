/**
 * Merkle commitments over a slot's data (the concatenation of the slot's pieces in segment order).
 *
 * - The data is cut into leaves of `MERKLE_LEAF_SIZE` bytes; the last leaf may be shorter; empty data is one empty leaf.
 * - leaf hash = sha256(0x00 || leaf bytes); inner node = sha256(0x01 || left || right) (domain separation stops a
 *   leaf from posing as an inner node).
 * - A level with an odd count carries its last node up unchanged (no duplication, no padding).
 * - A proof is the sibling hashes from the leaf upward, skipping the levels where the node was carried.
 *
 * Verifying needs only sha256 over 65 bytes per level, so the on-chain verifier uses the sha256 precompile; for a
 * 100 GiB slot (2^27 leaves) a proof is 27 hashes plus one 1 KiB leaf.
 */
import { platform } from '#storage-platform'
import { CorruptDataError, InvalidArgumentError } from '../errors.ts'
import { bytesEqual } from './bytes-equal.ts'
import { MERKLE_LEAF_SIZE } from './constants.ts'

const LEAF_PREFIX = new Uint8Array([0])

export type Hash = Uint8Array

export function merkleLeafHash(leaf: Uint8Array): Hash {
  return platform.createSha256().update(LEAF_PREFIX).update(leaf).digest()
}

/** Reused input buffer of merkleNodeHash (hashing is synchronous): a fresh 65-byte buffer per node cost ~30%. */
const NODE_INPUT = new Uint8Array(65)

export function merkleNodeHash(left: Hash, right: Hash): Hash {
  NODE_INPUT[0] = 1
  NODE_INPUT.set(left, 1)
  NODE_INPUT.set(right, 33)
  return platform.sha256(NODE_INPUT)
}

/** Number of leaves for `size` bytes of slot data (at least 1). */
export function merkleLeafCount(size: number, leafSize = MERKLE_LEAF_SIZE): number {
  return Math.max(1, Math.ceil(size / leafSize))
}

/** Byte length of leaf `index` for `size` bytes of slot data. */
export function merkleLeafLength(size: number, index: number, leafSize = MERKLE_LEAF_SIZE): number {
  const count = merkleLeafCount(size, leafSize)
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new InvalidArgumentError(`leaf index ${index} is out of range: the slot has ${count} leaves`)
  }
  return index < count - 1 ? leafSize : size - (count - 1) * leafSize
}

/**
 * Streaming root computation: feed the slot's bytes in any chunking, then `digest()`. Memory is O(log n): it keeps
 * one pending hash per level, like a binary counter, and folds them right to left at the end (which equals the
 * carry-the-odd-node rule above).
 */
export class MerkleRootBuilder {
  readonly #leafSize: number
  readonly #stack: Array<{ height: number; hash: Hash }> = []
  readonly #pending: Uint8Array
  #pendingLength = 0
  #leaves = 0
  #bytes = 0

  constructor(leafSize = MERKLE_LEAF_SIZE) {
    this.#leafSize = leafSize
    this.#pending = new Uint8Array(leafSize)
  }

  update(data: Uint8Array): this {
    this.#bytes += data.byteLength
    // The last leaf stays pending until more bytes arrive or digest() runs: only then is it known to be the last.
    let offset = 0
    while (offset < data.byteLength) {
      if (this.#pendingLength === this.#leafSize) {
        this.#pushLeaf(merkleLeafHash(this.#pending))
        this.#pendingLength = 0
      }
      if (this.#pendingLength === 0 && data.byteLength - offset > this.#leafSize) {
        this.#pushLeaf(merkleLeafHash(data.subarray(offset, offset + this.#leafSize)))
        offset += this.#leafSize
        continue
      }
      const take = Math.min(this.#leafSize - this.#pendingLength, data.byteLength - offset)
      this.#pending.set(data.subarray(offset, offset + take), this.#pendingLength)
      this.#pendingLength += take
      offset += take
    }
    return this
  }

  /**
   * Appends whole leaves given by their hashes (32 bytes each, concatenated), e.g. hashed in a worker thread with
   * `merkleLeafHash`. Only on a leaf boundary: the bytes fed so far must be a whole number of leaves.
   */
  appendLeafHashes(leafHashes: Uint8Array): this {
    if (leafHashes.byteLength % 32 !== 0) throw new InvalidArgumentError('leaf hashes are 32 bytes each')
    if (this.#pendingLength === this.#leafSize) {
      this.#pushLeaf(merkleLeafHash(this.#pending))
      this.#pendingLength = 0
    }
    if (this.#pendingLength !== 0) {
      throw new InvalidArgumentError('appendLeafHashes needs a leaf boundary, but part of a leaf is pending')
    }
    for (let i = 0; i < leafHashes.byteLength; i += 32) this.#pushLeaf(leafHashes.subarray(i, i + 32))
    this.#bytes += (leafHashes.byteLength / 32) * this.#leafSize
    return this
  }

  /** Total bytes fed so far. */
  get size(): number {
    return this.#bytes
  }

  digest(): Hash {
    if (this.#pendingLength > 0 || this.#leaves === 0) {
      this.#pushLeaf(merkleLeafHash(this.#pending.subarray(0, this.#pendingLength)))
      this.#pendingLength = 0
    }
    let top = this.#stack.pop()!
    while (this.#stack.length > 0) {
      const left = this.#stack.pop()!
      top = { height: left.height + 1, hash: merkleNodeHash(left.hash, top.hash) }
    }
    this.#stack.push(top)
    return top.hash
  }

  #pushLeaf(leafHash: Hash): void {
    this.#leaves++
    let node = { height: 0, hash: leafHash }
    for (let last = this.#stack.at(-1); last !== undefined && last.height === node.height; last = this.#stack.at(-1)) {
      this.#stack.pop()
      node = { height: node.height + 1, hash: merkleNodeHash(last.hash, node.hash) }
    }
    this.#stack.push(node)
  }
}

/** Root of `data` in one call. */
export function merkleRoot(data: Uint8Array, leafSize = MERKLE_LEAF_SIZE): Hash {
  return new MerkleRootBuilder(leafSize).update(data).digest()
}

/**
 * All levels of the tree, leaves first, root last. A node keeps this (32 bytes per leaf, about 1/32 of the data with
 * 1 KiB leaves) to answer challenges without rereading the slot.
 */
export function merkleLevels(leafHashes: readonly Hash[]): Hash[][] {
  if (leafHashes.length === 0) throw new InvalidArgumentError('a Merkle tree needs at least one leaf')
  const levels: Hash[][] = [leafHashes.slice()]
  for (let level = levels[0]!; level.length > 1; ) {
    const next: Hash[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(merkleNodeHash(level[i]!, level[i + 1]!))
    if (level.length % 2 === 1) next.push(level.at(-1)!)
    levels.push(next)
    level = next
  }
  return levels
}

/** Leaf hashes of `data`. */
export function merkleLeafHashes(data: Uint8Array, leafSize = MERKLE_LEAF_SIZE): Hash[] {
  const count = merkleLeafCount(data.byteLength, leafSize)
  const hashes: Hash[] = []
  for (let i = 0; i < count; i++) hashes.push(merkleLeafHash(data.subarray(i * leafSize, (i + 1) * leafSize)))
  return hashes
}

/** Sibling path for leaf `index`, bottom-up, skipping levels where the node is carried. */
export function merkleProof(levels: readonly Hash[][], index: number): Hash[] {
  const leafCount = levels[0]?.length ?? 0
  if (!Number.isInteger(index) || index < 0 || index >= leafCount) {
    throw new InvalidArgumentError(`leaf index ${index} is out of range: the tree has ${leafCount} leaves`)
  }
  const proof: Hash[] = []
  let i = index
  for (const level of levels.slice(0, -1)) {
    const sibling = i ^ 1
    if (sibling < level.length) proof.push(level[sibling]!)
    i >>= 1
  }
  return proof
}

/**
 * The levels of the tree as packed buffers (32 bytes a node, leaves first, root last): the same tree as
 * `merkleLevels`, without one object per hash (a 1 GiB slot has a million leaves: ~64 MB packed against several
 * hundred MB as separate arrays).
 *
 * @example
 * ```ts
 * const levels = merklePackedLevels(packedLeafHashes)
 * const proof = merklePackedProof(levels, challengedLeaf)
 * ```
 */
export function merklePackedLevels(leafHashes: Uint8Array): Uint8Array[] {
  if (leafHashes.byteLength === 0 || leafHashes.byteLength % 32 !== 0) {
    throw new InvalidArgumentError('packed leaf hashes must be a non-empty multiple of 32 bytes')
  }
  const widths = packedLevelWidths(leafHashes.byteLength / 32)
  const upper = foldPackedLevels(leafHashes, new Uint8Array((packedTreeNodes(widths) - widths[0]!) * 32), widths)
  return [leafHashes, ...upper]
}

/** Nodes per level of a tree of `leafCount` leaves, leaves first, root (1) last. */
export function packedLevelWidths(leafCount: number): number[] {
  const widths = [leafCount]
  for (let width = leafCount; width > 1; ) {
    width = (width + 1) >> 1
    widths.push(width)
  }
  return widths
}

/** Nodes of a whole tree whose level widths are `widths`. */
export function packedTreeNodes(widths: readonly number[]): number {
  return widths.reduce((sum, width) => sum + width, 0)
}

/**
 * Hashes the levels above `leaves` (packed, `widths[0]` hashes) into `out`, level after level (no other
 * allocation), and returns them as views of `out`. `out` may directly follow `leaves` in one buffer: the whole
 * tree is then one contiguous buffer (`packedTreeBytes`).
 */
export function foldPackedLevels(leaves: Uint8Array, out: Uint8Array, widths: readonly number[]): Uint8Array[] {
  const levels: Uint8Array[] = []
  let level = leaves
  let offset = 0
  for (let depth = 1; depth < widths.length; depth++) {
    const width = widths[depth - 1]!
    const next = out.subarray(offset, offset + widths[depth]! * 32)
    for (let i = 0; i + 1 < width; i += 2) {
      next.set(merkleNodeHash(level.subarray(i * 32, i * 32 + 32), level.subarray(i * 32 + 32, i * 32 + 64)), i * 16)
    }
    if (width % 2 === 1) next.set(level.subarray((width - 1) * 32, width * 32), (widths[depth]! - 1) * 32)
    levels.push(next)
    offset += next.byteLength
    level = next
  }
  return levels
}

/**
 * The levels as one buffer (leaves first, root last: the layout of a slot's tree file). Levels that are adjacent
 * views of one buffer, as `slotMerkleLevels` returns them, give that buffer's view without a copy; others are
 * concatenated.
 */
export function packedTreeBytes(levels: readonly Uint8Array[]): Uint8Array {
  const first = levels[0]
  if (first === undefined) return new Uint8Array(0)
  let end = first.byteOffset + first.byteLength
  for (const level of levels.slice(1)) {
    if (level.buffer !== first.buffer || level.byteOffset !== end) {
      const out = new Uint8Array(levels.reduce((sum, l) => sum + l.byteLength, 0))
      let at = 0
      for (const l of levels) {
        out.set(l, at)
        at += l.byteLength
      }
      return out
    }
    end += level.byteLength
  }
  return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset)
}

/** `merkleProof` over packed levels (`merklePackedLevels`). */
export function merklePackedProof(levels: readonly Uint8Array[], index: number): Hash[] {
  const leafCount = (levels[0]?.byteLength ?? 0) / 32
  if (!Number.isInteger(index) || index < 0 || index >= leafCount) {
    throw new InvalidArgumentError(`leaf index ${index} is out of range: the tree has ${leafCount} leaves`)
  }
  const proof: Hash[] = []
  let i = index
  for (const level of levels.slice(0, -1)) {
    const sibling = i ^ 1
    if (sibling < level.byteLength / 32) proof.push(level.slice(sibling * 32, sibling * 32 + 32))
    i >>= 1
  }
  return proof
}

/** True when `leaf` at `index` of a tree with `leafCount` leaves belongs to `root`. */
export function merkleVerify(root: Hash, index: number, leafCount: number, leaf: Uint8Array, proof: readonly Hash[]) {
  if (!Number.isInteger(index) || index < 0 || index >= leafCount) return false
  let node = merkleLeafHash(leaf)
  let i = index
  let width = leafCount
  let used = 0
  while (width > 1) {
    if ((i ^ 1) < width) {
      const sibling = proof[used++]
      if (sibling === undefined || sibling.byteLength !== 32) return false
      node = i % 2 === 0 ? merkleNodeHash(node, sibling) : merkleNodeHash(sibling, node)
    }
    i >>= 1
    width = (width + 1) >> 1
  }
  return used === proof.length && bytesEqual(node, root)
}

/** Like `merkleVerify`, but throws `CorruptDataError` naming the leaf. */
export function assertMerkleProof(root: Hash, index: number, leafCount: number, leaf: Uint8Array, proof: Hash[]) {
  if (!merkleVerify(root, index, leafCount, leaf, proof)) {
    throw new CorruptDataError(`Merkle proof for leaf ${index} of ${leafCount} does not match the slot root`, {
      details: { index, leafCount },
    })
  }
}
