import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import { type Hex, toHex } from 'viem'
import { marketAbi } from '../../src/chain/index.ts'
import { merkleLeafHashes, merkleLevels, merkleProof, merkleRoot, merkleVerify } from '../../src/storage/index.ts'
import { startTestChain, type TestChain } from './harness.ts'

interface Vectors {
  leafSize: number
  cases: Array<{
    size: number
    leafCount: number
    root: Hex
    proofs: Array<{ index: number; leaf: Hex; proof: Hex[] }>
  }>
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/merkle.json', import.meta.url), 'utf8')) as Vectors
let chain: TestChain
before(async () => {
  chain = await startTestChain({ accounts: 1 })
})
after(async () => {
  await chain?.stop()
})

function verify(root: Hex, index: number, leafCount: number, leaf: Hex, proof: readonly Hex[]): Promise<boolean> {
  return chain.clients[0]!.readContract({
    address: chain.devchain.contracts.market,
    abi: marketAbi,
    functionName: 'verifySlotProof',
    args: [root, BigInt(index), BigInt(leafCount), leaf, proof],
  })
}

test('the Solidity verifier accepts every proof of the storage layer test vectors', async () => {
  assert.equal(vectors.leafSize, 1024)
  let checked = 0
  for (const c of vectors.cases) {
    for (const p of c.proofs) {
      assert.equal(await verify(c.root, p.index, c.leafCount, p.leaf, p.proof), true, `size ${c.size} leaf ${p.index}`)
      checked++
    }
  }
  assert.ok(checked >= 20, `only ${checked} vector proofs`)
})

test('the Solidity verifier rejects every altered vector: leaf byte, sibling, index, proof length', async () => {
  for (const c of vectors.cases) {
    for (const p of c.proofs) {
      const flippedLeaf =
        p.leaf === '0x'
          ? '0x00'
          : (`${p.leaf.slice(0, -2)}${(Number.parseInt(p.leaf.slice(-2), 16) ^ 1).toString(16).padStart(2, '0')}` as Hex)
      assert.equal(await verify(c.root, p.index, c.leafCount, flippedLeaf, p.proof), false)
      assert.equal(await verify(c.root, p.index, c.leafCount, p.leaf, [...p.proof, c.root]), false)
      assert.equal(await verify(c.root, c.leafCount, c.leafCount, p.leaf, p.proof), false)
      if (p.proof.length > 0) {
        const [first, ...rest] = p.proof
        const altered = `0x${(BigInt(first!) ^ 1n).toString(16).padStart(64, '0')}` as Hex
        assert.equal(await verify(c.root, p.index, c.leafCount, p.leaf, [altered, ...rest]), false)
        assert.equal(await verify(c.root, p.index, c.leafCount, p.leaf, rest), false)
      }
    }
  }
})

test('property: Solidity and TypeScript verifiers agree on random trees, leaves and tampering', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 40 * 1024 }), fc.nat(), fc.boolean(), async (size, pick, tamper) => {
      const data = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff)
      const levels = merkleLevels(merkleLeafHashes(data))
      const leafCount = levels[0]!.length
      const index = pick % leafCount
      const leaf = data.slice(index * 1024, (index + 1) * 1024)
      if (tamper && leaf.length > 0) leaf[pick % leaf.length]! ^= 0x80
      const proof = merkleProof(levels, index)
      const root = merkleRoot(data)
      const expected = merkleVerify(root, index, leafCount, leaf, proof)
      assert.equal(expected, !(tamper && leaf.length > 0))
      const actual = await verify(
        toHex(root),
        index,
        leafCount,
        toHex(leaf),
        proof.map((h) => toHex(h)),
      )
      assert.equal(actual, expected)
    }),
    { numRuns: 60 },
  )
})
