import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { type ClientProgressEvent, createClient, createMemoryFileRecordStore } from '../../src/client/index.ts'
import { InvalidArgumentError, NotEnoughNodesError, NotEnoughPiecesError } from '../../src/errors.ts'
import { decodeManifest, manifestPieceCid, parseCapability, slotPieces } from '../../src/storage/index.ts'
import { FakeNetwork } from './fake-network.ts'

const SEGMENT = 16 * 1024

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const chunk of chunks) parts.push(chunk)
  return Buffer.concat(parts)
}

/** Every slot's holder has every piece of its slot and the manifest. */
async function assertSlotsComplete(
  network: FakeNetwork,
  capability: string,
  slots: Array<{ index: number; peerId: string }>,
) {
  const { manifestCid } = parseCapability(capability)
  const anyHolder = network.node(slots[0]!.peerId)
  const manifest = decodeManifest(await anyHolder.store.get(manifestPieceCid(manifestCid)), manifestCid)
  for (const { index, peerId } of slots) {
    const store = network.node(peerId).store
    assert.ok(await store.has(manifestPieceCid(manifestCid)), `slot ${index}: no manifest on ${peerId}`)
    for (const cid of slotPieces(manifest, index))
      assert.ok(await store.has(cid), `slot ${index}: ${peerId} misses ${cid}`)
  }
}

