/**
 * Worker thread body for segment-worker-pool.ts: codes segments with its own SegmentCodec.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { SegmentCodec } from './segment-codec.ts'

const data = workerData as {
  k: number
  n: number
  compressionLevel: number
  salt: Uint8Array
  subkey: Uint8Array
  keyCheck: Uint8Array
}
const codec = new SegmentCodec({
  k: data.k,
  n: data.n,
  compressionLevel: data.compressionLevel,
  keys: { salt: data.salt, subkey: data.subkey, keyCheck: data.keyCheck },
})

parentPort?.on('message', (message: { id: number; index: number; final: boolean; plaintext: Uint8Array }) => {
  try {
    const result = codec.encode(message.index, message.plaintext, message.final)
    const transfer = new Set<ArrayBuffer>()
    for (const list of [result.pieces, result.digests, result.leafHashes]) {
      for (const b of list) {
        if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) transfer.add(b.buffer as ArrayBuffer)
      }
    }
    parentPort?.postMessage({ id: message.id, result }, [...transfer])
  } catch (error) {
    const e = error as { message?: string; code?: string }
    parentPort?.postMessage({ id: message.id, error: { message: e.message ?? String(error), code: e.code } })
  }
})
