/**
 * What the storage layer needs from its runtime: hashing, key derivation, authenticated encryption, randomness,
 * zstd and threads. Node gets node:crypto, node:zlib and worker_threads (./node.ts); a browser gets @noble/hashes,
 * @noble/ciphers and a zstd wasm build (./browser.ts). package.json's `imports` field picks one through the
 * `#storage-platform` specifier: the `browser` condition (every bundler sets it for web builds) selects the browser
 * file, anything else the Node file. Every function is synchronous, so the data path's API is the same in both.
 */

/** An incremental sha-256. */
export interface Sha256 {
  update(bytes: Uint8Array): Sha256
  digest(): Uint8Array
}

/** A thread that codes segments (segment-worker.ts on the other side). */
export interface SegmentThread {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void
  onMessage(listener: (message: unknown) => void): void
  /** Called once when the thread fails or exits. */
  onExit(listener: (error: Error) => void): void
  /** Whether a waiting job keeps the process alive (Node); no-op elsewhere. */
  keepAlive(on: boolean): void
  terminate(): Promise<unknown>
}

export interface StoragePlatform {
  /** 'node' or 'browser': for messages and tests. */
  readonly name: string
  sha256(bytes: Uint8Array): Uint8Array
  createSha256(): Sha256
  /** HKDF-SHA256 (RFC 5869) with a UTF-8 info string. */
  hkdfSha256(key: Uint8Array, salt: Uint8Array, info: string, length: number): Uint8Array
  /** AES-256-GCM: ciphertext || 16-byte tag || `pad` zero bytes, in one buffer. */
  aesGcmSeal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, pad: number): Uint8Array
  /** Opens ciphertext || tag; throws (any error) when authentication fails. */
  aesGcmOpen(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array
  /** Constant-time equality of two equal-length byte strings. */
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean
  randomBytes(size: number): Uint8Array
  /** One zstd frame (content size in the header, no checksum), byte-identical across platforms for a level. */
  zstdCompress(bytes: Uint8Array, level: number): Uint8Array
  /** Decompresses zstd frames into at most `maxOutputLength` bytes; throws when they do not decompress. */
  zstdDecompress(bytes: Uint8Array, maxOutputLength: number): Uint8Array
  /** Starts a segment worker from `url`; throws where threads are not available to the storage layer. */
  startSegmentThread(url: URL): SegmentThread
}
