/**
 * Segment compression: zstd from node:zlib. A segment is kept compressed only when that saves at least 5%
 * (`COMPRESSION_KEEP_RATIO`); otherwise it is stored raw and its flag says so.
 */
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib'
import { CorruptDataError } from '../errors.ts'
import { COMPRESSION_KEEP_RATIO } from './constants.ts'

/** Segment flag: the plaintext was zstd-compressed before encryption. */
export const SEGMENT_COMPRESSED = 1

export interface CompressedSegment {
  flags: number
  bytes: Uint8Array
}

/**
 * Compresses one segment at zstd `level`, or returns it raw when compression saves less than 5%.
 *
 * @example
 * ```ts
 * const { flags, bytes } = compressSegment(plaintext, 3)
 * ```
 */
export function compressSegment(plaintext: Uint8Array, level: number): CompressedSegment {
  if (plaintext.byteLength === 0) return { flags: 0, bytes: plaintext }
  const out = zstdCompressSync(plaintext, {
    // One output chunk as large as the input (plus slack): no concatenation of many small chunks.
    chunkSize: Math.max(64 * 1024, plaintext.byteLength + (plaintext.byteLength >> 7) + 1024),
    params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 0 },
  })
  if (out.byteLength <= plaintext.byteLength * COMPRESSION_KEEP_RATIO) {
    return { flags: SEGMENT_COMPRESSED, bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) }
  }
  return { flags: 0, bytes: plaintext }
}

/** Reverses `compressSegment`; the output must be exactly `expectedLength` bytes (no decompression bombs). */
export function decompressSegment(bytes: Uint8Array, flags: number, expectedLength: number, segment: number) {
  if ((flags & SEGMENT_COMPRESSED) === 0) {
    if (bytes.byteLength !== expectedLength) {
      throw new CorruptDataError(
        `segment ${segment} holds ${bytes.byteLength} bytes, the manifest says ${expectedLength}`,
      )
    }
    return bytes
  }
  let out: Buffer
  try {
    out = zstdDecompressSync(bytes, { maxOutputLength: Math.max(1, expectedLength), chunkSize: 4 * 1024 * 1024 })
  } catch (cause) {
    throw new CorruptDataError(`segment ${segment} does not decompress`, { cause, details: { segment } })
  }
  if (out.byteLength !== expectedLength) {
    throw new CorruptDataError(`segment ${segment} decompressed to ${out.byteLength} bytes, expected ${expectedLength}`)
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}
