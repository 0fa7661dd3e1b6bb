/** What the S3 operations share: the gateway's parts, the S3 options and the uploads being completed. */
import type { BucketCatalogSync } from '../bucket-catalog-sync.ts'
import type { GatewayIndex, ObjectPart } from '../gateway-database.ts'
import type { FileService } from '../interface.ts'
import type { CairnMetrics } from '../metrics.ts'
import type { MultipartStaging } from '../multipart-staging.ts'
import { noSuchBucket, S3Error } from './s3-error.ts'

export interface S3Components {
  files: FileService
  index: GatewayIndex
  metrics: CairnMetrics
  /** Where UploadPart stages parts until CompleteMultipartUpload. */
  staging: MultipartStaging
  /** Keeps buckets and objects in names of the wallet (gateways of one key share them); absent: the index alone. */
  catalog?: BucketCatalogSync
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

/** One S3 endpoint's state, passed to every operation. */
export interface S3Context extends S3Components {
  init: S3Init
  /** Uploads whose CompleteMultipartUpload is streaming their parts: their parts must stay as they are. */
  completingUploads: Set<string>
}

/**
 * Runs `change` (which writes, replaces or deletes the object at `bucket`/`key` in the index), then removes the Cairn
 * files of the object it replaced that no object holds any more: their deals end (the escrow no node can still earn
 * comes back) and they leave the user's record. In the background: an S3 call does not wait for the chain, and a
 * removal that fails is a warning on the gateway's log (the deal then runs to its end).
 */
export function changeObject<T>(context: S3Context, bucket: string, key: string, change: () => T): T {
  const before = context.index.getObject(bucket, key)
  const result = change()
  const { files, index, catalog } = context
  if (catalog !== undefined) {
    // The catalog keeps the replaced object as an older version: its files' deals end when it leaves the catalog.
    const after = index.getObject(bucket, key)
    if (before !== undefined || after !== undefined) catalog.recordObject(bucket, key, after)
    return result
  }
  if (before === undefined || files.remove === undefined) return result
  const remove = files.remove.bind(files)
  for (const { capability } of before.parts) {
    if (index.isReferenced(capability)) continue
    remove(capability).catch((error: unknown) => {
      process.stderr.write(`warning: could not end the deals of a deleted S3 object's file: ${String(error)}\n`)
    })
  }
  return result
}

/** Throws when `bucket`'s catalog is full and `key` would be a new key of it. */
export function requireRoom(context: S3Context, bucket: string, key: string): void {
  if (context.catalog === undefined || context.catalog.hasRoom(bucket, key)) return
  throw new S3Error(
    'TooManyKeys',
    400,
    `Bucket ${bucket} holds ${context.catalog.maxKeys} keys, the most a Cairn bucket catalog keeps; delete objects or use another bucket.`,
    { BucketName: bucket, Key: key },
  )
}

/** Throws NoSuchBucket unless `bucket` exists. */
export function requireBucket(context: S3Context, bucket: string): void {
  if (!context.index.hasBucket(bucket)) throw noSuchBucket(bucket)
}

/** Streams `source` into one new Cairn file named `name`, with the S3 redundancy. */
export async function putFile(
  context: S3Context,
  source: AsyncIterable<Uint8Array>,
  name: string,
  type: string,
  signal: AbortSignal,
): Promise<ObjectPart> {
  const { files, metrics, init } = context
  const endTimer = metrics.putSeconds.startTimer()
  const putInit: { name: string; type: string; k?: number; n?: number } = { name, type }
  if (init.k !== undefined) putInit.k = init.k
  if (init.n !== undefined) putInit.n = init.n
  const result = await files.put(source, putInit, { signal })
  endTimer()
  return { capability: result.capability, size: result.size }
}
