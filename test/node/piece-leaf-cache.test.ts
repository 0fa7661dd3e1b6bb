import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createPieceLeafCache } from '../../src/node/index.ts'
import { createMemoryPieceStore, merkleLeafHash, pieceCid, pieceLeafHashes } from '../../src/storage/index.ts'

describe('piece leaf cache', () => {
  it('records the leaf hashes of a stored piece: sha256(0x00 || each 1 KiB leaf)', async () => {
    const leaves = createPieceLeafCache()
    const store = leaves.recording(createMemoryPieceStore())
    const piece = new Uint8Array(randomBytes(3 * 1024 + 100))
    const cid = pieceCid(piece)
    await store.put(cid, piece)
    const { size, leafHashes: hashes } = leaves.get(cid)!
    assert.equal(size, piece.byteLength)
    assert.equal(hashes.byteLength, 4 * 32)
    assert.deepEqual(Buffer.from(hashes.subarray(32, 64)), Buffer.from(merkleLeafHash(piece.subarray(1024, 2048))))
    assert.deepEqual(Buffer.from(hashes.subarray(96)), Buffer.from(merkleLeafHash(piece.subarray(3072))))
    assert.deepEqual(await store.get(cid), piece)
  })

  it('records nothing for a piece the store refuses (bytes that do not match the CID)', async () => {
    const leaves = createPieceLeafCache()
    const store = leaves.recording(createMemoryPieceStore())
    const piece = new Uint8Array(randomBytes(2048))
    const cid = pieceCid(piece)
    const forged = Uint8Array.from(piece)
    forged[0] = forged[0]! ^ 1
    await assert.rejects(store.put(cid, forged))
    assert.equal(leaves.get(cid), undefined)
    assert.equal(leaves.bytes, 0)
  })

  it('keeps at most maxBytes of leaf hashes, oldest out, and forgets deleted pieces', async () => {
    const leaves = createPieceLeafCache({ maxBytes: 3 * 32 * 4 })
    const store = leaves.recording(createMemoryPieceStore())
    const pieces = Array.from({ length: 5 }, () => new Uint8Array(randomBytes(4 * 1024)))
    for (const piece of pieces) await store.put(pieceCid(piece), piece)
    assert.equal(leaves.bytes, 3 * 128)
    assert.deepEqual(
      pieces.map((p) => leaves.get(pieceCid(p)) !== undefined),
      [false, false, true, true, true],
    )
    assert.deepEqual(leaves.get(pieceCid(pieces[4]!))?.leafHashes, pieceLeafHashes(pieces[4]!))
    await store.delete(pieceCid(pieces[4]!))
    leaves.delete([pieceCid(pieces[3]!)])
    assert.equal(leaves.bytes, 128)
  })
})
