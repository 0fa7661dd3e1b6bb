/**
 * S3 operations on the service and on buckets: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, DeleteObjects,
 * GetBucketLocation, GetBucketVersioning, ListMultipartUploads and ListObjects (v1 and v2).
 */
import type { FastifyReply } from 'fastify'
import { S3_MAX_KEYS } from '../constants.ts'
import { isoDate, parseDeleteObjects, xmlDocument } from '../s3-xml.ts'
import { changeObject, type S3Context } from './s3-context.ts'
import { S3Error } from './s3-error.ts'
import { type BucketCall, readSmallBody } from './s3-request.ts'

function validBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name)
}

/** `GET /`: every bucket. */
export function listBuckets(context: S3Context, { reply }: { reply: FastifyReply }): FastifyReply {
  const buckets = context.index.listBuckets()
  return reply.type('application/xml').send(
    xmlDocument('ListAllMyBucketsResult', {
      Owner: { ID: context.init.accessKeyId, DisplayName: 'cairn' },
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: isoDate(b.createdAt) })) },
    }),
  )
}

/** `PUT /<bucket>` */
export async function createBucket(context: S3Context, { bucket, request, reply }: BucketCall): Promise<FastifyReply> {
  if (!validBucketName(bucket))
    throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', { BucketName: bucket })
  await readSmallBody(request.raw)
  if (!context.index.createBucket(bucket)) {
    throw new S3Error(
      'BucketAlreadyOwnedByYou',
      409,
      'Your previous request to create the named bucket succeeded and you already own it.',
      {
        BucketName: bucket,
      },
    )
  }
  context.catalog?.recordBucket('create', bucket)
  return reply.header('location', `/${bucket}`).send()
}

/** `HEAD /<bucket>` */
export function headBucket(context: S3Context, { reply }: BucketCall): FastifyReply {
  return reply.header('x-amz-bucket-region', context.init.region).send()
}

/** `DELETE /<bucket>` (only an empty one). */
export function deleteBucket(context: S3Context, { bucket, reply }: BucketCall): FastifyReply {
  if (!context.index.bucketIsEmpty(bucket)) {
    throw new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty', {
      BucketName: bucket,
    })
  }
  context.index.deleteBucket(bucket)
  context.catalog?.recordBucket('delete', bucket)
  return reply.code(204).send()
}

/** `POST /<bucket>?delete` */
export async function deleteObjects(context: S3Context, { bucket, request, reply }: BucketCall): Promise<FastifyReply> {
  const parsed = parseDeleteObjects(await readSmallBody(request.raw))
  if (parsed === undefined) throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed.')
  for (const k of parsed.keys) changeObject(context, bucket, k, () => context.index.deleteObject(bucket, k))
  return reply
    .type('application/xml')
    .send(xmlDocument('DeleteResult', { Deleted: parsed.quiet ? undefined : parsed.keys.map((k) => ({ Key: k })) }))
}

/** `GET /<bucket>?location` */
export function getBucketLocation(context: S3Context, { reply }: BucketCall): FastifyReply {
  const { region } = context.init
  return reply
    .type('application/xml')
    .send(
      xmlDocument('LocationConstraint', {}).replace(
        '</LocationConstraint>',
        `${region === 'us-east-1' ? '' : region}</LocationConstraint>`,
      ),
    )
}

/** `GET /<bucket>?versioning`: never enabled. */
export function getBucketVersioning(_context: S3Context, { reply }: BucketCall): FastifyReply {
  return reply.type('application/xml').send(xmlDocument('VersioningConfiguration', {}))
}

/** `GET /<bucket>?uploads` */
export function listMultipartUploads(context: S3Context, { bucket, reply }: BucketCall): FastifyReply {
  const uploads = context.index.listUploads(bucket)
  return reply.type('application/xml').send(
    xmlDocument('ListMultipartUploadsResult', {
      Bucket: bucket,
      MaxUploads: 1000,
      IsTruncated: false,
      Upload: uploads.map((u) => ({ Key: u.key, UploadId: u.uploadId, Initiated: isoDate(u.createdAt) })),
    }),
  )
}

/** Bucket sub-resources (`GET /<bucket>?acl`, ...) Cairn does not implement, in the order they are checked. */
export const UNSUPPORTED_BUCKET_QUERIES = [
  'acl',
  'policy',
  'cors',
  'lifecycle',
  'tagging',
  'website',
  'encryption',
  'object-lock',
] as const

/** The handler answering NotImplemented for `GET /<bucket>?<subresource>`. */
export function notImplemented(subresource: string): () => never {
  return () => {
    throw new S3Error('NotImplemented', 501, `Cairn's S3 API does not implement ?${subresource}.`)
  }
}

/** `GET /<bucket>`: ListObjects, or ListObjectsV2 with `list-type=2`. */
export function listObjects(context: S3Context, { bucket, query, reply }: BucketCall): FastifyReply {
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
  const page = context.index.listObjects(bucket, {
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
          page.truncated && page.last !== undefined ? Buffer.from(page.last, 'utf8').toString('base64url') : undefined,
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
