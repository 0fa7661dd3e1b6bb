/**
 * @libp2p/yamux 8.0.3 sends a new stream's opening window update from a microtask; when the connection's write side
 * closed in between (the remote reset it), the muxer's send throws outside any handler and ends the process (seen
 * killing a `cairn put`). The guarded muxer drops frames sent after the connection closed for writing.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { StreamStateError, TypedEventEmitter } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { yamux } from '@libp2p/yamux'
import { guardedYamux } from '../../src/net/guarded-yamux.ts'

/** A connection whose write side is already closed, as after the remote's reset, before the muxer heard of it. */
function closedForWriting() {
  const maConn = new TypedEventEmitter() as TypedEventEmitter<Record<string, Event>> & Record<string, unknown>
  maConn.log = logger('test:closed-maconn')
  maConn.writeStatus = 'closed'
  maConn.send = () => {
    throw new StreamStateError('Cannot write to a stream that is closed')
  }
  return maConn
}

/** Opens a stream on a muxer made by `factory` over a closed connection; resolves with any uncaught error. */
async function openOnClosed(factory: ReturnType<typeof yamux>): Promise<Error | undefined> {
  let uncaught: Error | undefined
  const listeners = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  process.once('uncaughtException', (error) => {
    uncaught = error
  })
  try {
    const muxer = factory().createStreamMuxer(closedForWriting() as never)
    await muxer.createStream().catch(() => {})
    await new Promise((resolve) => setTimeout(resolve, 20))
    try {
      muxer.abort(new Error('test over'))
    } catch {}
  } finally {
    process.removeAllListeners('uncaughtException')
    for (const listener of listeners) process.on('uncaughtException', listener)
  }
  return uncaught
}

describe('yamux over a connection the remote just closed', () => {
  test('the plain muxer throws outside any handler (the crash this guards against)', async () => {
    const error = await openOnClosed(yamux({ enableKeepAlive: false }))
    assert.match(String(error), /Cannot write to a stream that is closed/)
  })

  test('the guarded muxer drops the frame: nothing is thrown', async () => {
    assert.equal(await openOnClosed(guardedYamux({ enableKeepAlive: false })), undefined)
  })
})
