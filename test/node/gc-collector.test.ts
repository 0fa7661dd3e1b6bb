import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, beforeEach, describe, it } from 'node:test'
import type { CID } from 'multiformats/cid'
import type { Address } from 'viem'
import { AcceptedSlots } from '../../src/node/accepted-slots.ts'
import {
  createPieceCollector,
  GC_STATE_FILE,
  type MarketView,
  type MarketViewDeal,
  type PieceCollectorComponents,
} from '../../src/node/index.ts'
import {
  createFsPieceStore,
  type EncodedFile,
  encodeFile,
  type FsPieceStore,
  manifestPieceCid,
  slotPieces,
} from '../../src/storage/index.ts'

const ME = '0x00000000000000000000000000000000000000aa' as Address
const OTHER = '0x00000000000000000000000000000000000000bb' as Address
const GRACE = 60_000

/** Encodes a small file (k = 2, n = 3) and stores its manifest and the pieces of `slots` on the store. */
async function storeFile(store: FsPieceStore, slots: number[]): Promise<EncodedFile> {
  const encoded = encodeFile([randomBytes(40_000)], { k: 2, n: 3, segmentSize: 16_384 })
  const pieces: Array<{ cid: CID; bytes: Uint8Array }> = []
  for await (const piece of encoded.pieces) pieces.push(piece)
  const file = await encoded.done
  for (const slot of slots) {
    const wanted = new Set(slotPieces(file.manifest, slot).map(String))
    for (const piece of pieces) if (wanted.has(piece.cid.toString())) await store.put(piece.cid, piece.bytes)
  }
  await store.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
  return file
}

function deal(dealId: number, file: EncodedFile, endEpoch: number, holders: Address[]): MarketViewDeal {
  return {
    dealId: BigInt(dealId),
    owner: OTHER,
    manifestCid: file.manifestCid.toString(),
    endEpoch,
    slots: holders.map((node, index) => ({ index, node, state: 'active', root: '0x00', size: 1n })),
  }
}

async function held(store: FsPieceStore): Promise<Set<string>> {
  const out = new Set<string>()
  for await (const cid of store.list()) out.add(cid.toString())
  return out
}

