import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { CorruptDataError, NotFoundError, ProtocolError, QuotaExceededError } from '../../src/errors.ts'
import { encodeFrameHeader } from '../../src/net/frame-codec.ts'
import {
  encodeFrame,
  encodePieceMessage,
  MAX_PIECE_FRAME_SIZE,
  type Network,
  PIECE_PROTOCOL,
} from '../../src/net/index.ts'
import { createMemoryPieceStore, type PieceStore, pieceCid } from '../../src/storage/index.ts'
import { connect, startNode, stopAll, waitFor } from './fixtures/hosts.ts'

const scoreOf = (network: Network, peer: string) => network.score(peer)

async function rawStream(from: Network, to: Network): Promise<Stream> {
  return await from.libp2p.dialProtocol(peerIdFromString(to.peerId), PIECE_PROTOCOL)
}

/** Resolves with how the stream ended: 'reset' when the remote aborted it, 'closed' on a clean end. */
async function outcome(stream: Stream): Promise<{ end: 'reset' | 'closed'; bytes: number }> {
  let bytes = 0
  try {
    for await (const chunk of stream) bytes += chunk.byteLength
    // a stream reset before we started reading ends quietly; its status still says so
    return { end: stream.status === 'reset' || stream.status === 'aborted' ? 'reset' : 'closed', bytes }
  } catch {
    return { end: 'reset', bytes }
  }
}

