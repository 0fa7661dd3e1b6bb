import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { CID } from 'multiformats/cid'
import { formatStatus, isFullyHealthy } from '../../src/cli/command-status.ts'
import { createClient } from '../../src/client/index.ts'
import { UnreachableError } from '../../src/errors.ts'
import type { FileHealthReport } from '../../src/net/index.ts'
import { fileHealthReport, type RepairFileView } from '../../src/node/index.ts'
import { decodeManifest, type Manifest, manifestPieceCid, parseCapability } from '../../src/storage/index.ts'
import { FakeNetwork } from './fake-network.ts'

const SEGMENT = 16 * 1024

/** The fake network plus the file-health query: each peer answers with what `reports` holds for it. */
class FileHealthNetwork extends FakeNetwork {
  readonly reports = new Map<string, FileHealthReport | 'unsupported'>()
  readonly asked: string[] = []

  async fileHealth(peer: string, _manifestCid: CID): Promise<FileHealthReport> {
    if (this.node(peer).down) throw new UnreachableError(`cannot open a file-health stream to ${peer}`)
    this.asked.push(peer)
    const report = this.reports.get(peer)
    if (report === 'unsupported') throw new UnreachableError(`${peer} does not speak file-health`)
    return report ?? { known: false, mySlots: [], lost: [], repairs: [] }
  }
}

async function manifestOf(network: FakeNetwork, capability: string, holder: string): Promise<Manifest> {
  const { manifestCid } = parseCapability(capability)
  return decodeManifest(await network.node(holder).store.get(manifestPieceCid(manifestCid)), manifestCid)
}