describe('garbage collector: which pieces a node keeps', () => {
  let dir: string
  let store: FsPieceStore
  let clock: number
  let deals: MarketViewDeal[]
  let epoch: number
  let readAt: number | undefined
  const forgotten: string[] = []
  const tracked: Array<{ manifestCid: string; mySlots: number[] }> = []

  const components = (): PieceCollectorComponents => ({
    pieceStore: store,
    market: (): MarketView | undefined =>
      readAt === undefined
        ? undefined
        : { account: ME, epoch, chainTime: Math.floor(clock / 1000), readAt, deals: () => deals },
    accepted: new AcceptedSlots(dir),
    repair: {
      files: () => tracked,
      forget: (cid) => {
        forgotten.push(cid.toString())
        return true
      },
    },
  })
  const collector = () => createPieceCollector(components(), { dataDir: dir, graceMs: GRACE, now: () => clock })

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-gc-'))
    store = createFsPieceStore({ path: join(dir, 'pieces') })
    await store.start()
    // every piece file is written now: a clock two grace periods ahead makes them all old
    clock = Date.now() + 2 * GRACE
    readAt = clock
    epoch = 5
    deals = []
    forgotten.length = 0
    tracked.length = 0
  })
  afterEach(async () => {
    await store.stop()
    await rm(dir, { recursive: true, force: true })
  })
  after(() => {})

  it('deletes nothing before the book of the Market is read, nor from an old book', async () => {
    await storeFile(store, [0, 1])
    const before = await held(store)
    readAt = undefined
    const first = await collector().sweep()
    assert.match(first.skipped ?? '', /not read yet/)
    readAt = clock - 10 * 60_000
    const second = await collector().sweep()
    assert.match(second.skipped ?? '', /last read 600 s ago/)
    assert.deepEqual(await held(store), before)
  })

  it('keeps the slots of running deals and their manifests, deletes the rest once old', async () => {
    const a = await storeFile(store, [0, 1])
    const b = await storeFile(store, [2])
    deals = [deal(1, a, 10, [ME, OTHER, OTHER]), deal(2, b, 10, [OTHER, OTHER, ME])]
    const report = await collector().sweep()
    const left = await held(store)
    const expected = new Set(
      [
        manifestPieceCid(a.manifestCid),
        ...slotPieces(a.manifest, 0),
        manifestPieceCid(b.manifestCid),
        ...slotPieces(b.manifest, 2),
      ].map(String),
    )
    assert.deepEqual(left, expected)
    assert.equal(report.deleted, slotPieces(a.manifest, 1).length)
    assert.ok(report.bytesFreed > 0)
    assert.equal(store.usage().pieces, expected.size)
  })

  it('keeps unreferenced pieces younger than the grace period (an upload in progress)', async () => {
    await storeFile(store, [0, 1, 2])
    clock = Date.now()
    readAt = clock
    const report = await collector().sweep()
    assert.equal(report.deleted, 0)
    assert.equal(report.young, report.scanned)
  })

  it('counts references: a piece of an ended deal stays while another running deal names the same slot', async () => {
    const a = await storeFile(store, [0])
    deals = [deal(1, a, 3, [ME, OTHER, OTHER]), deal(7, a, 40, [ME, OTHER, OTHER])]
    const before = await held(store)
    const report = await collector().sweep()
    assert.equal(report.deleted, 0)
    assert.deepEqual(await held(store), before)
    deals = [deal(1, a, 3, [ME, OTHER, OTHER])]
    clock += GRACE + 1
    readAt = clock
    assert.equal((await collector().sweep()).deleted, before.size)
  })

  it('keeps an ended deal for the grace period, across a restart, then deletes it and forgets the file', async () => {
    const a = await storeFile(store, [0])
    tracked.push({ manifestCid: a.manifestCid.toString(), mySlots: [0] })
    deals = [deal(1, a, 6, [ME, OTHER, OTHER])]
    await collector().sweep() // the slot is needed now: remembered in gc-state.json
    const saved = JSON.parse(await readFile(join(dir, GC_STATE_FILE), 'utf8'))
    assert.equal(Object.keys(saved.slots).length, 1)
    // the deal ended (and is closed: it left the book); a new collector (a restart) keeps it within the grace
    epoch = 8
    deals = []
    clock += GRACE / 2
    readAt = clock
    const within = await collector().sweep()
    assert.equal(within.deleted, 0)
    assert.equal(within.slotsKept, 1)
    assert.deepEqual(forgotten, [])
    clock += GRACE
    readAt = clock
    const after = await collector().sweep()
    assert.equal(after.deleted, slotPieces(a.manifest, 0).length + 1)
    assert.equal((await held(store)).size, 0)
    assert.deepEqual(forgotten, [a.manifestCid.toString()])
    assert.deepEqual(JSON.parse(await readFile(join(dir, GC_STATE_FILE), 'utf8')).slots, {})
  })

  it('keeps a slot this node accepted until the acceptance expires, then deletes it and the acceptance', async () => {
    const a = await storeFile(store, [1])
    const accepted = new AcceptedSlots(dir)
    const record = {
      client: OTHER,
      manifestCid: a.manifestCid.toString(),
      slotIndex: 1,
      root: '0x01',
      size: '5',
      maxPricePerByteEpoch: '1',
      durationEpochs: 10,
      nonce: '1',
      expiry: Math.floor(clock / 1000) + 60,
      signature: '0x',
      peer: 'peer',
      acceptedAt: Date.now(),
    }
    await accepted.record(record)
    assert.equal((await collector().sweep()).deleted, 0)
    // expired without a deal: kept one grace period more (remembered), then gone with its acceptance
    clock += 120_000 + GRACE
    readAt = clock
    const report = await collector().sweep()
    assert.equal(report.deleted, slotPieces(a.manifest, 1).length + 1)
    assert.deepEqual(await accepted.list(), [])
  })

  it('deletes nothing when the manifest of a kept slot is missing or altered on disk', async () => {
    const a = await storeFile(store, [0, 1])
    deals = [deal(1, a, 10, [ME, OTHER, OTHER])]
    const before = await held(store)
    // a forged manifest file in place of the real one: it does not verify against the deal's CID
    const cid = manifestPieceCid(a.manifestCid).toString()
    const file = await findPieceFile(join(dir, 'pieces', 'pieces'), cid)
    await writeFile(file, randomBytes(200))
    const report = await collector().sweep()
    assert.ok(report.skipped !== undefined, 'the sweep says why it deleted nothing')
    assert.equal(report.deleted, 0)
    const left = await held(store)
    for (const piece of before) if (piece !== cid) assert.ok(left.has(piece))
  })

  it("a deal whose slot names another node does not keep this node's copy", async () => {
    const a = await storeFile(store, [0])
    deals = [deal(1, a, 10, [OTHER, OTHER, OTHER])]
    assert.equal((await collector().sweep()).deleted, slotPieces(a.manifest, 0).length + 1)
  })
})

async function findPieceFile(root: string, name: string): Promise<string> {
  for (const a of await readdir(root)) {
    for (const b of await readdir(join(root, a))) {
      if ((await readdir(join(root, a, b))).includes(name)) return join(root, a, b, name)
    }
  }
  throw new Error(`no file ${name}`)
}