describe('piece protocols over TCP between hosts on 127.0.0.1', () => {
  test('store then fetch returns identical bytes; has-pieces answers per CID; absent pieces are NotFound', async (t) => {
    const a = await startNode()
    const b = await startNode()
    t.after(() => stopAll([a, b]))
    await connect(a.network, b.network)
    const pieces = [randomBytes(4 * 1024 * 1024 + 16), randomBytes(1), new Uint8Array(0), randomBytes(300_000)]
    const cids = pieces.map((p) => pieceCid(p))
    await Promise.all(pieces.map((p, i) => a.network.storePiece(b.network.peerId, cids[i]!, p)))
    for (const [i, piece] of pieces.entries()) {
      const copy = await a.network.fetchPiece(b.network.peerId, cids[i]!)
      assert.ok(Buffer.from(copy).equals(piece), `piece ${i} differs`)
      assert.ok(await b.store.has(cids[i]!))
    }
    const absent = pieceCid(randomBytes(10))
    assert.deepEqual(await a.network.hasPieces(b.network.peerId, [cids[0]!, absent, cids[3]!]), [true, false, true])
    await assert.rejects(a.network.fetchPiece(b.network.peerId, absent), NotFoundError)
    assert.equal(scoreOf(b.network, a.network.peerId), 0, 'honest traffic costs nothing')
  })

  test('pieces also travel over the WebSockets transport', async (t) => {
    const listen = ['/ip4/127.0.0.1/tcp/0/ws']
    const a = await startNode({ listen })
    const b = await startNode({ listen })
    t.after(() => stopAll([a, b]))
    const address = b.network.multiaddrs().find((m) => m.includes('/ws/'))
    assert.ok(address !== undefined, 'b listens on WebSockets')
    const connection = await a.network.libp2p.dial(multiaddr(address))
    assert.match(connection.remoteAddr.toString(), /\/ws/)
    const bytes = randomBytes(200_000)
    const cid = pieceCid(bytes)
    await a.network.storePiece(b.network.peerId, cid, bytes)
    assert.ok(Buffer.from(await a.network.fetchPiece(b.network.peerId, cid)).equals(bytes))
  })

  test('wrong bytes are refused with CorruptDataError, not stored, and cost the sender score', async (t) => {
    const a = await startNode()
    const b = await startNode()
    t.after(() => stopAll([a, b]))
    await connect(a.network, b.network)
    const cid = pieceCid(randomBytes(1000))
    await assert.rejects(a.network.storePiece(b.network.peerId, cid, randomBytes(1000)), (error: unknown) => {
      assert.ok(error instanceof CorruptDataError, String(error))
      assert.match(error.message, /refused/)
      return true
    })
    assert.equal(await b.store.has(cid), false)
    assert.ok(scoreOf(b.network, a.network.peerId) < 0)
  })

  test('a fetched piece that does not match its CID is rejected (CorruptDataError)', async (t) => {
    const honest = createMemoryPieceStore()
    const lying: PieceStore = {
      ...honest,
      put: (cid, bytes, o) => honest.put(cid, bytes, o),
      has: (cid, o) => honest.has(cid, o),
      get: async () => randomBytes(500),
      delete: (cid, o) => honest.delete(cid, o),
      list: (o) => honest.list(o),
      usage: () => honest.usage(),
    }
    const a = await startNode()
    const b = await startNode({}, lying)
    t.after(() => stopAll([a, b]))
    await connect(a.network, b.network)
    const bytes = randomBytes(500)
    const cid = pieceCid(bytes)
    await a.network.storePiece(b.network.peerId, cid, bytes)
    await assert.rejects(a.network.fetchPiece(b.network.peerId, cid), CorruptDataError)
    assert.ok(scoreOf(a.network, b.network.peerId) < 0, 'the lying server loses score at the client')
  })

  test('the ack comes only after PieceStore.put resolved', async (t) => {
    const inner = createMemoryPieceStore()
    let release = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    let putCalled = false
    let putDone = false
    const slow: PieceStore = {
      put: async (cid: CID, bytes: Uint8Array) => {
        putCalled = true
        await gate
        await inner.put(cid, bytes)
        putDone = true
      },
      get: (cid, o) => inner.get(cid, o),
      has: (cid, o) => inner.has(cid, o),
      delete: (cid, o) => inner.delete(cid, o),
      list: (o) => inner.list(o),
      usage: () => inner.usage(),
    }
    const a = await startNode()
    const b = await startNode({}, slow)
    t.after(() => stopAll([a, b]))
    await connect(a.network, b.network)
    const bytes = randomBytes(100_000)
    let acked = false
    const storing = a.network.storePiece(b.network.peerId, pieceCid(bytes), bytes).then(() => {
      acked = true
      assert.ok(putDone, 'acknowledged before the piece was durable')
    })
    await waitFor(() => putCalled, 5000, 'put to be called')
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(acked, false, 'no ack while put is pending')
    release()
    await storing
    assert.equal(acked, true)
  })

  test('a full store answers QuotaExceededError', async (t) => {
    const a = await startNode()
    const b = await startNode({}, createMemoryPieceStore({ quota: 1000 }))
    t.after(() => stopAll([a, b]))
    await connect(a.network, b.network)
    const bytes = randomBytes(2000)
    await assert.rejects(a.network.storePiece(b.network.peerId, pieceCid(bytes), bytes), QuotaExceededError)
  })

  test('an oversize frame or garbage resets the stream, costs score, and the node keeps serving others', async (t) => {
    const attacker = await startNode()
    const server = await startNode()
    const honest = await startNode()
    t.after(() => stopAll([attacker, server, honest]))
    await connect(attacker.network, server.network)
    await connect(honest.network, server.network)

    const oversize = await rawStream(attacker.network, server.network)
    oversize.send(encodeFrameHeader(MAX_PIECE_FRAME_SIZE + 1))
    oversize.send(randomBytes(64 * 1024))
    assert.equal((await outcome(oversize)).end, 'reset')
    const afterOversize = scoreOf(server.network, attacker.network.peerId)
    assert.ok(afterOversize < 0)

    const garbage = await rawStream(attacker.network, server.network)
    garbage.send(encodeFrame(randomBytes(200).fill(0xee, 0, 1)))
    assert.equal((await outcome(garbage)).end, 'reset')
    assert.ok(scoreOf(server.network, attacker.network.peerId) < afterOversize)

    const response = await rawStream(attacker.network, server.network)
    response.send(encodeFrame(encodePieceMessage({ type: 'has-response', present: [true] })))
    assert.equal((await outcome(response)).end, 'reset', 'a response where a request belongs is refused')

    const bytes = randomBytes(50_000)
    const cid = pieceCid(bytes)
    await honest.network.storePiece(server.network.peerId, cid, bytes)
    assert.ok(Buffer.from(await honest.network.fetchPiece(server.network.peerId, cid)).equals(bytes))
  })

  test('a peer that keeps misbehaving is banned and disconnected', async (t) => {
    const attacker = await startNode()
    const server = await startNode()
    t.after(() => stopAll([attacker, server]))
    await connect(attacker.network, server.network)
    for (let i = 0; i < 4; i++) {
      const stream = await rawStream(attacker.network, server.network).catch(() => undefined)
      if (stream === undefined) break
      stream.send(encodeFrameHeader(0xffffffff))
      await outcome(stream)
    }
    assert.ok(scoreOf(server.network, attacker.network.peerId) <= -100)
    await waitFor(
      () => server.network.libp2p.getConnections(peerIdFromString(attacker.network.peerId)).length === 0,
      5000,
      'the banned peer to be disconnected',
    )
    const bytes = randomBytes(10)
    await assert.rejects(attacker.network.storePiece(server.network.peerId, pieceCid(bytes), bytes))
  })

  test('per-peer limits: streams and bytes in flight beyond the limit are reset', async (t) => {
    const a = await startNode()
    const b = await startNode({ maxStreamsPerPeer: 2, maxBytesInFlightPerPeer: 1024 * 1024 })
    t.after(() => stopAll([a, b]))
    await connect(a.network, b.network)
    // two streams each announce 600 KiB and send 590 KiB of it: the second exceeds 1 MiB in flight (only bytes that
    // arrived count: announcing alone holds nothing)
    const first = await rawStream(a.network, b.network)
    first.send(encodeFrameHeader(600 * 1024))
    first.send(randomBytes(590 * 1024))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const second = await rawStream(a.network, b.network)
    second.send(encodeFrameHeader(600 * 1024))
    second.send(randomBytes(590 * 1024))
    assert.equal((await outcome(second)).end, 'reset')
    // first still holds a slot; two more idle streams: one fits, the next is over the stream limit
    const third = await rawStream(a.network, b.network)
    third.send(new Uint8Array(1))
    const fourth = await rawStream(a.network, b.network)
    try {
      fourth.send(new Uint8Array(1))
    } catch {
      // the server may reset it before this write
    }
    assert.equal((await outcome(fourth)).end, 'reset')
    first.abort(new Error('done'))
    third.abort(new Error('done'))
    const bytes = randomBytes(1000)
    await waitFor(
      async () => {
        try {
          await a.network.storePiece(b.network.peerId, pieceCid(bytes), bytes)
          return true
        } catch (error) {
          return !(error instanceof ProtocolError) && false
        }
      },
      5000,
      'slots to free up',
    )
  })
})
