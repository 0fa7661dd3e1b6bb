/**
 * Merkle levels of a slot for the node that holds it: the tree over the slot's pieces concatenated in segment order
 * (see merkle.ts), from the pieces as they are read back.
 */
import { InvalidArgumentError } from '../errors.ts'
import { MERKLE_LEAF_SIZE } from './constants.ts'
import { foldPackedLevels, merkleLeafHash, packedLevelWidths, packedTreeNodes } from './merkle.ts'

/**
 * A piece of the slot given by its leaf hashes (`pieceLeafHashes`: 32 bytes per 1 KiB leaf, the last leaf may be
 * short) instead of its bytes, e.g. hashed when the piece was received. Only where a leaf starts: every piece before
 * it must be a whole number of leaves (pieces are padded to 1 KiB multiples, so all are), else `slotMerkleLevels`
 * throws.
 */
export interface HashedPiece {
  /** The piece's byte length. */
  size: number
  leafHashes: Uint8Array
}

/**
 * All levels of a slot's tree as packed buffers (32 bytes a node; `merklePackedLevels`), leaves first, root last:
 * `levels.at(-1)` is the manifest's slot root. Any chunking of the input works; a piece may also come as its leaf
 * hashes (`HashedPiece`), which are taken as they are. Memory is 64 bytes per 1 KiB leaf, in one buffer: the levels are
 * adjacent views of it, and `packedTreeBytes(levels)` gives the whole tree without a copy.
 *
 * @example
 * ```ts
 * const levels = await slotMerkleLevels((async function* () {
 *   for (const cid of slotPieces(manifest, slot)) yield await store.get(cid)
 * })())
 * const proof = merklePackedProof(levels, challengedLeaf)
 * ```
 */
export async function slotMerkleLevels(
  pieces: AsyncIterable<Uint8Array | HashedPiece> | Iterable<Uint8Array | HashedPiece>,
): Promise<Uint8Array[]> {
  // Leaf hashes are gathered as chunks (a hashed piece's own buffer, no copy) and packed once at the end into one
  // buffer that holds every level: no growing buffer, no second copy of the leaves (a 1 GiB slot's leaves are 32 MiB).
  const chunks: Uint8Array[] = []
  let count = 0
  const pending = new Uint8Array(MERKLE_LEAF_SIZE)
  let filled = 0
  // A hashed piece whose last leaf was short must be the last piece.
  let shortLeafSeen = false
  for await (const piece of pieces as AsyncIterable<Uint8Array | HashedPiece>) {
    if (shortLeafSeen) throw new InvalidArgumentError('a hashed piece that ends within a leaf must be the last piece')
    if (!(piece instanceof Uint8Array)) {
      const hashes = piece.leafHashes
      if (hashes.byteLength !== Math.ceil(piece.size / MERKLE_LEAF_SIZE) * 32) {
        throw new InvalidArgumentError(
          `a hashed piece of ${piece.size} bytes needs ${Math.ceil(piece.size / MERKLE_LEAF_SIZE)} leaf hashes`,
        )
      }
      if (filled !== 0) throw new InvalidArgumentError('a hashed piece must start at a leaf boundary')
      shortLeafSeen = piece.size % MERKLE_LEAF_SIZE !== 0
      chunks.push(hashes)
      count += hashes.byteLength / 32
      continue
    }
    // At most one leaf completed from `pending`, then whole leaves, then a partial leaf kept in `pending`.
    const head = filled === 0 ? 0 : Math.min(MERKLE_LEAF_SIZE - filled, piece.byteLength)
    const whole = Math.floor((piece.byteLength - head) / MERKLE_LEAF_SIZE)
    const hashes = new Uint8Array((whole + 1) * 32)
    let made = 0
    if (head > 0) {
      pending.set(piece.subarray(0, head), filled)
      filled += head
      if (filled === MERKLE_LEAF_SIZE) {
        hashes.set(merkleLeafHash(pending), 32 * made++)
        filled = 0
      }
    }
    for (let i = 0; i < whole; i++) {
      const at = head + i * MERKLE_LEAF_SIZE
      hashes.set(merkleLeafHash(piece.subarray(at, at + MERKLE_LEAF_SIZE)), 32 * made++)
    }
    const rest = piece.subarray(head + whole * MERKLE_LEAF_SIZE)
    if (rest.byteLength > 0) {
      pending.set(rest, filled)
      filled += rest.byteLength
    }
    if (made > 0) {
      chunks.push(hashes.subarray(0, made * 32))
      count += made
    }
  }
  if (filled > 0 || count === 0) {
    chunks.push(merkleLeafHash(pending.subarray(0, filled)))
    count++
  }
  const widths = packedLevelWidths(count)
  const tree = new Uint8Array(packedTreeNodes(widths) * 32)
  let at = 0
  for (const chunk of chunks) {
    tree.set(chunk, at)
    at += chunk.byteLength
  }
  chunks.length = 0
  const leaves = tree.subarray(0, count * 32)
  return [leaves, ...foldPackedLevels(leaves, tree.subarray(count * 32), widths)]
}
