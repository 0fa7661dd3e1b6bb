/**
 * Finding 6 of issue 12 (in-flight budget): attacks on the piece protocol's bytes-in-flight limits over real libp2p
 * hosts on 127.0.0.1 TCP. A slow sender must hold only the bytes it sent and pay for running out the deadline; an
 * honest sender refused because the node is busy must lose nothing; fetch answers count against the same budget.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { encodeFrameHeader } from '../../src/net/frame-codec.ts'
import {
  encodeFrame,
  encodePieceMessage,
  FrameReader,
  MAX_PIECE_FRAME_SIZE,
  type Network,
  PIECE_PROTOCOL,
} from '../../src/net/index.ts'
import { createMemoryPieceStore, type PieceStore, pieceCid } from '../../src/storage/index.ts'
import { connect, startNode, stopAll, waitFor } from './fixtures/hosts.ts'

const MiB = 1024 * 1024

async function rawStream(from: Network, to: Network): Promise<Stream> {
  return await from.libp2p.dialProtocol(peerIdFromString(to.peerId), PIECE_PROTOCOL)
}

/** Opens a store stream that announces `announced` body bytes and sends one byte per `everyMs` until closed. */
async function trickle(from: Network, to: Network, announced: number, everyMs: number) {
  const stream = await rawStream(from, to)
  stream.send(encodeFrameHeader(announced))
  stream.send(new Uint8Array([1]))
  const timer = setInterval(() => {
    try {
      stream.send(new Uint8Array([1]))
    } catch {
      clearInterval(timer)
    }
  }, everyMs)
  let ended = false
  const done = (async () => {
    try {
      for await (const _ of stream) {
        // the server answers nothing until the frame is complete
      }
    } catch {}
    ended = true
    clearInterval(timer)
  })()
  return {
    stream,
    ended: () => ended,
    stop: async () => {
      clearInterval(timer)
      stream.abort(new Error('test done'))
      await done
    },
  }
}

