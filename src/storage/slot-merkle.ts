/**
 * Merkle levels of a slot for the node that holds it: the tree over the slot's pieces concatenated in segment order
 * (see merkle.ts), from the pieces as they are read back.
 */
import { MERKLE_LEAF_SIZE } from './constants.ts'
import { type Hash, merkleLeafHash, merkleLevels } from './merkle.ts'

/**
 * All levels of a slot's tree, leaves first, root last; `levels.at(-1)[0]` equals the manifest's slot root.
 * Any chunking of the input works; memory is 32 bytes per 1 KiB leaf plus one leaf.
 *
 * @example
 * ```ts
 * const levels = await slotMerkleLevels((async function* () {
 *   for (const cid of slotPieces(manifest, slot)) yield await store.get(cid)
 * })())
 * const proof = merkleProof(levels, challengedLeaf)
 * ```
 */
export async function slotMerkleLevels(pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Hash[][]> {
  const leaves: Hash[] = []
  const pending = new Uint8Array(MERKLE_LEAF_SIZE)
  let filled = 0
  for await (const piece of pieces as AsyncIterable<Uint8Array>) {
    let offset = 0
    while (offset < piece.byteLength) {
      if (filled === 0 && piece.byteLength - offset >= MERKLE_LEAF_SIZE) {
        leaves.push(merkleLeafHash(piece.subarray(offset, offset + MERKLE_LEAF_SIZE)))
        offset += MERKLE_LEAF_SIZE
        continue
      }
      const take = Math.min(MERKLE_LEAF_SIZE - filled, piece.byteLength - offset)
      pending.set(piece.subarray(offset, offset + take), filled)
      filled += take
      offset += take
      if (filled === MERKLE_LEAF_SIZE) {
        leaves.push(merkleLeafHash(pending))
        filled = 0
      }
    }
  }
  if (filled > 0 || leaves.length === 0) leaves.push(merkleLeafHash(pending.subarray(0, filled)))
  return merkleLevels(leaves)
}
