/**
 * What every S3 operation gets from a request: the verified SigV4 signature, the bucket, key and query it targets,
 * and small readers of headers and bodies.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { S3_MAX_CLOCK_SKEW_MS, S3_MAX_PRESIGN_SECONDS } from '../constants.ts'
import { parseQuery, type SigV4Result, verifySigV4 } from '../sigv4.ts'
import { S3Error, SIGV4_STATUS } from './s3-error.ts'

/** A verified SigV4 signature: how to check the body (payload hash) and verify aws-chunked chunk signatures. */
export type S3Signature = Extract<SigV4Result, { ok: true }>

/** A request to the service (ListBuckets). */
export interface ServiceCall {
  request: FastifyRequest
  reply: FastifyReply
  query: Map<string, string>
  signature: S3Signature
  /** Aborted when the client goes away before the answer is sent. */
  signal: AbortSignal
}

/** A request to a bucket (`/<bucket>`). */
export interface BucketCall extends ServiceCall {
  bucket: string
}

/** A request to an object (`/<bucket>/<key>`). */
export interface ObjectCall extends BucketCall {
  key: string
}

export interface ParsedTarget {
  bucket?: string
  key?: string
  query: Map<string, string>
}

/** A fresh `x-amz-request-id`. */
export function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase()
}

/** Verifies the request's SigV4 signature against the gateway's one access key; throws the S3 error when it fails. */
export function verifyRequest(
  request: FastifyRequest,
  keys: { accessKeyId: string; secretAccessKey: string; region: string },
): S3Signature {
  const verified = verifySigV4(
    { method: request.method, url: request.raw.url ?? '/', headers: request.headers },
    {
      secretFor: (id) => (id === keys.accessKeyId ? keys.secretAccessKey : undefined),
      region: keys.region,
      maxSkewMs: S3_MAX_CLOCK_SKEW_MS,
      maxPresignSeconds: S3_MAX_PRESIGN_SECONDS,
    },
  )
  if (!verified.ok) {
    const extra =
      verified.headersNotSigned === undefined ? {} : { HeadersNotSigned: verified.headersNotSigned.join(', ') }
    throw new S3Error(verified.code, SIGV4_STATUS[verified.code] ?? 403, verified.message, extra)
  }
  return verified
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.")
  }
}

/** The bucket, key and query of a path-style URL (`/<bucket>/<key>?<query>`). */
export function parseTarget(url: string): ParsedTarget {
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

/** The bucket and key an `x-amz-copy-source` header names (`[/]bucket/key[?versionId=...]`). */
export function parseCopySource(copySource: string): { bucket: string; key: string } {
  const sourcePath = safeDecode(copySource.split('?')[0] ?? '').replace(/^\/+/, '')
  const slash = sourcePath.indexOf('/')
  if (slash === -1)
    throw new S3Error(
      'InvalidArgument',
      400,
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
    )
  return { bucket: sourcePath.slice(0, slash), key: sourcePath.slice(slash + 1) }
}

/** The first value of header `name`, when present. */
export function headerText(headers: IncomingMessage['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** The object's user metadata: `x-amz-meta-*` headers, without the prefix. */
export function userMetadata(headers: IncomingMessage['headers']): Record<string, string> {
  const metadata: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value
    }
  }
  return metadata
}

/** A small request body (an XML document) as text; MaxMessageLengthExceeded past `limit` bytes. */
export async function readSmallBody(source: AsyncIterable<Uint8Array>, limit = 1024 * 1024): Promise<string> {
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of source) {
    size += chunk.byteLength
    if (size > limit) throw new S3Error('MaxMessageLengthExceeded', 400, 'Your request was too big.')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
