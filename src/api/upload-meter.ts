/** Counts, hashes and size-limits an upload body as it streams into `FileService.put`. */
import { createHash, type Hash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { TooLargeError } from '../errors.ts'

export interface UploadMeter {
  /** Bytes passed through so far. */
  readonly bytes: number
  /** Hex digests, once the source has ended. */
  digest(algorithm: 'md5' | 'sha256' | 'sha1'): string
  crc32(): number
}

export interface MeterInit {
  maxBytes: number
  /** Digests to compute; MD5 is S3's ETag. */
  algorithms?: Array<'md5' | 'sha256' | 'sha1'>
  crc32?: boolean
  onBytes?: (bytes: number) => void
}

/**
 * Wraps `source`; throws `TooLargeError` as soon as more than `maxBytes` went through.
 *
 * @example
 * ```ts
 * const { source: body, meter } = meterUpload(request.raw, { maxBytes, algorithms: ['md5'] })
 * await files.put(body, init)
 * meter.digest('md5')
 * ```
 */
export function meterUpload(
  source: AsyncIterable<Uint8Array>,
  init: MeterInit,
): { source: AsyncGenerator<Uint8Array>; meter: UploadMeter } {
  const hashes = new Map<string, Hash>((init.algorithms ?? []).map((a) => [a, createHash(a)]))
  const digests = new Map<string, string>()
  let crc = 0
  let bytes = 0
  async function* run(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      bytes += chunk.byteLength
      if (bytes > init.maxBytes) {
        throw new TooLargeError(`the upload is larger than this gateway's limit of ${init.maxBytes} bytes`, {
          details: { maxBytes: init.maxBytes },
        })
      }
      for (const hash of hashes.values()) hash.update(chunk)
      if (init.crc32 === true) crc = crc32(chunk, crc)
      init.onBytes?.(chunk.byteLength)
      yield chunk
    }
    for (const [name, hash] of hashes) digests.set(name, hash.digest('hex'))
  }
  return {
    source: run(),
    meter: {
      get bytes() {
        return bytes
      },
      digest(algorithm) {
        const value = digests.get(algorithm)
        if (value === undefined) throw new Error(`digest ${algorithm} was not computed or the body has not ended`)
        return value
      },
      crc32: () => crc >>> 0,
    },
  }
}
