/** writeAll (unit): a stream closed while the writer waits for it to drain gives an Error that says so. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Stream } from '@libp2p/interface'
import { writeAll } from '../../src/net/stream-io.ts'

test('a stream closed during the drain wait rejects with an Error naming the close, not "[object Event]"', async () => {
  const stream = { send: () => false, onDrain: () => Promise.reject(new Event('close')) } as unknown as Stream
  await assert.rejects(writeAll(stream, new Uint8Array(8)), (error: unknown) => {
    assert.ok(error instanceof Error)
    assert.equal(error.message, 'the stream closed (close) before all data was sent')
    return true
  })
})
