/**
 * The S3-compatible endpoint (path-style: `http://host:port/<bucket>/<key>`), on its own Fastify instance.
 * Buckets and objects live in the gateway index; object bytes are Cairn files: one per PutObject and one per completed
 * multipart upload, whose parts wait on the gateway's disk (multipart-staging.ts) until CompleteMultipartUpload
 * streams them, in order, into a single `files.put` (so one object is one file and, with the chain on, one deal).
 * Every request must be signed with AWS Signature V4 by the gateway's access key.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CairnError, CorruptDataError } from '../errors.ts'
import { AwsChunkedError, decodeAwsChunked } from './aws-chunked.ts'
import { contentRange, parseRange } from './byte-range.ts'
import {
  S3_MAX_CLOCK_SKEW_MS,
  S3_MAX_KEYS,
  S3_MAX_PARTS,
  S3_MAX_PRESIGN_SECONDS,
  S3_MIN_PART_BYTES,
} from './constants.ts'
import { errorBody } from './error-status.ts'
import type { GatewayIndex, ObjectPart, S3Object, UploadedPart } from './gateway-database.ts'
import type { FileService } from './interface.ts'
import type { CairnMetrics } from './metrics.ts'
import type { MultipartStaging } from './multipart-staging.ts'
import { readParts } from './object-reader.ts'
import { isoDate, parseCompleteMultipart, parseDeleteObjects, xmlDocument, xmlError } from './s3-xml.ts'
import {
  parseQuery,
  STREAMING_SIGNED_PAYLOAD,
  STREAMING_SIGNED_PAYLOAD_TRAILER,
  STREAMING_UNSIGNED_PAYLOAD_TRAILER,
  verifySigV4,
} from './sigv4.ts'
import { meterUpload } from './upload-meter.ts'

export interface S3Components {
  files: FileService
  index: GatewayIndex
  metrics: CairnMetrics
  /** Where UploadPart stages parts until CompleteMultipartUpload. */
  staging: MultipartStaging
}

export interface S3Init {
  accessKeyId: string
  secretAccessKey: string
  region: string
  maxUploadBytes: number
  /** Redundancy of objects written through S3 (the service's default when absent). */
  k?: number
  n?: number
}

/** An S3 error answer: its code, status and message, as S3 clients expect them. */
class S3Error extends Error {
  readonly s3Code: string
  readonly status: number
  readonly extra: Record<string, string | undefined>
  constructor(s3Code: string, status: number, message: string, extra: Record<string, string | undefined> = {}) {
    super(message)
    this.s3Code = s3Code
    this.status = status
    this.extra = extra
  }
}

const noSuchBucket = (bucket: string): S3Error =>
  new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket })
const noSuchKey = (bucket: string, key: string): S3Error =>
  new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { BucketName: bucket, Key: key })
const noSuchUpload = (uploadId: string): S3Error =>
  new S3Error(
    'NoSuchUpload',
    404,
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  )
const completing = (uploadId: string): S3Error =>
  new S3Error(
    'OperationAborted',
    409,
    'A conflicting conditional operation is currently in progress against this resource. Please try again.',
    { UploadId: uploadId },
  )

const SIGV4_STATUS: Record<string, number> = {
  AccessDenied: 403,
  InvalidAccessKeyId: 403,
  SignatureDoesNotMatch: 403,
  RequestTimeTooSkewed: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
}

/** Maps a Cairn error thrown by the file service to the nearest S3 error. */
function fromCairnError(err: CairnError): S3Error {
  const { status } = errorBody(err)
  const byStatus: Record<number, string> = {
    400: 'InvalidArgument',
    404: 'NoSuchKey',
    413: 'EntityTooLarge',
    429: 'SlowDown',
    503: 'ServiceUnavailable',
    504: 'RequestTimeout',
  }
  return new S3Error(byStatus[status] ?? 'InternalError', status >= 400 && status < 600 ? status : 500, err.message, {
    CairnCode: err.code,
  })
}

function validBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name)
}

function userMetadata(headers: IncomingMessage['headers']): Record<string, string> {
  const metadata: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value
    }
  }
  return metadata
}

function headerText(headers: IncomingMessage['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.")
  }
}

