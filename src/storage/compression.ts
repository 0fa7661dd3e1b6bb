/**
 * Segment compression: zstd (node:zlib in Node, a zstd 1.5.7 wasm build in a browser: same frames). A segment is kept compressed only when that saves at least 5%
 * (`COMPRESSION_KEEP_RATIO`); otherwise it is stored raw and its flag says so.
 */
import { platform } from '#storage-platform'
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
  const out = platform.zstdCompress(plaintext, level)
  if (out.byteLength <= plaintext.byteLength * COMPRESSION_KEEP_RATIO) return { flags: SEGMENT_COMPRESSED, bytes: out }
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
  let out: Uint8Array
  try {
    out = platform.zstdDecompress(bytes, expectedLength)
  } catch (cause) {
    throw new CorruptDataError(`segment ${segment} does not decompress`, { cause, details: { segment } })
  }
  if (out.byteLength !== expectedLength) {
    throw new CorruptDataError(`segment ${segment} decompressed to ${out.byteLength} bytes, expected ${expectedLength}`)
  }
  return out
}
