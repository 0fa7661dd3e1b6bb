import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createSlotProver } from '../../src/node/index.ts'
import {
  createMemoryPieceStore,
  type EncodedFile,
  encodeFile,
  manifestPieceCid,
  merkleLeafCount,
  merkleVerify,
  slotPieces,
} from '../../src/storage/index.ts'

const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}`

describe('slot prover', () => {
  let dir: string
  const store = createMemoryPieceStore()
  let file: EncodedFile

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-slot-prover-'))
    // Three segments of 50 KB (the last one shorter), k = 2 of n = 4: pieces are not multiples of the 1 KiB leaf.
    const encoded = encodeFile([randomBytes(130_001)], { k: 2, n: 4, segmentSize: 50_000 })
    for await (const piece of encoded.pieces) await store.put(piece.cid, piece.bytes)
    file = await encoded.done
    await store.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('checks a held slot and proves any challenged leaf against the slot root', async () => {
    const prover = createSlotProver({ pieceStore: store }, { cacheDir: join(dir, 'a') })
    for (const [slotIndex, slot] of file.manifest.slots.entries()) {
      const key = { manifestCid: file.manifestCid.toString(), slotIndex }
      assert.equal(await prover.check(key, { root: hex(slot.root), size: BigInt(slot.size) }), undefined)
      const leafCount = merkleLeafCount(slot.size)
      for (const index of new Set([0, 1, 24, 25, Math.floor(leafCount / 2), leafCount - 1])) {
        const { leaf, proof } = await prover.prove(key, index)
        assert.equal(leaf.byteLength, Math.min(1024, slot.size - index * 1024))
        assert.ok(merkleVerify(slot.root, index, leafCount, leaf, proof), `slot ${slotIndex} leaf ${index}`)
      }
    }
    // One durable leaf file per slot: later proofs do not rehash the slot.
    assert.equal((await readdir(join(dir, 'a'))).filter((f) => f.endsWith('.leaves')).length, 4)
  })

  it('a fresh prover proves from the cached leaves', async () => {
    const prover = createSlotProver({ pieceStore: store }, { cacheDir: join(dir, 'a') })
    const slot = file.manifest.slots[1]!
    const { leaf, proof } = await prover.prove({ manifestCid: file.manifestCid.toString(), slotIndex: 1 }, 7)
    assert.ok(merkleVerify(slot.root, 7, merkleLeafCount(slot.size), leaf, proof))
  })

  it('lists the pieces of a slot in segment order (what is healed before a proof)', async () => {
    const prover = createSlotProver({ pieceStore: store }, { cacheDir: join(dir, 'c') })
    const pieces = await prover.pieces({ manifestCid: file.manifestCid.toString(), slotIndex: 3 })
    assert.deepEqual(
      pieces.map(String),
      file.manifest.segments.map((s) => s.pieces[3]!.toString()),
    )
    assert.equal(pieces.length, 3)
  })

  it('refuses a slot with a missing piece or another root', async () => {
    const prover = createSlotProver({ pieceStore: store }, { cacheDir: join(dir, 'b') })
    const slot = file.manifest.slots[2]!
    const key = { manifestCid: file.manifestCid.toString(), slotIndex: 2 }
    const wrongRoot = hex(new Uint8Array(32).fill(7))
    assert.match((await prover.check(key, { root: wrongRoot, size: BigInt(slot.size) }))!, /another slot root/)
    await store.delete(slotPieces(file.manifest, 2)[1]!)
    assert.match((await prover.check(key, { root: hex(slot.root), size: BigInt(slot.size) }))!, /is missing/)
    const unknown = { manifestCid: 'bafyreigh4gfvzpj5xsmalixrooixtim4xyhc5g6xjl4fainfaj5rtnpplu', slotIndex: 0 }
    assert.match((await prover.check(unknown, { root: wrongRoot, size: 1n }))!, /manifest is not stored/)
  })
})