function objectHeaders(object: S3Object): Record<string, string> {
  const headers: Record<string, string> = {
    etag: object.etag,
    'last-modified': new Date(object.lastModified).toUTCString(),
    'content-type': object.contentType,
    'accept-ranges': 'bytes',
  }
  for (const [name, value] of Object.entries(object.metadata)) headers[`x-amz-meta-${name}`] = value
  return headers
}

async function readSmallBody(source: AsyncIterable<Uint8Array>, limit = 1024 * 1024): Promise<string> {
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of source) {
    size += chunk.byteLength
    if (size > limit) throw new S3Error('MaxMessageLengthExceeded', 400, 'Your request was too big.')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

interface ParsedTarget {
  bucket?: string
  key?: string
  query: Map<string, string>
}

function parseTarget(url: string): ParsedTarget {
  const at = url.indexOf('?')
  const path = at === -1 ? url : url.slice(0, at)
  const query = new Map(parseQuery(at === -1 ? '' : url.slice(at + 1)))
  const trimmed = path.replace(/^\/+/, '')
  if (trimmed === '') return { query }
  const slash = trimmed.indexOf('/')
  if (slash === -1 || slash === trimmed.length - 1) {
    return { bucket: safeDecode(slash === -1 ? trimmed : trimmed.slice(0, -1)), query }
  }
  return { bucket: safeDecode(trimmed.slice(0, slash)), key: safeDecode(trimmed.slice(slash + 1)), query }
}

/**
 * Registers the S3 API on `app` (a Fastify instance of its own: every path belongs to S3).
 *
 * @example
 * ```ts
 * const app = Fastify()
 * registerS3Routes(app, { files, index, metrics }, { accessKeyId, secretAccessKey, region, maxUploadBytes })
 * await app.listen({ host: '127.0.0.1', port: 7071 })
 * ```
 */
export function registerS3Routes(app: FastifyInstance, components: S3Components, init: S3Init): void {
  const { files, index, metrics, staging } = components
  /** Uploads whose CompleteMultipartUpload is streaming their parts: their parts must stay as they are. */
  const completingUploads = new Set<string>()
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

  function requestId(): string {
    return randomBytes(8).toString('hex').toUpperCase()
  }

  function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
    let s3: S3Error
    if (err instanceof S3Error) s3 = err
    else if (err instanceof AwsChunkedError)
      s3 = new S3Error(err.s3Code, err.s3Code === 'SignatureDoesNotMatch' ? 403 : 400, err.message)
    else if (err instanceof CairnError) s3 = fromCairnError(err)
    else {
      request.log.error({ err }, 's3 request failed')
      s3 = new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.')
    }
    const id = requestId()
    reply.code(s3.status).header('x-amz-request-id', id).header('content-type', 'application/xml')
    if (request.method === 'HEAD') return reply.send()
    const resource = request.url.split('?')[0]
    return reply.send(xmlError(s3.s3Code, s3.message, { ...s3.extra, Resource: resource, RequestId: id }))
  }

  /** Body bytes as the client meant them: aws-chunked decoded, payload hash and checksums checked at the end. */
  function bodyOf(
    request: FastifyRequest,
    signature: { payloadHash: string; signingKey: Buffer; amzDate: string; scope: string; signature: string },
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

  /** Streams `source` into one new Cairn file named `name`, with the S3 redundancy. */
  async function putFile(
    source: AsyncIterable<Uint8Array>,
    name: string,
    type: string,
    signal: AbortSignal,
  ): Promise<ObjectPart> {
    const endTimer = metrics.putSeconds.startTimer()
    const putInit: { name: string; type: string; k?: number; n?: number } = { name, type }
    if (init.k !== undefined) putInit.k = init.k
    if (init.n !== undefined) putInit.n = init.n
    const result = await files.put(source, putInit, { signal })
    endTimer()
    return { capability: result.capability, size: result.size }
  }

  /**
   * Streams the body into `sink` (a Cairn file, a staged part), then checks length, payload hash, Content-MD5 and
   * CRC32/SHA checksums; when a check fails, `reject` undoes what the sink wrote and the S3 error is thrown.
   */
  async function receiveBody<T>(
    request: FastifyRequest,
    signature: Parameters<typeof bodyOf>[1],
    sink: (source: AsyncIterable<Uint8Array>) => Promise<T>,
    reject: (result: T) => Promise<void>,
  ): Promise<{ result: T; md5: string }> {
    const { source, trailers, declaredLength } = bodyOf(request, signature)
    if (declaredLength !== undefined && declaredLength > init.maxUploadBytes) {
      throw new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed object size.')
    }
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
    meter: ReturnType<typeof meterUpload>['meter'],
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

  function requireBucket(bucket: string): void {
    if (!index.hasBucket(bucket)) throw noSuchBucket(bucket)
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const abort = new AbortController()
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort(new Error('client went away'))
    })
    const { signal } = abort
    const verified = verifySigV4(
      { method: request.method, url: request.raw.url ?? '/', headers: request.headers },
      {
        secretFor: (id) => (id === init.accessKeyId ? init.secretAccessKey : undefined),
        region: init.region,
        maxSkewMs: S3_MAX_CLOCK_SKEW_MS,
        maxPresignSeconds: S3_MAX_PRESIGN_SECONDS,
      },
    )
    if (!verified.ok) throw new S3Error(verified.code, SIGV4_STATUS[verified.code] ?? 403, verified.message)
    const signature = verified
    const { bucket, key, query } = parseTarget(request.raw.url ?? '/')
    const method = request.method
    reply.header('x-amz-request-id', requestId())

    // Service
    if (bucket === undefined) {
      if (method !== 'GET')
        throw new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.')
      const buckets = index.listBuckets()
      return reply.type('application/xml').send(
        xmlDocument('ListAllMyBucketsResult', {
          Owner: { ID: init.accessKeyId, DisplayName: 'cairn' },
          Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: isoDate(b.createdAt) })) },
        }),
      )
    }

    // Bucket
    if (key === undefined) {
      if (method === 'PUT') {
        if (!validBucketName(bucket))
          throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', { BucketName: bucket })
        await readSmallBody(request.raw)
        if (!index.createBucket(bucket)) {
          throw new S3Error(
            'BucketAlreadyOwnedByYou',
            409,
            'Your previous request to create the named bucket succeeded and you already own it.',
            {
              BucketName: bucket,
            },
          )
        }
        return reply.header('location', `/${bucket}`).send()
      }
      requireBucket(bucket)
      if (method === 'HEAD') return reply.header('x-amz-bucket-region', init.region).send()
      if (method === 'DELETE') {
        if (!index.bucketIsEmpty(bucket)) {
          throw new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty', {
            BucketName: bucket,
          })
        }
        index.deleteBucket(bucket)
        return reply.code(204).send()
      }
      if (method === 'POST' && query.has('delete')) {
        const parsed = parseDeleteObjects(await readSmallBody(request.raw))
        if (parsed === undefined) throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed.')
        for (const k of parsed.keys) index.deleteObject(bucket, k)
        return reply
          .type('application/xml')
          .send(
            xmlDocument('DeleteResult', { Deleted: parsed.quiet ? undefined : parsed.keys.map((k) => ({ Key: k })) }),
          )
      }
      if (method !== 'GET')
        throw new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.')
      if (query.has('location')) {
        return reply
          .type('application/xml')
          .send(
            xmlDocument('LocationConstraint', {}).replace(
              '</LocationConstraint>',
              `${init.region === 'us-east-1' ? '' : init.region}</LocationConstraint>`,
            ),
          )
      }
      if (query.has('versioning')) return reply.type('application/xml').send(xmlDocument('VersioningConfiguration', {}))
      if (query.has('uploads')) {
        const uploads = index.listUploads(bucket)
        return reply.type('application/xml').send(
          xmlDocument('ListMultipartUploadsResult', {
            Bucket: bucket,
            MaxUploads: 1000,
            IsTruncated: false,
            Upload: uploads.map((u) => ({ Key: u.key, UploadId: u.uploadId, Initiated: isoDate(u.createdAt) })),
          }),
        )
      }
      for (const unsupported of [
        'acl',
        'policy',
        'cors',
        'lifecycle',
        'tagging',
        'website',
        'encryption',
        'object-lock',
      ]) {
        if (query.has(unsupported))
          throw new S3Error('NotImplemented', 501, `Cairn's S3 API does not implement ?${unsupported}.`)
      }
      return listObjects(bucket, query, reply)
    }

    // Object
    requireBucket(bucket)
    const uploadId = query.get('uploadId')
    if (method === 'PUT' && uploadId !== undefined) {
      const upload = index.getUpload(uploadId)
      if (upload === undefined || upload.bucket !== bucket || upload.key !== key) throw noSuchUpload(uploadId)
      const partNumber = Number(query.get('partNumber'))
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > S3_MAX_PARTS) {
        throw new S3Error(
          'InvalidArgument',
          400,
          `Part number must be an integer between 1 and ${S3_MAX_PARTS}, inclusive`,
        )
      }
      if (completingUploads.has(uploadId)) throw completing(uploadId)
      const { result: pending, md5 } = await receiveBody(
        request,
        signature,
        (source) => staging.write(uploadId, partNumber, source, { signal }),
        (part) => part.discard(),
      )
      let staged: string
      try {
        staged = await pending.commit()
      } catch (err) {
        await pending.discard()
        throw err
      }
      // The upload may have been aborted, or its completion started, while the part streamed in.
      if (index.getUpload(uploadId) === undefined || completingUploads.has(uploadId)) {
        await staging.removePart(uploadId, staged)
        throw index.getUpload(uploadId) === undefined ? noSuchUpload(uploadId) : completing(uploadId)
      }
      const replaced = index.putPart(uploadId, { partNumber, size: pending.size, md5, staged })
      if (replaced?.staged !== undefined && replaced.staged !== staged)
        await staging.removePart(uploadId, replaced.staged)
      return reply.header('etag', `"${md5}"`).send()
    }
    if (method === 'PUT') {
      const copySource = headerText(request.headers, 'x-amz-copy-source')
      if (copySource !== undefined) return copyObject(bucket, key, copySource, request, reply)
      const type = headerText(request.headers, 'content-type') ?? 'binary/octet-stream'
      const { result: part, md5 } = await receiveBody(
        request,
        signature,
        (source) => putFile(source, key, type, signal),
        // The file is already stored; the object is not recorded (nothing refers to the file).
        async () => undefined,
      )
      const object: S3Object = {
        bucket,
        key,
        size: part.size,
        etag: `"${md5}"`,
        contentType: type,
        metadata: userMetadata(request.headers),
        parts: part.size === 0 ? [] : [part],
        lastModified: Date.now(),
      }
      index.putObject(object)
      return reply.header('etag', object.etag).send()
    }
    if (method === 'POST' && query.has('uploads')) {
      const id = randomBytes(24).toString('base64url')
      index.createUpload({
        uploadId: id,
        bucket,
        key,
        contentType: headerText(request.headers, 'content-type') ?? 'binary/octet-stream',
        metadata: userMetadata(request.headers),
        createdAt: Date.now(),
      })
      return reply
        .type('application/xml')
        .send(xmlDocument('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: id }))
    }
    if (method === 'POST' && uploadId !== undefined)
      return completeMultipart(bucket, key, uploadId, request, reply, signal)
    if (method === 'DELETE' && uploadId !== undefined) {
      const upload = index.getUpload(uploadId)
      if (upload === undefined || upload.bucket !== bucket || upload.key !== key) throw noSuchUpload(uploadId)
      if (completingUploads.has(uploadId)) throw completing(uploadId)
      index.deleteUpload(uploadId)
      await staging.removeUpload(uploadId)
      return reply.code(204).send()
    }
    if (method === 'DELETE') {
      index.deleteObject(bucket, key)
      return reply.code(204).send()
    }
    if (method === 'GET' && uploadId !== undefined) {
      const upload = index.getUpload(uploadId)
      if (upload === undefined) throw noSuchUpload(uploadId)
      return reply.type('application/xml').send(
        xmlDocument('ListPartsResult', {
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          IsTruncated: false,
          Part: index.listParts(uploadId).map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.md5}"`, Size: p.size })),
        }),
      )
    }
    if (method === 'GET' || method === 'HEAD') {
      const object = index.getObject(bucket, key)
      if (object === undefined) throw noSuchKey(bucket, key)
      reply.headers(objectHeaders(object))
      const range = parseRange(headerText(request.headers, 'range'), object.size)
      if (range.kind === 'unsatisfiable') {
        reply.header('content-range', `bytes */${object.size}`)
        throw new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', {
          RangeRequested: headerText(request.headers, 'range'),
        })
      }
      const offset = range.kind === 'partial' ? range.offset : 0
      const length = range.kind === 'partial' ? range.length : object.size
      if (range.kind === 'partial') reply.code(206).header('content-range', contentRange(offset, length, object.size))
      reply.header('content-length', String(length))
      if (method === 'HEAD' || length === 0) return reply.send()
      const endTimer = metrics.getSeconds.startTimer()
      const stream = Readable.from(readParts(files, object.parts, offset, length, { signal }))
      stream.on('data', (chunk: Buffer) => metrics.bytesOut.inc({ kind: 's3' }, chunk.byteLength))
      stream.on('end', () => endTimer())
      return reply.send(stream)
    }
    throw new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.')
  }

  function listObjects(bucket: string, query: Map<string, string>, reply: FastifyReply): FastifyReply {
    const v2 = query.get('list-type') === '2'
    const prefix = query.get('prefix') ?? ''
    const delimiter = query.get('delimiter')
    const maxKeysText = query.get('max-keys')
    const maxKeys = Math.min(S3_MAX_KEYS, maxKeysText === undefined ? S3_MAX_KEYS : Number(maxKeysText))
    if (!Number.isInteger(maxKeys) || maxKeys < 0)
      throw new S3Error('InvalidArgument', 400, 'max-keys must be a non-negative integer')
    const token = query.get('continuation-token')
    let after: string | undefined
    if (v2 && token !== undefined) {
      after = Buffer.from(token, 'base64url').toString('utf8')
      if (after === '') throw new S3Error('InvalidArgument', 400, 'The continuation token provided is incorrect')
    } else if (v2) after = query.get('start-after')
    else after = query.get('marker')
    const page = index.listObjects(bucket, {
      prefix,
      ...(delimiter === undefined || delimiter === '' ? {} : { delimiter }),
      ...(after === undefined || after === '' ? {} : { after }),
      maxKeys,
    })
    const encodeUrl = query.get('encoding-type') === 'url'
    const enc = (s: string): string => (encodeUrl ? encodeURIComponent(s).replace(/%2F/g, '/') : s)
    const contents = page.objects.map((o) => ({
      Key: enc(o.key),
      LastModified: isoDate(o.lastModified),
      ETag: o.etag,
      Size: o.size,
      StorageClass: 'STANDARD',
    }))
    const common = page.commonPrefixes.map((p) => ({ Prefix: enc(p) }))
    const shared = {
      Name: bucket,
      Prefix: enc(prefix),
      Delimiter: delimiter === undefined ? undefined : enc(delimiter),
      MaxKeys: maxKeys,
      EncodingType: encodeUrl ? 'url' : undefined,
      IsTruncated: page.truncated,
    }
    const body = v2
      ? {
          ...shared,
          KeyCount: contents.length + common.length,
          ContinuationToken: token,
          StartAfter: query.get('start-after'),
          NextContinuationToken:
            page.truncated && page.last !== undefined
              ? Buffer.from(page.last, 'utf8').toString('base64url')
              : undefined,
          Contents: contents,
          CommonPrefixes: common,
        }
      : {
          ...shared,
          Marker: after ?? '',
          NextMarker: page.truncated && delimiter !== undefined ? page.last : undefined,
          Contents: contents,
          CommonPrefixes: common,
        }
    return reply.type('application/xml').send(xmlDocument('ListBucketResult', body))
  }

  async function completeMultipart(
    bucket: string,
    key: string,
    uploadId: string,
    request: FastifyRequest,
    reply: FastifyReply,
    signal: AbortSignal,
  ): Promise<FastifyReply> {
    const upload = index.getUpload(uploadId)
    if (upload === undefined || upload.bucket !== bucket || upload.key !== key) throw noSuchUpload(uploadId)
    if (completingUploads.has(uploadId)) throw completing(uploadId)
    const listed = parseCompleteMultipart(await readSmallBody(request.raw))
    if (listed === undefined || listed.length === 0)
      throw new S3Error(
        'MalformedXML',
        400,
        'The XML you provided was not well-formed or did not validate against our published schema.',
      )
    const stored = new Map(index.listParts(uploadId).map((p) => [p.partNumber, p]))
    const chosen: UploadedPart[] = []
    const md5s: Buffer[] = []
    let size = 0
    let previous = 0
    for (const [i, { partNumber, etag }] of listed.entries()) {
      if (partNumber <= previous)
        throw new S3Error(
          'InvalidPartOrder',
          400,
          'The list of parts was not in ascending order. Parts must be ordered by part number.',
        )
      previous = partNumber
      const part = stored.get(partNumber)
      if (part === undefined || part.md5 !== etag.toLowerCase()) {
        throw new S3Error(
          'InvalidPart',
          400,
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          { PartNumber: String(partNumber) },
        )
      }
      if (i < listed.length - 1 && part.size < S3_MIN_PART_BYTES) {
        throw new S3Error(
          'EntityTooSmall',
          400,
          'Your proposed upload is smaller than the minimum allowed object size.',
          { PartNumber: String(partNumber) },
        )
      }
      if (part.size > 0) chosen.push(part)
      md5s.push(Buffer.from(part.md5, 'hex'))
      size += part.size
    }
    if (size > init.maxUploadBytes) {
      throw new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed object size.')
    }
    const etag = `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${listed.length}"`
    // One Cairn file (one deal) for the whole object. When the put fails, the upload stays open for a retry.
    completingUploads.add(uploadId)
    try {
      const parts: ObjectPart[] = []
      if (size > 0) {
        const part = await putFile(partsInOrder(uploadId, chosen, signal), key, upload.contentType, signal)
        if (part.size !== size) {
          throw new CorruptDataError(`the file service stored ${part.size} bytes of a ${size}-byte multipart object`)
        }
        parts.push(part)
      }
      index.completeUpload(uploadId, {
        bucket,
        key,
        size,
        etag,
        contentType: upload.contentType,
        metadata: upload.metadata,
        parts,
        lastModified: Date.now(),
      })
    } finally {
      completingUploads.delete(uploadId)
    }
    // A folder left by a failure here is removed by the sweep when the gateway starts.
    await staging.removeUpload(uploadId).catch((err: unknown) => request.log.warn({ err }, 'staging cleanup failed'))
    return reply.type('application/xml').send(
      xmlDocument('CompleteMultipartUploadResult', {
        Location: `/${bucket}/${key}`,
        Bucket: bucket,
        Key: key,
        ETag: etag,
      }),
    )
  }

  /** The bytes of `parts`, in order: staged files, or Cairn files for parts uploaded before staging existed. */
  async function* partsInOrder(
    uploadId: string,
    parts: UploadedPart[],
    signal: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    for (const part of parts) {
      if (part.staged !== undefined) {
        yield* staging.read(
          uploadId,
          [{ partNumber: part.partNumber, staged: part.staged, size: part.size, md5: part.md5 }],
          {
            signal,
          },
        )
      } else if (part.capability !== undefined) {
        yield* readParts(files, [{ capability: part.capability, size: part.size }], 0, part.size, { signal })
      } else {
        throw new CorruptDataError(`part ${part.partNumber} has no bytes recorded: upload it again`)
      }
    }
  }

  async function copyObject(
    bucket: string,
    key: string,
    copySource: string,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const sourcePath = safeDecode(copySource.split('?')[0] ?? '').replace(/^\/+/, '')
    const slash = sourcePath.indexOf('/')
    if (slash === -1)
      throw new S3Error(
        'InvalidArgument',
        400,
        'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      )
    const fromBucket = sourcePath.slice(0, slash)
    const fromKey = sourcePath.slice(slash + 1)
    requireBucket(fromBucket)
    const source = index.getObject(fromBucket, fromKey)
    if (source === undefined) throw noSuchKey(fromBucket, fromKey)
    await readSmallBody(request.raw)
    const replace = headerText(request.headers, 'x-amz-metadata-directive') === 'REPLACE'
    const copy: S3Object = {
      ...source,
      bucket,
      key,
      contentType: replace ? (headerText(request.headers, 'content-type') ?? source.contentType) : source.contentType,
      metadata: replace ? userMetadata(request.headers) : source.metadata,
      lastModified: Date.now(),
    }
    index.putObject(copy)
    return reply
      .type('application/xml')
      .send(xmlDocument('CopyObjectResult', { LastModified: isoDate(copy.lastModified), ETag: copy.etag }))
  }

  app.route({
    method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
    url: '/*',
    handler: async (request, reply) => {
      try {
        return await handle(request, reply)
      } catch (err) {
        // drain what is left of the body so that the client reads our answer instead of a reset
        request.raw.resume()
        return sendError(request, reply, err)
      }
    },
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.'),
    ),
  )
}
