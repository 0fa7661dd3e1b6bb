/**
 * Writes test/vectors/merkle.json: known-answer vectors for the slot Merkle tree, shared by the TypeScript tests and
 * the Solidity verifier's tests. Run: `node scripts/merkle-vectors.ts`. The data is a fixed byte pattern, so the file
 * is reproducible; the test checks that the code still produces exactly these values.
 */
import { writeFileSync } from 'node:fs'
import { MERKLE_LEAF_SIZE, merkleLeafCount, merkleLeafHashes, merkleLevels, merkleProof } from '../src/storage/index.ts'

export function vectorData(size: number): Uint8Array {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 8) * 7 + 11) & 0xff
  return data
}

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`

export function buildVectors() {
  const L = MERKLE_LEAF_SIZE
  const sizes = [0, 1, L - 1, L, L + 1, 2 * L, 3 * L, 5 * L + 17, 8 * L, 13 * L - 1]
  return {
    description:
      'Cairn slot Merkle tree. leaf = sha256(0x00 || bytes), node = sha256(0x01 || left || right), leaves of leafSize ' +
      'bytes (last may be shorter, empty data = one empty leaf), odd last node carried up unchanged; proof = siblings ' +
      'bottom-up, skipping carried levels. data[i] = (i*31 + (i>>8)*7 + 11) & 0xff.',
    leafSize: L,
    cases: sizes.map((size) => {
      const data = vectorData(size)
      const levels = merkleLevels(merkleLeafHashes(data))
      const leafCount = merkleLeafCount(size)
      const indices = [...new Set([0, leafCount >> 1, leafCount - 1])]
      return {
        size,
        leafCount,
        root: hex(levels.at(-1)![0]!),
        proofs: indices.map((index) => ({
          index,
          leaf: hex(data.subarray(index * L, (index + 1) * L)),
          proof: merkleProof(levels, index).map(hex),
        })),
      }
    }),
  }
}

if (import.meta.main) {
  writeFileSync(new URL('../test/vectors/merkle.json', import.meta.url), `${JSON.stringify(buildVectors(), null, 2)}\n`)
}
