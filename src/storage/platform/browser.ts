/**
 * The storage platform in a browser (or any runtime without node:crypto): sha-256 and HKDF from @noble/hashes,
 * AES-256-GCM from @noble/ciphers (audited pure-JS, synchronous, so the data path keeps one synchronous API), random
 * bytes from WebCrypto's getRandomValues, zstd from @hpcc-js/wasm-zstd (zstd 1.5.7 compiled to wasm, the same
 * version Node 24 bundles: its one-shot frames are byte-identical to node:zlib's at the same level, which the
 * file-format vectors check). The wasm module is compiled once with a top-level await, so importing the storage
 * layer resolves when zstd is ready. Segment worker threads are Node-only for now: pass `workers: 0` (the default).
 */
import { Zstd } from '@hpcc-js/wasm-zstd'
import { gcm } from '@noble/ciphers/aes.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { InvalidArgumentError } from '../../errors.ts'
import type { StoragePlatform } from './interface.ts'
import { zstdFrameContentSize } from './zstd-frame.ts'

const TAG_SIZE = 16
/** getRandomValues fills at most this many bytes per call. */
const RANDOM_CHUNK = 65_536
const encoder = new TextEncoder()

const zstd = await Zstd.load()
fastHeapCopies(zstd)

/**
 * @hpcc-js/wasm-zstd 1.12.5 copies every result out of the wasm heap with `new Uint8Array([...view])`, a JS array of
 * one number per byte: 7 of a 32 MB page put's 35 s (a Chromium profile). The same copy as one `slice()`. If a later
 * version renames the internals, this does nothing and the library's own (slow, correct) copy stays.
 */
function fastHeapCopies(instance: object): void {
  type HeapView = { ptr: number; size: number }
  const main = (instance as { _mainModule?: Record<string, unknown> })._mainModule
  if (typeof main?.heapView !== 'function' || typeof main.heapToUint8Array !== 'function') return
  const heapView = main.heapView as (view: HeapView) => Uint8Array
  main.heapToUint8Array = (view: HeapView) => heapView.call(main, view).slice()
}

function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let at = 0; at < size; at += RANDOM_CHUNK) {
    globalThis.crypto.getRandomValues(out.subarray(at, Math.min(size, at + RANDOM_CHUNK)))
  }
  return out
}

function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let difference = 0
  for (let i = 0; i < a.byteLength; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}

function zstdDecompress(bytes: Uint8Array, maxOutputLength: number): Uint8Array {
  const declared = zstdFrameContentSize(bytes)
  if (declared !== undefined && declared > maxOutputLength) {
    throw new Error(`the zstd frame declares ${declared} bytes, more than the ${maxOutputLength} allowed`)
  }
  const out = zstd.decompress(bytes)
  if (out.byteLength > maxOutputLength) {
    throw new Error(`the zstd frames hold ${out.byteLength} bytes, more than the ${maxOutputLength} allowed`)
  }
  return out
}

/** @noble/hashes, @noble/ciphers, WebCrypto random and zstd wasm. */
export const platform: StoragePlatform = {
  name: 'browser',
  sha256: (bytes) => sha256(bytes),
  createSha256() {
    const state = sha256.create()
    const api = {
      update(bytes: Uint8Array) {
        state.update(bytes)
        return api
      },
      digest: () => state.digest(),
    }
    return api
  },
  hkdfSha256: (key, salt, info, length) => hkdf(sha256, key, salt, encoder.encode(info), length),
  aesGcmSeal(key, iv, aad, plaintext, pad) {
    const sealed = gcm(key, iv, aad).encrypt(plaintext)
    if (pad === 0) return sealed
    const out = new Uint8Array(sealed.byteLength + pad)
    out.set(sealed, 0)
    return out
  },
  aesGcmOpen(key, iv, aad, sealed) {
    if (sealed.byteLength < TAG_SIZE) throw new Error('shorter than its authentication tag')
    return gcm(key, iv, aad).decrypt(sealed)
  },
  timingSafeEqual,
  randomBytes,
  zstdCompress(bytes, level) {
    // The one-shot ZSTD_compress at `level`: checksum off and the content size in the header, as node:zlib writes.
    return zstd.compress(bytes, level)
  },
  zstdDecompress,
  startSegmentThread() {
    throw new InvalidArgumentError(
      'segment worker threads need Node (node:worker_threads); in a browser pass workers: 0 and run the data path ' +
        'inside your own Web Worker',
    )
  },
}
