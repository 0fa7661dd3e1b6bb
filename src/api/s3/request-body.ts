/**
 * The body of an upload (PutObject, UploadPart) as the client meant it: aws-chunked decoded, metered, and checked at
 * the end against its declared length, payload hash, Content-MD5 and CRC32/SHA checksums.
 */
import type { FastifyRequest } from 'fastify'
import { decodeAwsChunked } from '../aws-chunked.ts'
import {
  STREAMING_SIGNED_PAYLOAD,
  STREAMING_SIGNED_PAYLOAD_TRAILER,
  STREAMING_UNSIGNED_PAYLOAD_TRAILER,
} from '../sigv4.ts'
import { meterUpload } from '../upload-meter.ts'
import type { S3Context } from './s3-context.ts'
import { entityTooLarge, S3Error } from './s3-error.ts'
import { headerText, type S3Signature } from './s3-request.ts'

type Meter = ReturnType<typeof meterUpload>['meter']

/** Body bytes as the client meant them: aws-chunked decoded, with the trailers it carries. */
function bodyOf(
  request: FastifyRequest,
  signature: S3Signature,
): { source: AsyncIterable<Uint8Array>; trailers: Map<string, string>; declaredLength?: number } {
  const raw = request.raw as AsyncIterable<Uint8Array>
  const trailers = new Map<string, string>()
  const { payloadHash } = signature
  const chunked =
    payloadHash === STREAMING_SIGNED_PAYLOAD ||
    payloadHash === STREAMING_SIGNED_PAYLOAD_TRAILER ||
    payloadHash === STREAMING_UNSIGNED_PAYLOAD_TRAILER ||
    (headerText(request.headers, 'content-encoding') ?? '').split(',').some((e) => e.trim() === 'aws-chunked')
  const decoded = headerText(request.headers, 'x-amz-decoded-content-length')
  const declared = chunked ? decoded : headerText(request.headers, 'content-length')
  const signing =
    payloadHash === STREAMING_SIGNED_PAYLOAD || payloadHash === STREAMING_SIGNED_PAYLOAD_TRAILER
      ? {
          signingKey: signature.signingKey,
          amzDate: signature.amzDate,
          scope: signature.scope,
          seedSignature: signature.signature,
        }
      : undefined
  const source = chunked ? decodeAwsChunked(raw, trailers, signing) : raw
  return declared === undefined ? { source, trailers } : { source, trailers, declaredLength: Number(declared) }
}

/**
 * Streams the body into `sink` (a Cairn file, a staged part), then checks length, payload hash, Content-MD5 and
 * CRC32/SHA checksums; when a check fails, `reject` undoes what the sink wrote and the S3 error is thrown.
 *
 * @example
 * ```ts
 * const { result, md5 } = await receiveBody(context, request, signature, (source) => putFile(...), async () => {})
 * ```
 */
export async function receiveBody<T>(
  context: S3Context,
  request: FastifyRequest,
  signature: S3Signature,
  sink: (source: AsyncIterable<Uint8Array>) => Promise<T>,
  reject: (result: T) => Promise<void>,
): Promise<{ result: T; md5: string }> {
  const { init, metrics } = context
  const { source, trailers, declaredLength } = bodyOf(request, signature)
  if (declaredLength !== undefined && declaredLength > init.maxUploadBytes) throw entityTooLarge()
  const hashHex = /^[0-9a-f]{64}$/.test(signature.payloadHash) ? signature.payloadHash : undefined
  // Hash only what this request asks to be checked: MD5 always (the ETag), the rest when announced in a header
  // or as a trailer (`x-amz-trailer`).
  const announced = new Set(
    [
      ...(headerText(request.headers, 'x-amz-trailer') ?? '').split(','),
      ...Object.keys(request.headers).filter((name) => name.startsWith('x-amz-checksum-')),
    ].map((name) => name.trim().toLowerCase()),
  )
  const algorithms: Array<'md5' | 'sha256' | 'sha1'> = ['md5']
  if (hashHex !== undefined || announced.has('x-amz-checksum-sha256')) algorithms.push('sha256')
  if (announced.has('x-amz-checksum-sha1')) algorithms.push('sha1')
  const { source: metered, meter } = meterUpload(source, {
    maxBytes: init.maxUploadBytes,
    algorithms,
    crc32: announced.has('x-amz-checksum-crc32'),
    onBytes: (n) => metrics.bytesIn.inc({ kind: 's3' }, n),
  })
  const result = await sink(metered)
  try {
    checkBody(request, meter, trailers, announced, declaredLength, hashHex)
  } catch (err) {
    await reject(result)
    throw err
  }
  return { result, md5: meter.digest('md5') }
}

function checkBody(
  request: FastifyRequest,
  meter: Meter,
  trailers: Map<string, string>,
  announced: Set<string>,
  declaredLength: number | undefined,
  hashHex: string | undefined,
): void {
  if (declaredLength !== undefined && meter.bytes !== declaredLength) {
    throw new S3Error(
      'IncompleteBody',
      400,
      'You did not provide the number of bytes specified by the Content-Length HTTP header.',
    )
  }
  if (hashHex !== undefined && meter.digest('sha256') !== hashHex) {
    throw new S3Error(
      'XAmzContentSHA256Mismatch',
      400,
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )
  }
  const checksum = (name: string): string | undefined => trailers.get(name) ?? headerText(request.headers, name)
  const crc = checksum('x-amz-checksum-crc32')
  if (crc !== undefined && announced.has('x-amz-checksum-crc32')) {
    const actual = Buffer.alloc(4)
    actual.writeUInt32BE(meter.crc32())
    if (actual.toString('base64') !== crc) {
      throw new S3Error('BadDigest', 400, 'The CRC32 you specified did not match the calculated checksum.')
    }
  }
  for (const [header, algorithm] of [
    ['x-amz-checksum-sha256', 'sha256'],
    ['x-amz-checksum-sha1', 'sha1'],
  ] as const) {
    const given = checksum(header)
    if (
      given !== undefined &&
      announced.has(header) &&
      Buffer.from(meter.digest(algorithm), 'hex').toString('base64') !== given
    ) {
      throw new S3Error(
        'BadDigest',
        400,
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      )
    }
  }
  const contentMd5 = headerText(request.headers, 'content-md5')
  if (contentMd5 !== undefined && Buffer.from(meter.digest('md5'), 'hex').toString('base64') !== contentMd5) {
    throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.')
  }
}
