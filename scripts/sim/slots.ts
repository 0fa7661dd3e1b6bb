/** Slot data the simulated nodes prove from: real random bytes, or all-zero slots of any declared size. */
import { createHash } from 'node:crypto'
import { type Hex, toHex } from 'viem'
import { merkleLeafHashes, merkleLevels, merkleProof, merkleRoot } from '../../src/storage/index.ts'

/** A slot as a deal declares it and as its holder proves it. */
export interface SimSlot {
  root: Hex
  size: bigint
  prove: (leafIndex: number) => { leaf: Uint8Array; proof: Uint8Array[] }
}

/** A slot one node holds, to prove every epoch. */
export interface Held {
  dealId: bigint
  slotIndex: number
  prove: SimSlot['prove']
}

/** A slot of real bytes (1 KiB leaves, the storage layer's Merkle tree). */
export function realSlot(data: Uint8Array): SimSlot {
  const levels = merkleLevels(merkleLeafHashes(data))
  return {
    root: toHex(merkleRoot(data)) as Hex,
    size: BigInt(data.byteLength),
    prove: (i: number) => ({ leaf: data.subarray(i * 1024, (i + 1) * 1024), proof: merkleProof(levels, i) }),
  }
}

/**
 * A slot of `size` zero bytes (a power of two of KiB): every leaf has the same path, computed from log2(leaves)
 * hashes. Stands in for data too large to hold in the simulation; its proofs cost the gas of a slot of that depth.
 */
export function zeroSlot(size: bigint): SimSlot {
  const sha = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest())
  const leaf = new Uint8Array(1024)
  let hash = sha(Uint8Array.of(0), leaf)
  const proof: Uint8Array[] = []
  for (let width = size / 1024n; width > 1n; width /= 2n) {
    proof.push(hash)
    hash = sha(Uint8Array.of(1), hash, hash)
  }
  return { root: toHex(hash) as Hex, size, prove: () => ({ leaf, proof }) }
}

/** `size` seeded random bytes. */
export function randomBytes(rand: () => number, size: number): Uint8Array {
  return new Uint8Array(size).map(() => Math.floor(rand() * 256))
}
