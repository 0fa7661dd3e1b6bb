/**
 * Worker thread body for segment-worker-pool.ts: codes segments, reusing one erasure coder per (k, n).
 */
import { parentPort } from 'node:worker_threads'
import { createErasureCoder } from './erasure/index.ts'
import type { ErasureCoder } from './interface.ts'
import { SegmentCodec } from './segment-codec.ts'

interface Job {
  id: number
  code: { k: number; n: number; compressionLevel: number; salt: Uint8Array; subkey: Uint8Array; keyCheck: Uint8Array }
  index: number
  final: boolean
  plaintext: Uint8Array
}

const coders = new Map<string, ErasureCoder>()
function coderFor(k: number, n: number): ErasureCoder {
  const key = `${k}/${n}`
  let coder = coders.get(key)
  if (coder === undefined) {
    coder = createErasureCoder({ k, n })
    coders.set(key, coder)
  }
  return coder
}

parentPort?.on('message', ({ id, code, index, final, plaintext }: Job) => {
  try {
    const codec = new SegmentCodec(
      {
        k: code.k,
        n: code.n,
        compressionLevel: code.compressionLevel,
        keys: { salt: code.salt, subkey: code.subkey, keyCheck: code.keyCheck },
      },
      coderFor(code.k, code.n),
    )
    const result = codec.encode(index, plaintext, final)
    const transfer = new Set<ArrayBuffer>()
    for (const list of [result.pieces, result.digests, result.leafHashes]) {
      for (const b of list) {
        if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) transfer.add(b.buffer as ArrayBuffer)
      }
    }
    parentPort?.postMessage({ id, result }, [...transfer])
  } catch (error) {
    const e = error as { message?: string; code?: string }
    parentPort?.postMessage({ id, error: { message: e.message ?? String(error), code: e.code } })
  }
})
