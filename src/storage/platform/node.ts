/**
 * The storage platform in Node: node:crypto (SHA-NI sha-256, AES-NI GCM), node:zlib zstd and worker_threads. Keep
 * the data path's hot calls here one direct call away from node:crypto (see `npm run bench -- pipeline`).
 */
import { createCipheriv, createDecipheriv, createHash, hash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib'
import { releaseBuffer } from '../buffer-release.ts'
import type { SegmentThread, StoragePlatform } from './interface.ts'

const TAG_SIZE = 16

function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

function aesGcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, pad: number) {
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(aad)
  // One output buffer: ciphertext || tag || zero padding.
  const out = new Uint8Array(plaintext.byteLength + TAG_SIZE + pad)
  const body = cipher.update(plaintext)
  out.set(body, 0)
  const bodyLength = body.byteLength
  releaseBuffer(body)
  const rest = cipher.final()
  out.set(rest, bodyLength)
  out.set(cipher.getAuthTag(), bodyLength + rest.byteLength)
  return out
}

function aesGcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  const decipher = createDecipheriv('aes-256-gcm', key, iv)
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - TAG_SIZE))
  const body = decipher.update(sealed.subarray(0, sealed.byteLength - TAG_SIZE))
  decipher.final()
  return asBytes(body)
}

function startSegmentThread(url: URL): SegmentThread {
  const worker = new Worker(url)
  worker.unref()
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer),
    onMessage: (listener) => worker.on('message', listener),
    onExit(listener) {
      worker.on('error', listener)
      worker.on('exit', (code) => listener(new Error(`worker exited with code ${code}`)))
    },
    keepAlive: (on) => (on ? worker.ref() : worker.unref()),
    terminate: () => worker.terminate(),
  }
}

/** node:crypto, node:zlib and worker_threads. */
export const platform: StoragePlatform = {
  name: 'node',
  sha256: (bytes) => hash('sha256', bytes, 'buffer'),
  createSha256: () => createHash('sha256'),
  hkdfSha256: (key, salt, info, length) => new Uint8Array(hkdfSync('sha256', key, salt, info, length)),
  aesGcmSeal,
  aesGcmOpen,
  timingSafeEqual: (a, b) => timingSafeEqual(a, b),
  randomBytes: (size) => asBytes(randomBytes(size)),
  zstdCompress(bytes, level) {
    const out = zstdCompressSync(bytes, {
      // One output chunk as large as the input (plus slack): no concatenation of many small chunks.
      chunkSize: Math.max(64 * 1024, bytes.byteLength + (bytes.byteLength >> 7) + 1024),
      params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 0 },
    })
    return asBytes(out)
  },
  zstdDecompress: (bytes, maxOutputLength) =>
    asBytes(zstdDecompressSync(bytes, { maxOutputLength: Math.max(1, maxOutputLength), chunkSize: 4 * 1024 * 1024 })),
  startSegmentThread,
}
