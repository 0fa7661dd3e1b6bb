/**
 * Merkle levels of a slot for the node that holds it: the tree over the slot's pieces concatenated in segment order
 * (see merkle.ts), from the pieces as they are read back.
 */
import { MERKLE_LEAF_SIZE } from './constants.ts'
import { merkleLeafHash, merklePackedLevels } from './merkle.ts'

/**
 * All levels of a slot's tree as packed buffers (32 bytes a node; `merklePackedLevels`), leaves first, root last:
 * `levels.at(-1)` is the manifest's slot root. Any chunking of the input works; memory is about 64 bytes per 1 KiB
 * leaf.
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
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<Uint8Array[]> {
  let leaves = new Uint8Array(32 * 1024)
  let count = 0
  const add = (hash: Uint8Array) => {
    if ((count + 1) * 32 > leaves.byteLength) {
      const grown = new Uint8Array(leaves.byteLength * 2)
      grown.set(leaves)
      leaves = grown
    }
    leaves.set(hash, count * 32)
    count++
  }
  const pending = new Uint8Array(MERKLE_LEAF_SIZE)
  let filled = 0
  for await (const piece of pieces as AsyncIterable<Uint8Array>) {
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
