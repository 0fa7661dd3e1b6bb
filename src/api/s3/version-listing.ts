/**
 * ListObjectVersions (`GET /<bucket>?versions`): with the catalog on (buckets kept through names), every version and
 * delete marker the bucket's catalog holds, newest first per key; without it, each object as its only version
 * (VersionId `null`, as S3 answers for a bucket that never had versioning on).
 */
import type { FastifyReply } from 'fastify'
import type { CatalogVersion } from '../bucket-catalog.ts'
import { S3_MAX_KEYS } from '../constants.ts'
import { isoDate, xmlDocument } from '../s3-xml.ts'
import type { S3Context } from './s3-context.ts'
import { S3Error } from './s3-error.ts'
import type { BucketCall } from './s3-request.ts'

function keyVersions(context: S3Context, bucket: string, prefix: string): Array<[string, CatalogVersion[]]> {
  if (context.catalog !== undefined) return context.catalog.versions(bucket).filter(([key]) => key.startsWith(prefix))
  const page = context.index.listObjects(bucket, { prefix, maxKeys: Number.MAX_SAFE_INTEGER })
  return page.objects.map((o) => {
    const { size, etag, contentType, metadata, parts } = o
    return [o.key, [{ id: 'null', time: o.lastModified, size, etag, contentType, metadata, parts }]]
  })
}

/** `GET /<bucket>?versions` (prefix, key-marker, max-keys; keys are never split across pages). */
export function listObjectVersions(context: S3Context, { bucket, query, reply }: BucketCall): FastifyReply {
  const prefix = query.get('prefix') ?? ''
  const marker = query.get('key-marker') ?? ''
  const maxKeysText = query.get('max-keys')
  const maxKeys = Math.min(S3_MAX_KEYS, maxKeysText === undefined ? S3_MAX_KEYS : Number(maxKeysText))
  if (!Number.isInteger(maxKeys) || maxKeys < 0)
    throw new S3Error('InvalidArgument', 400, 'max-keys must be a non-negative integer')
  const versions: object[] = []
  const markers: object[] = []
  let count = 0
  let truncated = false
  let lastKey: string | undefined
  for (const [key, list] of keyVersions(context, bucket, prefix)) {
    if (marker !== '' && key <= marker) continue
    if (count > 0 && count + list.length > maxKeys) {
      truncated = true
      break
    }
    list.toReversed().forEach((v, i) => {
      const common = { Key: key, VersionId: v.id, IsLatest: i === 0, LastModified: isoDate(v.time) }
      if (v.deleted === true) markers.push(common)
      else versions.push({ ...common, ETag: v.etag, Size: v.size, StorageClass: 'STANDARD' })
    })
    count += list.length
    lastKey = key
  }
  return reply.type('application/xml').send(
    xmlDocument('ListVersionsResult', {
      Name: bucket,
      Prefix: prefix,
      KeyMarker: marker,
      MaxKeys: maxKeys,
      IsTruncated: truncated,
      NextKeyMarker: truncated ? lastKey : undefined,
      Version: versions as never,
      DeleteMarker: markers as never,
    }),
  )
}