describe('file status: health and repairs in progress', () => {
  it('shows a repair a holder reports running, on the slot and in the list, with slots alive and segments readable', async () => {
    const network = new FileHealthNetwork(8)
    const client = createClient({ network }, { segmentSize: SEGMENT, probeTimeoutMs: 500 })
    const put = await client.put([randomBytes(5 * SEGMENT + 3)], { k: 2, n: 6 })
    const holders = put.slots.map((s) => s.peerId)
    const spare = [...network.nodes.keys()].find((p) => !holders.includes(p))!
    network.node(holders[0]!).down = true
    const startedAt = Date.now() - 1500
    // Slot 0's holder died; the holder of slot 2 rebuilds it onto the spare node (3 of 6 pieces so far); the holder
    // of slot 1 sees the slot lost but is not the repairer; the holder of slot 3 runs an older version.
    network.reports.set(holders[2]!, {
      known: true,
      mySlots: [2],
      lost: [0],
      repairs: [{ slot: 0, target: spare, done: 3, pieces: 6, startedAt }],
    })
    network.reports.set(holders[1]!, { known: true, mySlots: [1], lost: [0], repairs: [] })
    network.reports.set(holders[3]!, 'unsupported')
    // The target already holds the 3 pieces sent so far (the segment-0 piece comes last).
    const manifest = await manifestOf(network, put.capability, holders[1]!)
    for (const segment of manifest.segments.slice(1, 4)) {
      const cid = segment.pieces[0]!
      await network.node(spare).store.put(cid, await network.node(holders[0]!).store.get(cid))
    }

    const status = await client.status(put.capability)
    const expected = { slot: 0, from: holders[2]!, to: spare, done: 3, pieces: 6, startedAt }
    assert.deepEqual(status.repairs, [expected])
    assert.deepEqual(status.slots[0]!.repair, expected)
    assert.equal(status.slots[0]!.peerId, holders[0], 'the slot still shows its dead holder until the repair ends')
    assert.notEqual(status.slots[0]!.state, 'alive')
    assert.deepEqual(
      status.slots.slice(1).map((s) => s.repair),
      [undefined, undefined, undefined, undefined, undefined],
    )
    assert.equal(status.slotsAlive, 5)
    assert.equal(status.segments, 6)
    assert.equal(status.segmentsReadable, 6)
    assert.equal(status.readable, true)
    assert.equal(isFullyHealthy(status), false)
    // What `cairn status` prints: the health in the header, the repair on its slot's row.
    const printed = formatStatus(status).split('\n')
    assert.match(printed[0]!, /k=2 n=6 {2}readable {2}slots alive 5\/6, segments readable 6\/6$/)
    assert.match(printed[1]!, /^SLOT +NODE +STATE +PIECES +REPAIR$/)
    assert.match(printed[2]!, new RegExp(`^0 +${holders[0]} +(dead|suspect) +0/6 +repairing -> ${spare} 3/6$`))
    assert.deepEqual(
      [...new Set(network.asked)].sort(),
      holders.slice(1).sort(),
      'every reachable holder was asked, and only they',
    )

    // The repair finished: the spare holds the whole slot, the repairer reports nothing running.
    for (const segment of manifest.segments) {
      const cid = segment.pieces[0]!
      await network.node(spare).store.put(cid, await network.node(holders[0]!).store.get(cid))
    }
    network.reports.set(holders[2]!, { known: true, mySlots: [2], lost: [], repairs: [] })
    const after = await client.status(put.capability)
    assert.deepEqual(after.repairs, [])
    assert.equal(after.slots[0]!.peerId, spare)
    assert.equal(after.slots[0]!.held, 6)
    assert.equal(after.slotsAlive, 6)
    assert.equal(isFullyHealthy(after), true)
    assert.doesNotMatch(formatStatus(after), /REPAIR|repairing/)
  })

  it('counts a segment out when fewer than k of its pieces are held, from per-piece answers', async () => {
    const network = new FileHealthNetwork(4)
    const client = createClient({ network }, { segmentSize: SEGMENT, probeTimeoutMs: 500 })
    const put = await client.put([randomBytes(4 * SEGMENT)], { k: 2, n: 4 })
    const holders = put.slots.map((s) => s.peerId)
    const manifest = await manifestOf(network, put.capability, holders[0]!)
    assert.equal(manifest.segments.length, 4)
    const drop = (slot: number, segment: number) =>
      network.node(holders[slot]!).store.delete(manifest.segments[segment]!.pieces[slot]!)
    // Slots 0, 1 and 2 each lose a piece of a different segment (1, 2, 3): only slot 3 is complete, yet every
    // segment still has 3 pieces, so the file reads.
    for (const slot of [0, 1, 2]) await drop(slot, slot + 1)
    let status = await client.status(put.capability)
    assert.deepEqual(
      status.slots.map((s) => s.held),
      [3, 3, 3, 4],
    )
    assert.equal(status.slotsAlive, 1)
    assert.equal(status.segmentsReadable, 4)
    assert.equal(status.readable, true)
    // Segment 2 also loses its pieces on slots 0 and 3: one piece left, k = 2. Per-slot counts (every slot still holds
    // 2 or 3 of its 4 pieces, 6 of the 8 needed) would not show it; the per-piece answers do.
    await drop(0, 2)
    await drop(3, 2)
    status = await client.status(put.capability)
    assert.deepEqual(
      status.slots.map((s) => s.held),
      [2, 3, 3, 3],
    )
    assert.equal(status.slotsAlive, 0)
    assert.equal(status.segmentsReadable, 3)
    assert.equal(status.readable, false)
  })

  it("a node's repair view becomes the file-health answer: held slots, lost slots, running repairs", () => {
    const view: RepairFileView = {
      manifestCid: 'bafy',
      k: 2,
      n: 4,
      segments: 9,
      mySlots: [1],
      slotsAlive: 2,
      readable: true,
      adopting: false,
      slots: [
        { slot: 0, peerId: null, state: 'lost', repair: { target: 'peer-9', done: 4, pieces: 9, startedAt: 42 } },
        { slot: 1, peerId: 'me', state: 'self' },
        { slot: 2, peerId: 'peer-2', state: 'alive' },
        { slot: 3, peerId: null, state: 'lost' },
      ],
    }
    assert.deepEqual(fileHealthReport(view), {
      known: true,
      mySlots: [1],
      lost: [0, 3],
      repairs: [{ slot: 0, target: 'peer-9', done: 4, pieces: 9, startedAt: 42 }],
    })
    assert.equal(fileHealthReport(undefined), undefined)
  })

  it('says why a lost slot cannot be repaired when every live node already holds a slot, and not otherwise', async () => {
    const network = new FileHealthNetwork(4)
    const client = createClient({ network }, { segmentSize: SEGMENT, probeTimeoutMs: 500 })
    const put = await client.put([randomBytes(2 * SEGMENT)], { k: 2, n: 4 })
    const before = await client.status(put.capability)
    assert.equal(before.repairBlocked, undefined, 'a whole file is not blocked')
    network.node(put.slots[0]!.peerId).down = true
    const after = await client.status(put.capability)
    assert.equal(after.slotsAlive, 3)
    assert.match(after.repairBlocked ?? '', /^no eligible node: all 3 live nodes already hold a slot of this file/)
    assert.match(formatStatus(after), /\ncannot repair: no eligible node: /)

    // With a spare node the repair can happen: no reason is given.
    const roomy = new FileHealthNetwork(5)
    const client5 = createClient({ network: roomy }, { segmentSize: SEGMENT, probeTimeoutMs: 500 })
    const put5 = await client5.put([randomBytes(2 * SEGMENT)], { k: 2, n: 4 })
    roomy.node(put5.slots[0]!.peerId).down = true
    assert.equal((await client5.status(put5.capability)).repairBlocked, undefined)
  })
})
