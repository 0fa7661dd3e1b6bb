import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { vectorData } from '../../scripts/merkle-vectors.ts'
import {
  merkleLeafHashes,
  merklePackedLevels,
  packedTreeBytes,
  pieceLeafHashes,
  slotMerkleLevels,
} from '../../src/storage/index.ts'

describe('slotMerkleLevels', () => {
  it('gives the packed tree of the concatenated pieces, whatever their chunking, as views of one buffer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 * 1024 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 12 }),
        async (size, cuts) => {
          const data = vectorData(size)
          const pieces: Uint8Array[] = []
          let at = 0
          for (const cut of cuts) {
            if (at >= size) break
            pieces.push(data.subarray(at, Math.min(size, at + cut)))
            at += cut
          }
          if (at < size) pieces.push(data.subarray(at))
          const levels = await slotMerkleLevels(pieces)
          const expected = merklePackedLevels(Buffer.concat(merkleLeafHashes(data)))
          assert.deepEqual(
            levels.map((l) => Buffer.from(l)),
            expected.map((l) => Buffer.from(l)),
          )
          const tree = packedTreeBytes(levels)
          assert.equal(tree.buffer, levels[0]!.buffer, 'the whole tree is one buffer, not a copy')
          assert.deepEqual(Buffer.from(tree), Buffer.concat(levels))
        },
      ),
      { numRuns: 150 },
    )
  })

  it('takes leaf-aligned pieces as their leaf hashes, mixed with pieces given as bytes', async () => {
    const data = vectorData(9 * 1024 + 300)
    const pieces = [data.subarray(0, 4096), data.subarray(4096, 8192), data.subarray(8192)]
    const levels = await slotMerkleLevels([
      { size: 4096, leafHashes: pieceLeafHashes(pieces[0]!) },
      pieces[1]!,
      { size: pieces[2]!.byteLength, leafHashes: pieceLeafHashes(pieces[2]!) },
    ])
    assert.deepEqual(Buffer.from(levels.at(-1)!), Buffer.from((await slotMerkleLevels([data])).at(-1)!))
    await assert.rejects(
      slotMerkleLevels([data.subarray(0, 100), { size: 1024, leafHashes: pieceLeafHashes(data.subarray(0, 1024)) }]),
      /must start at a leaf boundary/,
    )
  })

  it('packedTreeBytes concatenates levels that are not adjacent views of one buffer', () => {
    const levels = merklePackedLevels(Buffer.concat(merkleLeafHashes(vectorData(5 * 1024))))
    assert.deepEqual(Buffer.from(packedTreeBytes(levels)), Buffer.concat(levels))
    assert.equal(packedTreeBytes([]).byteLength, 0)
  })
})
