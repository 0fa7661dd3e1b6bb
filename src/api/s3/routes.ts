/**
 * The S3 route table: which operation answers a request, by what it targets (the service, a bucket or an object),
 * its method and the query parameter that names a sub-resource. Rows are tried in order; the first match wins.
 */
import type { FastifyReply } from 'fastify'
import {
  createBucket,
  deleteBucket,
  deleteObjects,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
  listMultipartUploads,
  listObjects,
  notImplemented,
  UNSUPPORTED_BUCKET_QUERIES,
} from './bucket-operations.ts'
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listParts,
  uploadPart,
} from './multipart-operations.ts'
import { deleteObject, getObject, putObject } from './object-operations.ts'
import type { S3Context } from './s3-context.ts'
import type { BucketCall, ObjectCall, ServiceCall } from './s3-request.ts'
import { listObjectVersions } from './version-listing.ts'

export type S3Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE'

export interface S3Route<Call> {
  method: S3Method
  /** A query parameter the request must carry (`?uploads`, `?uploadId=...`); any query when absent. */
  query?: string
  /** The bucket need not exist (CreateBucket); every other bucket or object route answers NoSuchBucket first. */
  anyBucket?: true
  handle: (context: S3Context, call: Call) => FastifyReply | Promise<FastifyReply>
}

export const SERVICE_ROUTES: Array<S3Route<ServiceCall>> = [{ method: 'GET', handle: listBuckets }]

export const BUCKET_ROUTES: Array<S3Route<BucketCall>> = [
  { method: 'PUT', anyBucket: true, handle: createBucket },
  { method: 'HEAD', handle: headBucket },
  { method: 'DELETE', handle: deleteBucket },
  { method: 'POST', query: 'delete', handle: deleteObjects },
  { method: 'GET', query: 'location', handle: getBucketLocation },
  { method: 'GET', query: 'versioning', handle: getBucketVersioning },
  { method: 'GET', query: 'uploads', handle: listMultipartUploads },
  { method: 'GET', query: 'versions', handle: listObjectVersions },
  ...UNSUPPORTED_BUCKET_QUERIES.map((query) => ({ method: 'GET' as const, query, handle: notImplemented(query) })),
  { method: 'GET', handle: listObjects },
]

export const OBJECT_ROUTES: Array<S3Route<ObjectCall>> = [
  { method: 'PUT', query: 'uploadId', handle: uploadPart },
  { method: 'PUT', handle: putObject },
  { method: 'POST', query: 'uploads', handle: createMultipartUpload },
  { method: 'POST', query: 'uploadId', handle: completeMultipartUpload },
  { method: 'DELETE', query: 'uploadId', handle: abortMultipartUpload },
  { method: 'DELETE', handle: deleteObject },
  { method: 'GET', query: 'uploadId', handle: listParts },
  { method: 'GET', handle: getObject },
  { method: 'HEAD', handle: getObject },
]

/** The first route of `routes` for `method` and `query`; undefined: MethodNotAllowed. */
export function matchRoute<Call>(
  routes: Array<S3Route<Call>>,
  method: string,
  query: Map<string, string>,
): S3Route<Call> | undefined {
  return routes.find((route) => route.method === method && (route.query === undefined || query.has(route.query)))
}
