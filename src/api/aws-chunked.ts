/**
 * Decoder of S3's `aws-chunked` body encoding (streaming uploads): `hex-size[;chunk-signature=sig]\r\n data \r\n`
 * repeated, a zero-size chunk, then optional trailer lines (`x-amz-checksum-crc32:...`) and an empty line.
 * Signed bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): each chunk is held until its signature is checked, and only
 * then passed on, so no unverified byte reaches storage; a signed chunk may be at most `MAX_SIGNED_CHUNK_BYTES`
 * (SDKs send 64 KiB). Unsigned bodies stream through as they arrive.
 */
import { createHash } from 'node:crypto'
import { chunkSignature, signaturesEqual, trailerSignature } from './sigv4.ts'

export interface ChunkSigning {
  signingKey: Buffer
  amzDate: string
  scope: string
  /** Signature of the request headers: the seed of the chain. */
  seedSignature: string
}

/** An aws-chunked body broke the format or a chunk signature did not verify. */
export class AwsChunkedError extends Error {
  readonly s3Code: 'IncompleteBody' | 'SignatureDoesNotMatch' | 'InvalidRequest'
  constructor(s3Code: AwsChunkedError['s3Code'], message: string) {
    super(message)
    this.s3Code = s3Code
  }
}

const MAX_LINE = 4096
/** Largest signed chunk held in memory until its signature is checked (MinIO's limit too). */
export const MAX_SIGNED_CHUNK_BYTES = 16 * 1024 * 1024
const CRLF = Buffer.from('\r\n')

/**
 * Decodes an aws-chunked body; `trailers` receives the trailer headers (lower-case names) once the body ends.
 *
 * @example
 * ```ts
 * const trailers = new Map<string, string>()
 * for await (const data of decodeAwsChunked(request.raw, trailers)) hash.update(data)
 * ```
 */
export async function* decodeAwsChunked(
  source: AsyncIterable<Uint8Array>,
  trailers: Map<string, string>,
  signing?: ChunkSigning,
): AsyncGenerator<Uint8Array> {
  let pending: Buffer = Buffer.alloc(0)
  let remaining = 0 // data bytes left in the current chunk
  let state: 'header' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'header'
  let expectedSignature: string | undefined
  let previousSignature = signing?.seedSignature ?? ''
  let chunkHash = signing === undefined ? undefined : createHash('sha256')
  const trailerLines: string[] = []
  /** Data of the current signed chunk, held until its signature is checked. */
  let held: Buffer[] = []

  const finishChunk = (): void => {
    if (signing === undefined || chunkHash === undefined) return
    const actual = chunkSignature(
      signing.signingKey,
      signing.amzDate,
      signing.scope,
      previousSignature,
      chunkHash.digest('hex'),
    )
    if (expectedSignature === undefined || !signaturesEqual(actual, expectedSignature.toLowerCase())) {
      throw new AwsChunkedError('SignatureDoesNotMatch', 'a chunk signature of the streamed body does not match')
    }
    previousSignature = actual
    chunkHash = createHash('sha256')
  }

  for await (const piece of source) {
    pending =
      pending.length === 0
        ? Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
        : Buffer.concat([pending, piece])
    while (pending.length > 0 && state !== 'done') {
      if (state === 'data') {
        const take = Math.min(remaining, pending.length)
        const data = pending.subarray(0, take)
        chunkHash?.update(data)
        pending = pending.subarray(take)
        remaining -= take
        if (remaining === 0) state = 'data-crlf'
        if (signing === undefined) yield data
        else held.push(Buffer.from(data)) // a copy: `pending` may be a view of the caller's buffer
        continue
      }
      const end = pending.indexOf(CRLF)
      if (end === -1) {
        if (pending.length > MAX_LINE)
          throw new AwsChunkedError('InvalidRequest', 'an aws-chunked header line is too long')
        break
      }
      const line = pending.subarray(0, end).toString('latin1')
      pending = pending.subarray(end + 2)
      if (state === 'data-crlf') {
        if (line !== '') throw new AwsChunkedError('IncompleteBody', 'an aws-chunked chunk is longer than announced')
        finishChunk()
        for (const data of held) yield data
        held = []
        state = 'header'
        continue
      }
      if (state === 'header') {
        const [sizeText = '', ...extensions] = line.split(';')
        const size = Number.parseInt(sizeText.trim(), 16)
        if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+$/.test(sizeText.trim())) {
          throw new AwsChunkedError('InvalidRequest', `malformed aws-chunked size line '${line.slice(0, 64)}'`)
        }
        expectedSignature = extensions
          .map((e) => e.trim())
          .find((e) => e.startsWith('chunk-signature='))
          ?.slice('chunk-signature='.length)
        if (signing !== undefined && size > MAX_SIGNED_CHUNK_BYTES) {
          throw new AwsChunkedError(
            'InvalidRequest',
            `a signed aws-chunked chunk of ${size} bytes is larger than ${MAX_SIGNED_CHUNK_BYTES} bytes: send smaller chunks`,
          )
        }
        if (size === 0) {
          finishChunk()
          state = 'trailer'
        } else {
          remaining = size
          state = 'data'
        }
        continue
      }
      // trailer
      if (line === '') {
        state = 'done'
        break
      }
      trailerLines.push(line)
      const at = line.indexOf(':')
      if (at !== -1) trailers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim())
    }
  }
  if (state === 'trailer' && pending.length === 0) state = 'done' // some clients end without the final empty line
  if (state !== 'done') throw new AwsChunkedError('IncompleteBody', 'the streamed body ended before its last chunk')
  if (signing !== undefined) {
    const given = trailers.get('x-amz-trailer-signature')
    if (given !== undefined) {
      const text = trailerLines.filter((l) => !l.toLowerCase().startsWith('x-amz-trailer-signature')).join('\n')
      const actual = trailerSignature(
        signing.signingKey,
        signing.amzDate,
        signing.scope,
        previousSignature,
        `${text}\n`,
      )
      if (!signaturesEqual(actual, given.toLowerCase())) {
        throw new AwsChunkedError('SignatureDoesNotMatch', 'the trailer signature of the streamed body does not match')
      }
    }
  }
}