describe('client put/get/status', () => {
  it('round-trips files with (1, 3) and (2, 6) on distinct nodes', async () => {
    const network = new FakeNetwork(6)
    const client = createClient({ network }, { segmentSize: SEGMENT })
    for (const [k, n, size] of [
      [1, 3, 0],
      [1, 3, 1000],
      [2, 6, 5 * SEGMENT + 17],
      [3, 5, 3 * SEGMENT],
    ] as const) {
      const bytes = randomBytes(size)
      const put = await client.put([bytes], { k, n })
      assert.deepEqual([put.k, put.n, put.size], [k, n, size])
      assert.equal(new Set(put.slots.map((s) => s.peerId)).size, n, 'one slot per node')
      await assertSlotsComplete(network, put.capability, put.slots)
      assert.deepEqual(await collect(client.get(put.capability)), bytes)
    }
  })

  it('refuses with a clear message when fewer than n nodes are alive', async () => {
    const network = new FakeNetwork(4)
    network.node('peer-3').down = true
    const client = createClient({ network })
    await assert.rejects(client.put([randomBytes(10)], { k: 1, n: 4 }), (err: Error) => {
      assert.ok(err instanceof NotEnoughNodesError)
      assert.equal(
        err.message,
        'only 3 live nodes are known but --n 4 needs 4 distinct nodes: start more nodes or lower --n',
      )
      return true
    })
  })

  it('refuses a redundancy outside 1 <= k < n <= 255 with the one message, before any node is asked', async () => {
    const network = new FakeNetwork(4)
    const client = createClient({ network })
    for (const [k, n] of [
      [2, 2],
      [1, 1],
      [5, 3],
      [0, 3],
    ]) {
      await assert.rejects(client.put([randomBytes(10)], { k: k!, n: n! }), (err: Error) => {
        assert.ok(err instanceof InvalidArgumentError)
        assert.equal(
          err.message,
          `k and n must be whole numbers with 1 <= k < n <= 255 (any k of a segment's n pieces read it; k = 1 keeps n copies), got k=${k}, n=${n}: use --k/--n within that range`,
        )
        return true
      })
    }
    for (let i = 0; i < 4; i++) assert.equal(network.node(`peer-${i}`).stores, 0)
  })

  it('spreads slots across /24 ranges when there are enough', async () => {
    // 6 nodes in 3 ranges: 10.0.0.x, 10.0.1.x, 10.0.2.x
    const network = new FakeNetwork(6, (i) => `/ip4/10.0.${i % 3}.${i + 1}/tcp/4001`)
    const client = createClient({ network }, { segmentSize: SEGMENT })
    for (let round = 0; round < 5; round++) {
      const put = await client.put([randomBytes(100)], { k: 1, n: 3 })
      const ranges = put.slots.map((s) => network.node(s.peerId).address.split('.').slice(0, 3).join('.'))
      assert.equal(new Set(ranges).size, 3, `slots share a /24: ${ranges.join(' ')}`)
    }
  })

  it('moves a failing slot to another node and rebuilds what the failed node had acknowledged', async () => {
    for (const [k, n] of [
      [1, 3],
      [2, 4],
    ] as const) {
      const network = new FakeNetwork(n + 2)
      const events: ClientProgressEvent[] = []
      const client = createClient({ network }, { segmentSize: SEGMENT, putConcurrency: 1, slotAttempts: 3 })
      let victim = ''
      const onProgress = (e: ClientProgressEvent) => {
        events.push(e)
        // The node of slot 0 fails after acknowledging two pieces.
        if (e.type === 'put:placement') network.node((victim = e.slots[0]!.peerId)).failStoresAfter = 2
      }
      const bytes = randomBytes(6 * SEGMENT)
      const put = await client.put([bytes], { k, n, onProgress })
      const slotIds = put.slots.map((s) => s.peerId)
      assert.ok(!slotIds.includes(victim), `(${k},${n}) the failing node still holds a slot`)
      assert.equal(new Set(slotIds).size, n)
      assert.ok(events.some((e) => e.type === 'put:retry' && e.from === victim && e.slot === 0))
      await assertSlotsComplete(network, put.capability, put.slots)
      network.node(victim).down = true
      assert.deepEqual(await collect(client.get(put.capability)), bytes)
    }
  })

  it('reserves room on every slot node before sending it pieces (finding 4)', async () => {
    const network = new FakeNetwork(3)
    const client = createClient({ network }, { segmentSize: SEGMENT })
    const put = await client.put([randomBytes(4 * SEGMENT)], { k: 1, n: 3 })
    for (const slot of put.slots) {
      const node = network.node(slot.peerId)
      assert.ok(node.reserves >= 1, `${slot.peerId} was never asked for a reservation`)
      assert.ok(node.stores > 0)
    }
  })

  it('asks for larger reservations as a put goes on: a 1 GiB put fits in the 64 live reservations a node allows', async () => {
    const network = new FakeNetwork(3)
    // 24 pieces of 4 MiB + padding per node: 8 reservations of a flat 16 MiB (3 pieces each), 3 when they double.
    const client = createClient({ network }, { segmentSize: 4 * 1024 * 1024 })
    const put = await client.put([randomBytes(96 * 1024 * 1024)], { k: 1, n: 3 })
    for (const slot of put.slots) {
      const reserves = network.node(slot.peerId).reserves
      assert.ok(reserves <= 3, `${slot.peerId} was asked for ${reserves} reservations`)
    }
  })

  it("a node refusing the upload reservation names itself and its reason in the put's error", async () => {
    const network = new FakeNetwork(3)
    network.node('peer-1').freeSpace = 0
    const client = createClient({ network }, { segmentSize: SEGMENT, slotAttempts: 1 })
    await assert.rejects(client.put([randomBytes(3 * SEGMENT)], { k: 1, n: 3 }), (err: Error) => {
      assert.ok(err instanceof NotEnoughNodesError, String(err))
      assert.match(err.message, /node peer-1 failed to store slot \d \(node peer-1 refused an upload reservation/)
      assert.match(err.message, /only 0 bytes free to reserve/)
      return true
    })
    assert.equal(network.node('peer-1').stores, 0, 'no piece reached the refusing node')
  })

  it('fails the put when a slot runs out of nodes', async () => {
    const network = new FakeNetwork(3)
    network.node('peer-1').failStoresAfter = 0
    const client = createClient({ network }, { segmentSize: SEGMENT, slotAttempts: 2 })
    await assert.rejects(client.put([randomBytes(3 * SEGMENT)], { k: 1, n: 3 }), (err: Error) => {
      assert.ok(err instanceof NotEnoughNodesError, String(err))
      assert.match(err.message, /^node peer-1 failed to store slot \d/)
      return true
    })
  })

  it('reads after n - k holders are down, and says why it cannot with fewer than k', async () => {
    const network = new FakeNetwork(6)
    const client = createClient({ network }, { segmentSize: SEGMENT, probeTimeoutMs: 500 })
    const bytes = randomBytes(4 * SEGMENT + 5)
    const put = await client.put([bytes], { k: 2, n: 6 })
    for (const slot of put.slots.slice(0, 4)) network.node(slot.peerId).down = true
    assert.deepEqual(await collect(client.get(put.capability)), bytes)
    const status = await client.status(put.capability)
    assert.equal(status.readable, true)
    assert.deepEqual(
      status.slots.map((s) => s.state),
      ['dead', 'dead', 'dead', 'dead', 'alive', 'alive'],
    )
    assert.deepEqual(
      status.slots.map((s) => s.peerId),
      put.slots.map((s) => s.peerId),
    )
    network.node(put.slots[4]!.peerId).down = true
    await assert.rejects(collect(client.get(put.capability)), NotEnoughPiecesError)
    assert.equal((await client.status(put.capability)).readable, false)
  })

  it('with every holder down, counts only the nodes that answered, not dead holders', async () => {
    const network = new FakeNetwork(5)
    const client = createClient({ network }, { segmentSize: SEGMENT })
    const put = await client.put([randomBytes(3000)], { k: 1, n: 3 })
    for (const { peerId } of put.slots) network.node(peerId).down = true
    await assert.rejects(collect(client.get(put.capability)), (err: Error) =>
      /^none of the 2 storage nodes that answered holds the manifest \S+ \(3 more did not answer\): /.test(err.message),
    )
  })

  it('detects a holder serving corrupted bytes and reads from another', async () => {
    const network = new FakeNetwork(3)
    const client = createClient({ network }, { segmentSize: SEGMENT })
    const bytes = randomBytes(3 * SEGMENT)
    const put = await client.put([bytes], { k: 1, n: 3 })
    const liar = put.slots[0]!.peerId
    network.node(liar).corruptReads = true
    const events: ClientProgressEvent[] = []
    const got = await collect(client.get(put.capability, { prefer: [liar], onProgress: (e) => events.push(e) }))
    assert.deepEqual(got, bytes)
    assert.ok(events.some((e) => e.type === 'get:corrupt' && e.peerId === liar))
    assert.ok(network.node(liar).fetches >= 1, 'the preferred holder was asked first')
  })

  it('finds holders without a local record, and reads ranges', async () => {
    const network = new FakeNetwork(5)
    const writer = createClient({ network }, { segmentSize: SEGMENT })
    const bytes = randomBytes(5 * SEGMENT)
    const put = await writer.put([bytes], { k: 2, n: 4 })
    const reader = createClient({ network, records: createMemoryFileRecordStore() })
    const status = await reader.status(put.capability)
    assert.deepEqual(status.slots.map((s) => s.peerId).sort(), put.slots.map((s) => s.peerId).sort())
    const range = await collect(reader.get(put.capability, { offset: SEGMENT - 3, length: 2 * SEGMENT }))
    assert.deepEqual(range, bytes.subarray(SEGMENT - 3, 3 * SEGMENT - 3))
  })
})