describe('bytes in flight under slow senders and load', () => {
  test('the frame reader reserves the bytes that arrived, never the announced length', async () => {
    let release = () => {}
    const stalled = new Promise<void>((resolve) => (release = resolve))
    async function* source() {
      yield encodeFrameHeader(MAX_PIECE_FRAME_SIZE)
      yield new Uint8Array(1)
      await stalled // the sender goes quiet after one byte
    }
    const reserved: number[] = []
    const reading = new FrameReader(source()).read({
      maxLength: MAX_PIECE_FRAME_SIZE,
      reserve: (bytes) => void reserved.push(bytes),
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(reserved, [1], 'one byte arrived, one byte reserved')
    release()
    await assert.rejects(reading, /stream ended after 1 of 16777346 frame bytes/)
  })

  test('a peer announcing a large frame and sending 1 byte/s holds almost nothing: honest stores still pass', async (t) => {
    const server = await startNode({ maxBytesInFlightPerPeer: 4 * MiB, maxBytesInFlightTotal: 4 * MiB })
    const attacker = await startNode()
    const honest = await startNode()
    const slow: Array<Awaited<ReturnType<typeof trickle>>> = []
    t.after(async () => {
      for (const s of slow) await s.stop()
      await stopAll([server, attacker, honest])
    })
    await connect(attacker.network, server.network)
    await connect(honest.network, server.network)
    // the attacker announces the whole node budget and trickles
    slow.push(await trickle(attacker.network, server.network, 4 * MiB, 1000))
    await new Promise((resolve) => setTimeout(resolve, 300))
    const bytes = randomBytes(MiB)
    const cid = pieceCid(bytes)
    await honest.network.storePiece(server.network.peerId, cid, bytes)
    assert.ok(await server.store.has(cid), 'the honest piece was stored while the slow sender was connected')
    assert.equal(slow[0]!.ended(), false, 'the slow stream is still open (its deadline has not passed)')
  })

  test('a sender that runs out the deadline loses score; honest traffic of the same node does not', async (t) => {
    const server = await startNode({ transferTimeoutMs: 1500 })
    const attacker = await startNode()
    const honest = await startNode()
    const slow: Array<Awaited<ReturnType<typeof trickle>>> = []
    t.after(async () => {
      for (const s of slow) await s.stop()
      await stopAll([server, attacker, honest])
    })
    await connect(attacker.network, server.network)
    await connect(honest.network, server.network)
    slow.push(await trickle(attacker.network, server.network, 8 * MiB, 200))
    const bytes = randomBytes(200_000)
    await honest.network.storePiece(server.network.peerId, pieceCid(bytes), bytes)
    await waitFor(() => slow[0]!.ended(), 5000, 'the deadline to reset the slow stream')
    assert.ok(
      server.network.score(attacker.network.peerId) < 0,
      `the slow sender's score is ${server.network.score(attacker.network.peerId)}`,
    )
    assert.equal(server.network.score(honest.network.peerId), 0)
  })

  test('an honest sender refused because the node is busy loses no score and is never banned', async (t) => {
    const server = await startNode({ maxBytesInFlightPerPeer: 256 * 1024, maxBytesInFlightTotal: 256 * 1024 })
    const honest = await startNode()
    t.after(() => stopAll([server, honest]))
    await connect(honest.network, server.network)
    const large = randomBytes(MiB)
    for (let i = 0; i < 25; i++) {
      await assert.rejects(honest.network.storePiece(server.network.peerId, pieceCid(large), large))
    }
    assert.equal(server.network.score(honest.network.peerId), 0, 'refusals for load cost the sender nothing')
    const small = randomBytes(10_000)
    await honest.network.storePiece(server.network.peerId, pieceCid(small), small)
    assert.ok(await server.store.has(pieceCid(small)), 'the refused sender is still served')
  })

  test('fetch answers count against the bytes-in-flight limit: unread answers cannot pin unbounded memory', async (t) => {
    const server = await startNode({ maxBytesInFlightPerPeer: MiB, maxBytesInFlightTotal: 64 * MiB })
    const reader = await startNode()
    t.after(() => stopAll([server, reader]))
    await connect(reader.network, server.network)
    const bytes = randomBytes(700 * 1024)
    const cid = pieceCid(bytes)
    await server.store.put(cid, bytes)
    // the reader asks for the piece and never reads the answer: the server holds the piece while it waits to send
    const unread = await rawStream(reader.network, server.network)
    unread.pause() // stop reading: yamux stops granting the server send window
    unread.send(encodeFrame(encodePieceMessage({ type: 'fetch-request', cid })))
    await unread.close()
    await new Promise((resolve) => setTimeout(resolve, 300))
    // a second answer would put 1.4 MiB in flight for this peer, over its 1 MiB limit
    await assert.rejects(reader.network.fetchPiece(server.network.peerId, cid), /busy/)
    assert.equal(server.network.score(reader.network.peerId), 0, 'a refusal for load costs nothing')
    unread.abort(new Error('test done'))
    await waitFor(
      async () => {
        try {
          return Buffer.from(await reader.network.fetchPiece(server.network.peerId, cid)).equals(bytes)
        } catch {
          return false
        }
      },
      5000,
      'the budget to be released when the unread stream goes',
    )
  })

  test("a deadline that passes while the node's own disk is slow is not blamed on the sender", async (t) => {
    const inner = createMemoryPieceStore()
    const slowDisk: PieceStore = {
      ...inner,
      put: async (cid, bytes, options) => {
        await new Promise((resolve) => setTimeout(resolve, 1500))
        await inner.put(cid, bytes, options)
      },
      get: (cid, o) => inner.get(cid, o),
      has: (cid, o) => inner.has(cid, o),
      delete: (cid, o) => inner.delete(cid, o),
      list: (o) => inner.list(o),
      usage: () => inner.usage(),
    }
    const server = await startNode({ transferTimeoutMs: 600 }, slowDisk)
    const honest = await startNode()
    t.after(() => stopAll([server, honest]))
    await connect(honest.network, server.network)
    const bytes = randomBytes(10_000)
    await assert.rejects(honest.network.storePiece(server.network.peerId, pieceCid(bytes), bytes))
    await new Promise((resolve) => setTimeout(resolve, 1200))
    assert.equal(server.network.score(honest.network.peerId), 0)
  })
})
