/**
 * @libp2p/yamux 8.0.3 answers every data frame with a window update; the muxers Cairn builds send one per half window
 * (src/net/yamux-window-policy.ts). Two muxers over an in-memory connection pair: the bytes arrive intact and the
 * receiver sends a few window updates per 16 MiB, not one per 64 KiB frame.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import type { Stream, StreamMuxer } from '@libp2p/interface'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { guardedYamux } from '../../src/net/guarded-yamux.ts'

const WINDOW_UPDATE = 1
const SIZE = 16 * 2 ** 20

/** Counts the window update frames `muxer` sends. */
function countWindowUpdates(muxer: StreamMuxer): () => number {
  const target = muxer as unknown as { sendFrame(header: { type: number }, data?: unknown): void }
  const sendFrame = target.sendFrame.bind(target)
  let count = 0
  target.sendFrame = (header, data) => {
    if (header.type === WINDOW_UPDATE) count++
    sendFrame(header, data)
  }
  return () => count
}

async function sendAll(stream: Stream, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.byteLength; offset += 64 * 1024) {
    if (!stream.send(data.subarray(offset, offset + 64 * 1024))) {
      await new Promise((resolve) => stream.addEventListener('drain', resolve, { once: true }))
    }
  }
  await stream.close()
}

test('a 16 MiB stream arrives intact with a window update per half window, not per frame', async () => {
  const [outbound, inbound] = multiaddrConnectionPair()
  const factory = guardedYamux()()
  const sender = factory.createStreamMuxer(outbound)
  const receiver = factory.createStreamMuxer(inbound)
  const updates = countWindowUpdates(receiver)
  const received = new Promise<string>((resolve, reject) => {
    receiver.addEventListener('stream', async (event) => {
      try {
        const hash = createHash('sha256')
        let bytes = 0
        for await (const chunk of event.detail) {
          const part = chunk instanceof Uint8Array ? chunk : chunk.subarray()
          hash.update(part)
          bytes += part.byteLength
        }
        assert.equal(bytes, SIZE)
        resolve(hash.digest('hex'))
      } catch (error) {
        reject(error)
      }
    })
  })
  const data = randomBytes(SIZE)
  await sendAll(await sender.createStream(), data)
  assert.equal(await received, createHash('sha256').update(data).digest('hex'))
  // 256 frames of 64 KiB: the library alone sent 256 updates; at half a window (256 KiB growing to 16 MiB) a handful.
  assert.ok(updates() <= 32, `the receiver sent ${updates()} window updates for 256 data frames`)
  sender.abort(new Error('test over'))
  receiver.abort(new Error('test over'))
})
