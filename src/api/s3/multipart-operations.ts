/**
 * S3 multipart uploads: CreateMultipartUpload, UploadPart (staged on the gateway's disk), ListParts,
 * AbortMultipartUpload and CompleteMultipartUpload, which streams the parts, in order, into one Cairn file (one
 * object is one file and, with the chain on, one deal).
 */
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyReply } from 'fastify'
import { CorruptDataError } from '../../errors.ts'
import { S3_MAX_PARTS, S3_MIN_PART_BYTES } from '../constants.ts'
import type { ObjectPart, UploadedPart } from '../gateway-database.ts'
import { readParts } from '../object-reader.ts'
import { parseCompleteMultipart, xmlDocument } from '../s3-xml.ts'
import { receiveBody } from './request-body.ts'
import { changeObject, putFile, requireRoom, type S3Context } from './s3-context.ts'
import { completing, entityTooLarge, noSuchUpload, S3Error } from './s3-error.ts'
import { headerText, type ObjectCall, readSmallBody, userMetadata } from './s3-request.ts'

/** The upload `uploadId` of this object; NoSuchUpload when it is not (any more). */
function uploadOf(context: S3Context, { bucket, key }: ObjectCall, uploadId: string) {
  const upload = context.index.getUpload(uploadId)
  if (upload === undefined || upload.bucket !== bucket || upload.key !== key) throw noSuchUpload(uploadId)
  return upload
}

/** `query.get('uploadId')` of a call the route table matched on `uploadId`. */
function uploadIdOf({ query }: ObjectCall): string {
  return query.get('uploadId') ?? ''
}

/** `POST /<bucket>/<key>?uploads` */
export function createMultipartUpload(context: S3Context, { request, reply, bucket, key }: ObjectCall): FastifyReply {
  const id = randomBytes(24).toString('base64url')
  context.index.createUpload({
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

/** `PUT /<bucket>/<key>?partNumber=N&uploadId=ID`: stages the part on disk (replacing an earlier one). */
export async function uploadPart(context: S3Context, call: ObjectCall): Promise<FastifyReply> {
  const { index, staging, completingUploads } = context
  const { request, reply, query, signature, signal } = call
  const uploadId = uploadIdOf(call)
  uploadOf(context, call, uploadId)
  const partNumber = Number(query.get('partNumber'))
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > S3_MAX_PARTS) {
    throw new S3Error('InvalidArgument', 400, `Part number must be an integer between 1 and ${S3_MAX_PARTS}, inclusive`)
  }
  if (completingUploads.has(uploadId)) throw completing(uploadId)
  const { result: pending, md5 } = await receiveBody(
    context,
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
  if (replaced?.staged !== undefined && replaced.staged !== staged) await staging.removePart(uploadId, replaced.staged)
  return reply.header('etag', `"${md5}"`).send()
}

/** `DELETE /<bucket>/<key>?uploadId=ID` */
export async function abortMultipartUpload(context: S3Context, call: ObjectCall): Promise<FastifyReply> {
  const uploadId = uploadIdOf(call)
  uploadOf(context, call, uploadId)
  if (context.completingUploads.has(uploadId)) throw completing(uploadId)
  context.index.deleteUpload(uploadId)
  await context.staging.removeUpload(uploadId)
  return call.reply.code(204).send()
}

/** `GET /<bucket>/<key>?uploadId=ID` */
export function listParts(context: S3Context, call: ObjectCall): FastifyReply {
  const { bucket, key, reply } = call
  const uploadId = uploadIdOf(call)
  const upload = context.index.getUpload(uploadId)
  if (upload === undefined) throw noSuchUpload(uploadId)
  return reply.type('application/xml').send(
    xmlDocument('ListPartsResult', {
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      IsTruncated: false,
      Part: context.index
        .listParts(uploadId)
        .map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.md5}"`, Size: p.size })),
    }),
  )
}

/** `POST /<bucket>/<key>?uploadId=ID`: the listed parts, in order, become one object (one Cairn file). */
export async function completeMultipartUpload(context: S3Context, call: ObjectCall): Promise<FastifyReply> {
  const { index, staging, completingUploads, init } = context
  const { request, reply, bucket, key, signal } = call
  const uploadId = uploadIdOf(call)
  const upload = uploadOf(context, call, uploadId)
  if (completingUploads.has(uploadId)) throw completing(uploadId)
  requireRoom(context, bucket, key)
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
        {
          PartNumber: String(partNumber),
        },
      )
    }
    if (part.size > 0) chosen.push(part)
    md5s.push(Buffer.from(part.md5, 'hex'))
    size += part.size
  }
  if (size > init.maxUploadBytes) throw entityTooLarge()
  const etag = `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${listed.length}"`
  // One Cairn file (one deal) for the whole object. When the put fails, the upload stays open for a retry.
  completingUploads.add(uploadId)
  try {
    const parts: ObjectPart[] = []
    if (size > 0) {
      const part = await putFile(
        context,
        partsInOrder(context, uploadId, chosen, signal),
        key,
        upload.contentType,
        signal,
      )
      if (part.size !== size) {
        throw new CorruptDataError(`the file service stored ${part.size} bytes of a ${size}-byte multipart object`)
      }
      parts.push(part)
    }
    const object = {
      bucket,
      key,
      size,
      etag,
      contentType: upload.contentType,
      metadata: upload.metadata,
      parts,
      lastModified: Date.now(),
    }
    changeObject(context, bucket, key, () => index.completeUpload(uploadId, object))
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
  context: S3Context,
  uploadId: string,
  parts: UploadedPart[],
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    if (part.staged !== undefined) {
      yield* context.staging.read(
        uploadId,
        [{ partNumber: part.partNumber, staged: part.staged, size: part.size, md5: part.md5 }],
        { signal },
      )
    } else if (part.capability !== undefined) {
      yield* readParts(context.files, [{ capability: part.capability, size: part.size }], 0, part.size, { signal })
    } else {
      throw new CorruptDataError(`part ${part.partNumber} has no bytes recorded: upload it again`)
    }
  }
}
