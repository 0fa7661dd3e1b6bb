import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { CID } from 'multiformats/cid'
import { createPieceLeafCache, createSlotProver } from '../../src/node/index.ts'
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
    assert.equal((await readdir(join(dir, 'a'))).filter((f) => f.endsWith('.levels')).length, 4)
  })

  it('a fresh prover proves from the cached leaves', async () => {
    const prover = createSlotProver({ pieceStore: store }, { cacheDir: join(dir, 'a') })
    const slot = file.manifest.slots[1]!
    const { leaf, proof } = await prover.prove({ manifestCid: file.manifestCid.toString(), slotIndex: 1 }, 7)
    assert.ok(merkleVerify(slot.root, 7, merkleLeafCount(slot.size), leaf, proof))
  })

  it('never sends a proof from a damaged leaf cache: it rebuilds the cache from the pieces', async () => {
    const cacheDir = join(dir, 'tampered')
    const key = { manifestCid: file.manifestCid.toString(), slotIndex: 0 }
    const slot = file.manifest.slots[0]!
    assert.equal(
      await createSlotProver({ pieceStore: store }, { cacheDir }).check(key, {
        root: hex(slot.root),
        size: BigInt(slot.size),
      }),
      undefined,
    )
    // Flip a byte of the hash next to leaf 6 (level 0 starts the cache file): the length is still right.
    const [name] = await readdir(cacheDir)
    const cache = await readFile(join(cacheDir, name!))
    cache[7 * 32] = cache[7 * 32]! ^ 0xff
    await writeFile(join(cacheDir, name!), cache)
    const prover = createSlotProver({ pieceStore: store }, { cacheDir })
    const { leaf, proof } = await prover.prove(key, 6)
    assert.ok(merkleVerify(slot.root, 6, merkleLeafCount(slot.size), leaf, proof), 'the proof matches the slot root')
  })

  it('refuses to prove a leaf whose piece changed on disk, naming the slot', async () => {
    const own = createMemoryPieceStore()
    const encoded = encodeFile([randomBytes(60_000)], { k: 1, n: 3 })
    for await (const piece of encoded.pieces) await own.put(piece.cid, piece.bytes)
    const done = await encoded.done
    await own.put(manifestPieceCid(done.manifestCid), done.manifestBytes)
    const prover = createSlotProver({ pieceStore: own }, { cacheDir: join(dir, 'changed') })
    const key = { manifestCid: done.manifestCid.toString(), slotIndex: 1 }
    const slot = done.manifest.slots[1]!
    assert.equal(await prover.check(key, { root: hex(slot.root), size: BigInt(slot.size) }), undefined)
    // The piece store now returns other bytes for the slot's piece (a disk that lies; the store's own check bypassed).
    const cid = slotPieces(done.manifest, 1)[0]!
    const bytes = await own.get(cid)
    const bad = Uint8Array.from(bytes)
    bad[5] = bad[5]! ^ 1
    const lying = { has: own.has.bind(own), get: async (c: typeof cid) => (c.equals(cid) ? bad : own.get(c)) }
    const fooled = createSlotProver({ pieceStore: lying }, { cacheDir: join(dir, 'changed') })
    await assert.rejects(fooled.prove(key, 0), /slot 1: .*(does not match|do not hash)/)
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

describe('slot prover with leaf hashes taken on receipt', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-slot-prover-receipt-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  /** A file stored through a recording store, and a store view that counts the piece reads of the prover. */
  async function received(k: number, n: number) {
    const store = createMemoryPieceStore()
    const leaves = createPieceLeafCache()
    const recording = leaves.recording(store)
    const encoded = encodeFile([randomBytes(300_001)], { k, n, segmentSize: 65_536 })
    for await (const piece of encoded.pieces) await recording.put(piece.cid, piece.bytes)
    const file = await encoded.done
    await store.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
    const reads: string[] = []
    const counted = {
      has: store.has.bind(store),
      get: (cid: CID, options?: { signal?: AbortSignal }) => {
        reads.push(cid.toString())
        return store.get(cid, options)
      },
    }
    return { store, leaves, file, reads, counted }
  }

  for (const [k, n] of [
    [1, 3],
    [2, 4],
  ] as const) {
    it(`(${k}, ${n}): checks a slot without reading its pieces, then reuses its tree file`, async () => {
      const { leaves, file, reads, counted } = await received(k, n)
      const before = leaves.bytes
      assert.ok(before > 0, 'the received pieces were leaf-hashed')
      const cacheDir = join(dir, `${k}-${n}`)
      const prover = createSlotProver({ pieceStore: counted, pieceLeaves: leaves }, { cacheDir })
      const slot = file.manifest.slots[1]!
      const key = { manifestCid: file.manifestCid.toString(), slotIndex: 1 }
      const expected = { root: hex(slot.root), size: BigInt(slot.size) }
      assert.equal(await prover.check(key, expected), undefined)
      const pieceReads = reads.filter((cid) => cid !== manifestPieceCid(file.manifestCid).toString())
      assert.deepEqual(pieceReads, [], 'no piece was read to build the tree')
      assert.ok(leaves.bytes < before, "the slot's leaf hashes are dropped once its tree file is written")
      const leafCount = merkleLeafCount(slot.size)
      for (const index of [0, 63, leafCount - 1]) {
        const { leaf, proof } = await prover.prove(key, index)
        assert.ok(merkleVerify(slot.root, index, leafCount, leaf, proof), `leaf ${index}`)
      }
      // Confirming the deal later: the tree file is reused after one random leaf is checked against the root.
      reads.length = 0
      const again = createSlotProver({ pieceStore: counted }, { cacheDir })
      assert.equal(await again.check(key, expected), undefined)
      assert.ok(reads.length <= 3, `one leaf read, not the slot (${reads.length} reads)`)
    })
  }

  it('rebuilds a tree file whose root is not the slot root, from the pieces on disk', async () => {
    const { file, reads, counted } = await received(2, 4)
    const cacheDir = join(dir, 'bad-root')
    const prover = createSlotProver({ pieceStore: counted }, { cacheDir })
    const slot = file.manifest.slots[0]!
    const key = { manifestCid: file.manifestCid.toString(), slotIndex: 0 }
    const expected = { root: hex(slot.root), size: BigInt(slot.size) }
    assert.equal(await prover.check(key, expected), undefined)
    const [name] = await readdir(cacheDir)
    const good = await readFile(join(cacheDir, name!))
    const tree = Buffer.from(good)
    tree[tree.byteLength - 1] = tree[tree.byteLength - 1]! ^ 1
    await writeFile(join(cacheDir, name!), tree)
    reads.length = 0
    assert.equal(await prover.check(key, expected), undefined)
    assert.ok(reads.length >= file.manifest.segments.length, 'every piece was read again')
    assert.deepEqual(await readFile(join(cacheDir, name!)), good, 'the tree file is whole again')
  })

  it('refuses a slot whose piece is gone even when its leaf hashes were taken', async () => {
    const { store, leaves, file, counted } = await received(1, 3)
    const prover = createSlotProver({ pieceStore: counted, pieceLeaves: leaves }, { cacheDir: join(dir, 'gone') })
    const slot = file.manifest.slots[2]!
    await store.delete(slotPieces(file.manifest, 2)[2]!)
    const key = { manifestCid: file.manifestCid.toString(), slotIndex: 2 }
    assert.match((await prover.check(key, { root: hex(slot.root), size: BigInt(slot.size) }))!, /is missing/)
  })
})
