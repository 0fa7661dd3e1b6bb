/**
 * Merkle levels of a slot for the node that holds it: the tree over the slot's pieces concatenated in segment order
 * (see merkle.ts), from the pieces as they are read back.
 */
import { InvalidArgumentError } from '../errors.ts'
import { MERKLE_LEAF_SIZE } from './constants.ts'
import { merkleLeafHash, merklePackedLevels } from './merkle.ts'

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
 * hashes (`HashedPiece`), which are taken as they are. Memory is about 64 bytes per 1 KiB leaf.
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
  let leaves = new Uint8Array(32 * 1024)
  let count = 0
  const reserve = (bytes: number) => {
    if (count * 32 + bytes <= leaves.byteLength) return
    const grown = new Uint8Array(Math.max(leaves.byteLength * 2, count * 32 + bytes))
    grown.set(leaves.subarray(0, count * 32))
    leaves = grown
  }
  const add = (hash: Uint8Array) => {
    reserve(32)
    leaves.set(hash, count * 32)
    count++
  }
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
      reserve(hashes.byteLength)
      leaves.set(hashes, count * 32)
      count += hashes.byteLength / 32
      continue
    }
    let offset = 0
    while (offset < piece.byteLength) {
      if (filled === 0 && piece.byteLength - offset >= MERKLE_LEAF_SIZE) {
        add(merkleLeafHash(piece.subarray(offset, offset + MERKLE_LEAF_SIZE)))
        offset += MERKLE_LEAF_SIZE
        continue
      }
      const take = Math.min(MERKLE_LEAF_SIZE - filled, piece.byteLength - offset)
      pending.set(piece.subarray(offset, offset + take), filled)
      filled += take
      offset += take
      if (filled === MERKLE_LEAF_SIZE) {
        add(merkleLeafHash(pending))
        filled = 0
      }
    }
  }
  if (filled > 0 || count === 0) add(merkleLeafHash(pending.subarray(0, filled)))
  return merklePackedLevels(leaves.slice(0, count * 32))
}
