/**
 * openProtocolStream: a connection that looks open but can carry no new stream is replaced by one fresh dial; a
 * refusal by the peer and the caller's deadline are not retried. One module, a stand-in for libp2p's two calls.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Stream } from '@libp2p/interface'
import { UnsupportedProtocolError } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { openProtocolStream } from '../../src/net/open-stream.ts'

const stream = { protocol: '/test/1.0.0' } as unknown as Stream

function brokenConnection(error: Error): Connection {
  return { status: 'open', limits: undefined, newStream: async () => Promise.reject(error) } as unknown as Connection
}

async function setup(connection: Connection) {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const dials: Array<{ force?: boolean }> = []
  const libp2p = {
    getConnections: () => [connection],
    dialProtocol: async (_peer: unknown, _protocol: unknown, options: { force?: boolean }) => {
      dials.push(options)
      return stream
    },
  }
  return { peerId, dials, libp2p: libp2p as never }
}

describe('openProtocolStream', () => {
  test('a stream that cannot open on a half-dead connection is opened on a fresh connection', async () => {
    const { peerId, dials, libp2p } = await setup(brokenConnection(new Error('the muxer is closed')))
    const opened = await openProtocolStream(libp2p, peerId, '/test/1.0.0', AbortSignal.timeout(5_000))
    assert.equal(opened, stream)
    assert.deepEqual(
      dials.map((d) => d.force),
      [true],
    )
  })

  test("the peer's refusal is final: no second dial", async () => {
    const { peerId, dials, libp2p } = await setup(
      brokenConnection(new UnsupportedProtocolError('protocol selection failed')),
    )
    await assert.rejects(openProtocolStream(libp2p, peerId, '/test/1.0.0', AbortSignal.timeout(5_000)), {
      name: 'UnsupportedProtocolError',
    })
    assert.equal(dials.length, 0)
  })

  test("the caller's deadline is final: no second dial", async () => {
    const controller = new AbortController()
    const error = new Error('aborted')
    const connection = {
      status: 'open',
      limits: undefined,
      newStream: async () => {
        controller.abort()
        throw error
      },
    } as unknown as Connection
    const { peerId, dials, libp2p } = await setup(connection)
    await assert.rejects(openProtocolStream(libp2p, peerId, '/test/1.0.0', controller.signal), error)
    assert.equal(dials.length, 0)
  })
})
