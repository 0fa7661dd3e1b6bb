import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { buildVectors, vectorData } from '../../scripts/merkle-vectors.ts'
import {
  MerkleRootBuilder,
  merkleLeafCount,
  merkleLeafHashes,
  merkleLeafLength,
  merkleLevels,
  merklePackedLevels,
  merklePackedProof,
  merkleProof,
  merkleRoot,
  merkleVerify,
} from '../../src/storage/index.ts'

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}
const unhex = (s: string) => Buffer.from(s.slice(2), 'hex')

describe('slot Merkle tree', () => {
  it('matches the published vectors in test/vectors/merkle.json', () => {
    const published = JSON.parse(readFileSync(new URL('../vectors/merkle.json', import.meta.url), 'utf8'))
    assert.deepEqual(buildVectors(), published, 'code and vectors disagree: rerun `node scripts/merkle-vectors.ts`')
    for (const c of published.cases) {
      assert.equal(Buffer.from(merkleRoot(vectorData(c.size))).toString('hex'), c.root.slice(2))
      for (const p of c.proofs) {
        assert.ok(merkleVerify(unhex(c.root), p.index, c.leafCount, unhex(p.leaf), p.proof.map(unhex)))
      }
    }
  })

  it('follows the documented hashing rules on a hand-built tree of 3 leaves', () => {
    const data = vectorData(2 * 1024 + 5)
    const [a, b, c] = [data.subarray(0, 1024), data.subarray(1024, 2048), data.subarray(2048)]
    const leaf = (x: Uint8Array) => sha(Uint8Array.of(0), x)
    const node = (l: Uint8Array, r: Uint8Array) => sha(Uint8Array.of(1), l, r)
    const expected = node(node(leaf(a), leaf(b)), leaf(c))
    assert.deepEqual(Buffer.from(merkleRoot(data)), expected)
    assert.equal(merkleLeafLength(data.byteLength, 2), 5)
    assert.equal(merkleLeafLength(data.byteLength, 0), 1024)
  })

  it('streaming root equals the level-by-level root for any chunking', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.array(fc.integer({ min: 0, max: 3000 })), (size, cuts) => {
        const data = vectorData(size)
        const builder = new MerkleRootBuilder()
        let offset = 0
        for (const cut of cuts) {
          builder.update(data.subarray(offset, offset + cut))
          offset = Math.min(size, offset + cut)
        }
        builder.update(data.subarray(offset))
        const levels = merkleLevels(merkleLeafHashes(data))
        assert.deepEqual(Buffer.from(builder.digest()), Buffer.from(levels.at(-1)![0]!))
      }),
      { numRuns: 200 },
    )
  })

  it('every proof verifies, and fails for another index, leaf, root or a tampered sibling', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.nat(), (leaves, pick) => {
        const size = leaves * 1024 - (pick % 1024)
        const data = vectorData(size)
        const levels = merkleLevels(merkleLeafHashes(data))
        const root = levels.at(-1)![0]!
        const count = merkleLeafCount(size)
        const index = pick % count
        const leaf = data.subarray(index * 1024, (index + 1) * 1024)
        const proof = merkleProof(levels, index)
        assert.ok(merkleVerify(root, index, count, leaf, proof))
        const otherLeaf = Uint8Array.from(leaf)
        if (otherLeaf.byteLength > 0) {
          otherLeaf[0]! ^= 1
          assert.ok(!merkleVerify(root, index, count, otherLeaf, proof))
        }
        if (count > 1) assert.ok(!merkleVerify(root, (index + 1) % count, count, leaf, proof))
        assert.ok(!merkleVerify(sha(root), index, count, leaf, proof))
        if (proof.length > 0) {
          const bad = proof.map((p) => Uint8Array.from(p))
          bad[0]![31]! ^= 0x80
          assert.ok(!merkleVerify(root, index, count, leaf, bad))
          assert.ok(!merkleVerify(root, index, count, leaf, [...proof, proof[0]!]))
        }
      }),
      { numRuns: 300 },
    )
  })

  it('packed levels are the same tree: same root and the same proof for every leaf', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), (leaves) => {
        const hashes = merkleLeafHashes(vectorData(leaves * 1024 - 7))
        const levels = merkleLevels(hashes)
        const packed = merklePackedLevels(Buffer.concat(hashes))
        assert.equal(packed.length, levels.length)
        assert.deepEqual(Buffer.from(packed.at(-1)!), Buffer.from(levels.at(-1)![0]!))
        for (let index = 0; index < hashes.length; index++) {
          assert.deepEqual(
            merklePackedProof(packed, index).map((h) => Buffer.from(h)),
            merkleProof(levels, index).map((h) => Buffer.from(h)),
          )
        }
      }),
      { numRuns: 100 },
    )
    assert.throws(() => merklePackedLevels(new Uint8Array(33)), /multiple of 32/)
    assert.throws(() => merklePackedProof(merklePackedLevels(new Uint8Array(64)), 2), /out of range/)
  })
})
