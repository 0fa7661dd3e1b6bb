/**
 * Worker thread body for segment-worker-pool.ts: codes segments, reusing one erasure coder per (k, n).
 */
import { parentPort } from 'node:worker_threads'
import { releaseBuffer } from './buffer-release.ts'
import { createErasureCoder } from './erasure/index.ts'
import type { ErasureCoder } from './interface.ts'
import { SegmentCodec } from './segment-codec.ts'

interface Job {
  id: number
  type: 'encode' | 'decode'
  code: { k: number; n: number; compressionLevel: number; salt: Uint8Array; subkey: Uint8Array; keyCheck: Uint8Array }
  index: number
  final: boolean
  plaintext: Uint8Array
  segment: { size: number; flags: number; ciphertextHash: Uint8Array }
  plaintextSize: number
  pieces: Array<Uint8Array | undefined>
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

function transferList(buffers: Uint8Array[]): ArrayBuffer[] {
  const transfer = new Set<ArrayBuffer>()
  for (const b of buffers) {
    if (b.buffer instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) {
      transfer.add(b.buffer)
    }
  }
  return [...transfer]
}

parentPort?.on('message', (job: Job) => {
  try {
    const { code } = job
    const codec = new SegmentCodec(
      {
        k: code.k,
        n: code.n,
        compressionLevel: code.compressionLevel,
        keys: { salt: code.salt, subkey: code.subkey, keyCheck: code.keyCheck },
      },
      coderFor(code.k, code.n),
    )
    if (job.type === 'encode') {
      const result = codec.encode(job.index, job.plaintext, job.final)
      parentPort?.postMessage(
        { id: job.id, result },
        transferList([...result.pieces, ...result.digests, ...result.leafHashes, result.ciphertextHash]),
      )
    } else {
      const result = codec.decode(job.index, job.segment, job.final, job.plaintextSize, job.pieces)
      for (const piece of job.pieces) if (piece !== undefined && piece !== result) releaseBuffer(piece)
      parentPort?.postMessage({ id: job.id, result }, transferList([result]))
    }
  } catch (error) {
    const e = error as { message?: string; code?: string; details?: Record<string, unknown> }
    const reply = { id: job.id, error: { message: e.message ?? String(error), code: e.code, details: e.details } }
    try {
      parentPort?.postMessage(reply)
    } catch {
      parentPort?.postMessage({ id: job.id, error: { ...reply.error, details: undefined } })
    }
  }
})
