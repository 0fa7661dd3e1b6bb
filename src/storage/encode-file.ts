/**
 * The encode side of the pipeline: source -> segmenter -> (compress -> encrypt -> erasure code -> hash), in order,
 * on the calling thread or in worker threads -> pieces out, slot roots and manifest at the end.
 */

import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import { platform } from '#storage-platform'
import { AbortedError, InvalidArgumentError, throwIfAborted } from '../errors.ts'
import { formatCapability } from './capability.ts'
import {
  DEFAULT_COMPRESSION_LEVEL,
  DEFAULT_ENCODE_AHEAD,
  DEFAULT_SEGMENT_SIZE,
  FILE_KEY_SIZE,
  FILE_SALT_SIZE,
  MANIFEST_VERSION,
  MAX_COMPRESSION_LEVEL,
  MAX_SEGMENT_SIZE,
  MIN_COMPRESSION_LEVEL,
  MIN_SEGMENT_SIZE,
} from './constants.ts'
import type {
  AbortOptions,
  EncodedFile,
  EncodedPiece,
  EncodeInit,
  EncodeResult,
  Manifest,
  ManifestSegment,
} from './interface.ts'
import { encodeManifest } from './manifest.ts'
import { MerkleRootBuilder } from './merkle.ts'
import { encryptMetadata } from './metadata.ts'
import { SHA2_256_CODE } from './piece-cid.ts'
import { redundancyPolicy } from './redundancy.ts'
import { deriveFileKeys } from './segment-cipher.ts'
import { type CodedSegment, SegmentCodec, type SegmentCodecInit } from './segment-codec.ts'
import { createSegmentWorkerPool } from './segment-worker-pool.ts'
import { type ByteSource, segmenter } from './segmenter.ts'

/** Codes segments, on this thread or elsewhere; results may complete out of order but each promise is its segment. */
export interface SegmentEncoder {
  encode(index: number, plaintext: Uint8Array, final: boolean): Promise<CodedSegment>
  close(): Promise<void>
}

function inlineEncoder(init: SegmentCodecInit): SegmentEncoder {
  const codec = new SegmentCodec(init)
  return {
    encode: async (index, plaintext, final) => codec.encode(index, plaintext, final),
    close: async () => {},
  }
}

