/**
 * S3 operations on whole objects: PutObject (one Cairn file per object), CopyObject (the copy shares the source's
 * file), DeleteObject, GetObject and HeadObject (with byte ranges).
 */
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import { CorruptDataError } from '../../errors.ts'
import { contentRange, parseRange } from '../byte-range.ts'
import type { ObjectPart, S3Object } from '../gateway-database.ts'
import { readParts } from '../object-reader.ts'
import { isoDate, xmlDocument } from '../s3-xml.ts'
import { receiveBody } from './request-body.ts'
import { changeObject, putFile, requireBucket, requireRoom, type S3Context } from './s3-context.ts'
import { noSuchKey, S3Error } from './s3-error.ts'
import { headerText, type ObjectCall, parseCopySource, readSmallBody, userMetadata } from './s3-request.ts'

function objectHeaders(object: S3Object): Record<string, string> {
  const headers: Record<string, string> = {
    etag: object.etag,
    'last-modified': new Date(object.lastModified).toUTCString(),
    'content-type': object.contentType,
    'accept-ranges': 'bytes',
    // the S3 origin holds no credential a page could use, but a browser must still not guess a script type
    'x-content-type-options': 'nosniff',
  }
  for (const [name, value] of Object.entries(object.metadata)) headers[`x-amz-meta-${name}`] = value
  return headers
}

/**
 * `PUT /<bucket>/<key>`: PutObject, or CopyObject when `x-amz-copy-source` is set. The body is staged on the
 * gateway's disk and checked (length, payload hash, Content-MD5, checksums) before it becomes a Cairn file: a body
 * that fails a check costs no file, no piece sent to a node and no deal.
 */
export async function putObject(context: S3Context, call: ObjectCall): Promise<FastifyReply> {
  const { request, reply, bucket, key, signature, signal } = call
  const { staging } = context
  const copySource = headerText(request.headers, 'x-amz-copy-source')
  if (copySource !== undefined) return copyObject(context, call, copySource)
  requireRoom(context, bucket, key)
  const type = headerText(request.headers, 'content-type') ?? 'binary/octet-stream'
  // A staging folder of its own (swept at start when a crash leaves it behind, as no upload has its ID).
  const stagingId = `put-${randomBytes(12).toString('base64url')}`
  try {
    const { result: pending, md5 } = await receiveBody(
      context,
      request,
      signature,
      (source) => staging.write(stagingId, 1, source, { signal }),
      (staged) => staged.discard(),
    )
    const size = pending.size
    const staged = await pending.commit()
    const parts: ObjectPart[] = []
    if (size > 0) {
      const body = staging.read(stagingId, [{ partNumber: 1, staged, size, md5 }], { signal })
      const part = await putFile(context, body, key, type, signal)
      if (part.size !== size) {
        throw new CorruptDataError(`the file service stored ${part.size} bytes of a ${size}-byte object`)
      }
      parts.push(part)
    }
    const object: S3Object = {
      bucket,
      key,
      size,
      etag: `"${md5}"`,
      contentType: type,
      metadata: userMetadata(request.headers),
      parts,
      lastModified: Date.now(),
    }
    changeObject(context, bucket, key, () => context.index.putObject(object))
    return reply.header('etag', object.etag).send()
  } finally {
    await staging.removeUpload(stagingId).catch((err: unknown) => request.log.warn({ err }, 'staging cleanup failed'))
  }
}

async function copyObject(
  context: S3Context,
  { request, reply, bucket, key }: ObjectCall,
  copySource: string,
): Promise<FastifyReply> {
  const from = parseCopySource(copySource)
  requireRoom(context, bucket, key)
  requireBucket(context, from.bucket)
  const source = context.index.getObject(from.bucket, from.key)
  if (source === undefined) throw noSuchKey(from.bucket, from.key)
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
  changeObject(context, bucket, key, () => context.index.putObject(copy))
  return reply
    .type('application/xml')
    .send(xmlDocument('CopyObjectResult', { LastModified: isoDate(copy.lastModified), ETag: copy.etag }))
}

/** `DELETE /<bucket>/<key>`: succeeds whether or not the object exists. */
export function deleteObject(context: S3Context, { bucket, key, reply }: ObjectCall): FastifyReply {
  changeObject(context, bucket, key, () => context.index.deleteObject(bucket, key))
  return reply.code(204).send()
}

/** `GET` and `HEAD /<bucket>/<key>`, whole or a `Range: bytes=` of it. */
export function getObject(context: S3Context, { request, reply, bucket, key, signal }: ObjectCall): FastifyReply {
  const { files, metrics } = context
  const object = context.index.getObject(bucket, key)
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
  if (request.method === 'HEAD' || length === 0) return reply.send()
  const endTimer = metrics.getSeconds.startTimer()
  const stream = Readable.from(readParts(files, object.parts, offset, length, { signal }))
  stream.on('data', (chunk: Buffer) => metrics.bytesOut.inc({ kind: 's3' }, chunk.byteLength))
  stream.on('end', () => endTimer())
  return reply.send(stream)
}
