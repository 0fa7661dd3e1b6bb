/**
 * Finding 4 of issue 12 (any peer can store anything forever), first part: a storing node accepts pieces only from a
 * peer holding an upload reservation (`/cairn/slot-accept/1.0.0`), within its bytes and until it expires. Before the
 * gate any peer's piece was stored.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { InvalidArgumentError, QuotaExceededError, UnauthorizedError } from '../../src/errors.ts'
import { requestSlotAcceptance, reserveUpload } from '../../src/net/index.ts'
import { createSlotAcceptancePolicy } from '../../src/node/slot-acceptance.ts'
import { pieceCid } from '../../src/storage/index.ts'
import { connect, startNode, stopAll } from './fixtures/hosts.ts'

async function storingNode(t: { after: (fn: () => Promise<void>) => void }, freeSpace = 1_000_000) {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-reservation-'))
  const policy = createSlotAcceptancePolicy(
    { prover: { check: async () => 'no pieces here' }, freeSpace: () => freeSpace },
    { dataDir: dir },
  )
  const node = await startNode({ slotAcceptance: policy })
  t.after(async () => {
    await stopAll([node])
    await rm(dir, { recursive: true, force: true })
  })
  return { ...node, policy }
}

describe('finding 4: pieces only under an upload reservation', () => {
  test('a peer with no reservation cannot store a piece', async (t) => {
    const target = await storingNode(t)
    const stranger = await startNode()
    t.after(() => stopAll([stranger]))
    await connect(stranger.network, target.network)
    const bytes = randomBytes(50_000)
    const cid = pieceCid(bytes)
    await assert.rejects(stranger.network.storePiece(target.network.peerId, cid, bytes), (error: Error) => {
      assert.ok(error instanceof InvalidArgumentError, `got ${error.name}: ${error.message}`)
      assert.match(error.message, /no upload reservation for peer .*: reserve room on \/cairn\/slot-accept\/1\.0\.0/)
      return true
    })
    assert.equal(await target.store.has(cid), false, 'the piece was not stored')
    assert.equal(target.network.score(stranger.network.peerId), 0, 'a refused honest peer loses no score')
  })

  test("a reservation's byte cap holds, for its peer only, until it expires", async (t) => {
    const target = await storingNode(t)
    const [client, other] = [await startNode(), await startNode()]
    t.after(() => stopAll([client, other]))
    await connect(client.network, target.network)
    await connect(other.network, target.network)
    const peer = target.network.peerId
    const granted = await reserveUpload(client.network, peer, { bytes: 300_000, seconds: 2 })
    assert.equal(granted.bytes, 300_000)
    const [first, second] = [randomBytes(200_000), randomBytes(200_000)]
    await client.network.storePiece(peer, pieceCid(first), first)
    assert.ok(await target.store.has(pieceCid(first)))
    await assert.rejects(client.network.storePiece(peer, pieceCid(second), second), (error: Error) => {
      assert.ok(error instanceof QuotaExceededError, `got ${error.name}`)
      assert.match(error.message, /reservation of peer .* has 100000 bytes left, the piece has 200000: reserve more/)
      return true
    })
    // Another peer cannot ride on the client's reservation.
    await assert.rejects(other.network.storePiece(peer, pieceCid(second), second), /no upload reservation/)
    assert.equal(await target.store.has(pieceCid(second)), false)
    // Past its expiry the reservation admits nothing; what it stored is listed for the garbage collector.
    await new Promise((resolve) => setTimeout(resolve, 2_100))
    const small = randomBytes(10)
    await assert.rejects(client.network.storePiece(peer, pieceCid(small), small), /no upload reservation/)
    assert.deepEqual(
      target.policy.reservations.unclaimedPieces().map((p) => [p.cid, p.peer]),
      [[pieceCid(first).toString(), client.network.peerId]],
    )
  })

  test('reservations are refused beyond the free space and beyond a peer share, with the reason', async (t) => {
    const target = await storingNode(t, 1_000_000)
    const client = await startNode()
    t.after(() => stopAll([client]))
    await connect(client.network, target.network)
    const peer = target.network.peerId
    await assert.rejects(
      reserveUpload(client.network, peer, { bytes: 2_000_000, seconds: 60 }),
      /refused an upload reservation of 2000000 bytes: only 1000000 bytes free to reserve/,
    )
    await reserveUpload(client.network, peer, { bytes: 400_000, seconds: 60 })
    await assert.rejects(
      reserveUpload(client.network, peer, { bytes: 200_000, seconds: 60 }),
      /a peer may reserve at most 500000 bytes here, asked 600000/,
    )
  })

  test('a node off chain refuses to accept a slot, with its reason over the wire', async (t) => {
    const target = await storingNode(t)
    const client = await startNode()
    t.after(() => stopAll([client]))
    await connect(client.network, target.network)
    const terms = {
      client: `0x${'ab'.repeat(20)}` as const,
      manifestCid: 'bafymanifest',
      slotIndex: 3,
      root: `0x${'cd'.repeat(32)}` as const,
      size: 1234n,
      maxPricePerByteEpoch: 5n,
      durationEpochs: 10,
    }
    await assert.rejects(requestSlotAcceptance(client.network, target.network.peerId, terms), (error: Error) => {
      assert.ok(error instanceof UnauthorizedError)
      assert.match(error.message, /node .* refused slot 3: this node runs off chain and accepts no deal/)
      return true
    })
  })
})