function integerOption(value: number | undefined, fallback: number, name: string, min: number, max: number): number {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${v}`)
  }
  return v
}

/** sha256 digests, n per segment (every piece's, or 1: the ciphertext's), in one buffer that doubles as it fills. */
class CompactDigests {
  readonly #n: number
  #buffer = new Uint8Array(32 * 64)
  #count = 0

  constructor(n: number) {
    this.#n = n
  }

  push(digests: readonly Uint8Array[]): void {
    const need = (this.#count + digests.length) * 32
    if (need > this.#buffer.byteLength) {
      const grown = new Uint8Array(Math.max(need, this.#buffer.byteLength * 2))
      grown.set(this.#buffer)
      this.#buffer = grown
    }
    for (const digest of digests) this.#buffer.set(digest, 32 * this.#count++)
  }

  segment(index: number): Uint8Array[] {
    const start = index * this.#n * 32
    return Array.from({ length: this.#n }, (_, slot) => this.#buffer.slice(start + slot * 32, start + slot * 32 + 32))
  }
}

function pieceCidFromDigest(digest: Uint8Array): CID {
  return CID.createV1(raw.code, createDigest(SHA2_256_CODE, new Uint8Array(digest.buffer, digest.byteOffset, 32)))
}

/** For tests and reproducible builds only: with a fixed `key` too, the same input always encodes to the same CIDs. */
export interface ReproducibleEncodeInit {
  /**
   * The manifest's 16-byte salt; a fresh random one by default. Never reuse a salt with the same key for different
   * content: the segment nonces would repeat under one subkey. Known-answer vectors (test/vectors/file-format.json)
   * are its one intended use.
   */
  salt?: Uint8Array
}

/**
 * Encodes a byte stream into pieces and a manifest. Pieces come out as they are made (segment by segment, slots
 * 0..n-1), and the encoder never runs more than `ahead` segments ahead of the consumer, so memory stays flat.
 * Arguments are checked at once (throws `InvalidArgumentError`); stream errors reject `done` and end `pieces`.
 *
 * @example
 * ```ts
 * const { pieces, done } = encodeFile(createReadStream('photo.jpg'), { k: 4, n: 6, metadata: { name: 'photo.jpg' } })
 * for await (const { slot, cid, bytes } of pieces) await stores[slot].put(cid, bytes)
 * const { manifestCid, manifestBytes, capability } = await done
 * ```
 */
export function encodeFile(
  source: ByteSource,
  init: EncodeInit & ReproducibleEncodeInit = {},
  options: AbortOptions = {},
): EncodeResult {
  const { k, n } = redundancyPolicy(init.k, init.n)
  const segmentSize = integerOption(
    init.segmentSize,
    DEFAULT_SEGMENT_SIZE,
    'segmentSize',
    MIN_SEGMENT_SIZE,
    MAX_SEGMENT_SIZE,
  )
  const compressionLevel = integerOption(
    init.compressionLevel,
    DEFAULT_COMPRESSION_LEVEL,
    'compressionLevel',
    MIN_COMPRESSION_LEVEL,
    MAX_COMPRESSION_LEVEL,
  )
  const workers = integerOption(init.workers, 0, 'workers', 0, 256)
  const ahead = integerOption(init.ahead, Math.max(DEFAULT_ENCODE_AHEAD, workers + 1), 'ahead', 1, 1024)
  const key = init.key ?? platform.randomBytes(FILE_KEY_SIZE)
  if (!(key instanceof Uint8Array) || key.byteLength !== FILE_KEY_SIZE) {
    throw new InvalidArgumentError(`key must be ${FILE_KEY_SIZE} bytes`)
  }
  const salt = init.salt ?? platform.randomBytes(FILE_SALT_SIZE)
  if (!(salt instanceof Uint8Array) || salt.byteLength !== FILE_SALT_SIZE) {
    throw new InvalidArgumentError(`salt must be ${FILE_SALT_SIZE} bytes`)
  }
  const keys = deriveFileKeys(key, salt)
  const metadata = encryptMetadata(keys, init.metadata)
  const codecInit: SegmentCodecInit = { k, n, compressionLevel, keys }
  // Fail fast on a bad k/n before any stream is touched.
  new SegmentCodec(codecInit)

  let resolveDone!: (file: EncodedFile) => void
  let rejectDone!: (error: unknown) => void
  const done = new Promise<EncodedFile>((resolve, reject) => {
    resolveDone = resolve
    rejectDone = reject
  })
  done.catch(() => {}) // the caller may only iterate `pieces`; the error reaches it there too
  let started = false

  async function* run(): AsyncGenerator<EncodedPiece> {
    if (started) throw new InvalidArgumentError('the pieces of an encoding can be iterated only once')
    started = true
    let finished = false
    const encoder = workers > 0 ? createSegmentWorkerPool({ ...codecInit, workers }) : inlineEncoder(codecInit)
    const segments = segmenter(source, segmentSize, options)[Symbol.asyncIterator]()
    const inflight: Array<Promise<CodedSegment>> = []
    const roots = Array.from({ length: n }, () => new MerkleRootBuilder())
    // The manifest's per-piece state is kept compact while streaming (32 bytes per piece, one growing buffer, no
    // per-piece objects) and turned into CIDs only at the end, so memory grows as little as possible with size.
    const digests = new CompactDigests(n)
    const ciphertextHashes = new CompactDigests(1)
    const segmentSizes: number[] = []
    const segmentFlags: number[] = []
    const slotSizes = new Array<number>(n).fill(0)
    let size = 0
    let sourceDone = false
    try {
      while (true) {
        while (!sourceDone && inflight.length < ahead) {
          const next = await segments.next()
          if (next.done === true) {
            sourceDone = true
            break
          }
          const { index, bytes, final } = next.value
          size += bytes.byteLength
          const job = encoder.encode(index, bytes, final)
          job.catch(() => {})
          inflight.push(job)
        }
        const job = inflight.shift()
        if (job === undefined) break
        const coded = await job
        throwIfAborted(options.signal)
        const cids = coded.digests.map((digest, slot) =>
          slot > 0 && digest === coded.digests[0] ? undefined : pieceCidFromDigest(digest),
        )
        const pieces = cids.map((cid) => cid ?? cids[0]!)
        for (let slot = 0; slot < n; slot++) {
          // k = 1 shares one leaf-hash buffer across slots: its root is the same, so build it once.
          if (slot === 0 || coded.leafHashes[slot] !== coded.leafHashes[0])
            roots[slot]!.appendLeafHashes(coded.leafHashes[slot]!)
          slotSizes[slot]! += coded.pieces[slot]!.byteLength
        }
        digests.push(coded.digests)
        ciphertextHashes.push([coded.ciphertextHash])
        segmentSizes.push(coded.ciphertextSize)
        segmentFlags.push(coded.flags)
        init.onProgress?.({
          type: 'segment-encoded',
          segment: coded.index,
          plaintextBytes: coded.plaintextSize,
          pieceBytes: coded.pieces.reduce((sum, p) => sum + p.byteLength, 0),
          compressed: coded.flags !== 0,
        })
        for (let slot = 0; slot < n; slot++) {
          yield { segment: coded.index, slot, cid: pieces[slot]!, bytes: coded.pieces[slot]! }
        }
      }
      const rootOf = (slot: number) =>
        slot > 0 && roots[slot]!.size === 0 ? roots[0]!.digest() : roots[slot]!.digest()
      const manifest: Manifest = {
        version: MANIFEST_VERSION,
        size,
        segmentSize,
        k,
        n,
        salt,
        keyCheck: keys.keyCheck,
        metadata,
        segments: segmentSizes.map(
          (segmentSize, index): ManifestSegment => ({
            size: segmentSize,
            flags: segmentFlags[index]!,
            ciphertextHash: ciphertextHashes.segment(index)[0]!,
            pieces: digests.segment(index).map(pieceCidFromDigest),
          }),
        ),
        slots: slotSizes.map((slotSize, slot) => ({ root: new Uint8Array(rootOf(slot)), size: slotSize })),
      }
      const { bytes: manifestBytes, cid: manifestCid } = encodeManifest(manifest)
      finished = true
      init.onProgress?.({ type: 'done', size, segments: segmentSizes.length, manifestCid })
      resolveDone({
        manifest,
        manifestCid,
        manifestBytes,
        key,
        capability: formatCapability({ manifestCid, key }),
        size,
      })
    } catch (error) {
      finished = true
      rejectDone(error)
      throw error
    } finally {
      if (!finished) rejectDone(new AbortedError('the encoding stopped before all pieces were consumed'))
      await Promise.allSettled(inflight)
      await segments.return?.()
      await encoder.close()
    }
  }

  return { pieces: run(), done }
}
