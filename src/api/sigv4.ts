/**
 * AWS Signature Version 4 verification (header and presigned-query forms, service `s3`), with node:crypto.
 * Spec: AWS "Signature Version 4 signing process" and "Authenticating Requests (AWS Signature Version 4)" for S3.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256'
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
export const STREAMING_SIGNED_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
export const STREAMING_SIGNED_PAYLOAD_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
export const STREAMING_UNSIGNED_PAYLOAD_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** What verification needs from an HTTP request. */
export interface SignedRequest {
  method: string
  /** Raw request target as received: path and query, still percent-encoded. */
  url: string
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>
}

export interface SigV4Credentials {
  accessKeyId: string
  secretAccessKey: string
}

/** Why a request failed verification; `code` is the S3 error code to answer. */
export type SigV4Failure = {
  ok: false
  code:
    | 'AccessDenied'
    | 'InvalidAccessKeyId'
    | 'SignatureDoesNotMatch'
    | 'AuthorizationHeaderMalformed'
    | 'RequestTimeTooSkewed'
    | 'AuthorizationQueryParametersError'
  message: string
  /** Lower-case names of the `x-amz-*` headers the request carried without signing them. */
  headersNotSigned?: string[]
}

/** Message S3 answers (AccessDenied) when a request carries `x-amz-*` headers its signature does not cover. */
export const HEADERS_NOT_SIGNED_MESSAGE = 'There were headers present in the request which were not signed'

export type SigV4Result =
  | {
      ok: true
      accessKeyId: string
      /** `x-amz-content-sha256` (or UNSIGNED-PAYLOAD for presigned URLs): how to check the body. */
      payloadHash: string
      /** Needed to verify aws-chunked chunk signatures. */
      signature: string
      signingKey: Buffer
      amzDate: string
      scope: string
    }
  | SigV4Failure

export interface VerifyInit {
  /** Looks up the secret of an access key; undefined when unknown. */
  secretFor(accessKeyId: string): string | undefined
  /** Region the gateway answers as; requests signed for another are refused. */
  region: string
  now?: number
  maxSkewMs: number
  maxPresignSeconds: number
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ (and '/' when `keepSlash`). */
export function uriEncode(text: string, keepSlash = false): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte)
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

function header(request: SignedRequest, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

/** Splits a raw query string into decoded pairs, in order. */
export function parseQuery(query: string): Array<[string, string]> {
  if (query === '') return []
  return query.split('&').map((pair) => {
    const at = pair.indexOf('=')
    const key = at === -1 ? pair : pair.slice(0, at)
    const value = at === -1 ? '' : pair.slice(at + 1)
    return [safeDecode(key.replace(/\+/g, '%20')), safeDecode(value.replace(/\+/g, '%20'))]
  })
}

function canonicalQuery(pairs: Array<[string, string]>): string {
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
}

function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ')
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** HMAC chain `AWS4<secret>` → date → region → service → `aws4_request`. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest()
  const kRegion = createHmac('sha256', kDate).update(region).digest()
  const kService = createHmac('sha256', kRegion).update(service).digest()
  return createHmac('sha256', kService).update('aws4_request').digest()
}

function hmacHex(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex')
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8')
  const right = Buffer.from(b, 'utf8')
  return left.length === right.length && timingSafeEqual(left, right)
}

/** `20240102T030405Z` → milliseconds since the epoch, NaN when malformed. */
function parseAmzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text)
  if (m === null) return Number.NaN
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
}

function fail(code: SigV4Failure['code'], message: string): SigV4Failure {
  return { ok: false, code, message }
}

/**
 * Verifies a request signed with SigV4 in its `Authorization` header or as a presigned URL.
 *
 * @example
 * ```ts
 * const result = verifySigV4({ method, url: req.url, headers: req.headers }, {
 *   secretFor: (id) => (id === keys.accessKeyId ? keys.secretAccessKey : undefined),
 *   region: 'us-east-1', maxSkewMs: 900_000, maxPresignSeconds: 604_800,
 * })
 * if (!result.ok) answer403(result.code, result.message)
 * ```
 */
export function verifySigV4(request: SignedRequest, init: VerifyInit): SigV4Result {
  const now = init.now ?? Date.now()
  const queryAt = request.url.indexOf('?')
  const rawPath = queryAt === -1 ? request.url : request.url.slice(0, queryAt)
  const pairs = parseQuery(queryAt === -1 ? '' : request.url.slice(queryAt + 1))
  const authorization = header(request, 'authorization')
  const presigned = pairs.some(([k]) => k === 'X-Amz-Algorithm')

  let credential: string
  let signedHeaders: string[]
  let signature: string
  let amzDate: string
  let payloadHash: string
  let queryForSigning = pairs

  if (authorization?.startsWith(`${SIGV4_ALGORITHM} `) === true) {
    const fields = new Map<string, string>()
    for (const part of authorization.slice(SIGV4_ALGORITHM.length + 1).split(',')) {
      const at = part.indexOf('=')
      if (at !== -1) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim())
    }
    const c = fields.get('Credential')
    const h = fields.get('SignedHeaders')
    const s = fields.get('Signature')
    if (c === undefined || h === undefined || s === undefined) {
      return fail(
        'AuthorizationHeaderMalformed',
        'the Authorization header lacks Credential, SignedHeaders or Signature',
      )
    }
    credential = c
    signedHeaders = h.split(';')
    signature = s
    const date = header(request, 'x-amz-date') ?? header(request, 'date')
    if (date === undefined) return fail('AccessDenied', 'the request has no x-amz-date header')
    amzDate = date
    payloadHash = header(request, 'x-amz-content-sha256') ?? EMPTY_SHA256
    if (header(request, 'x-amz-content-sha256') === undefined) {
      return fail('AuthorizationHeaderMalformed', 'S3 requests must carry x-amz-content-sha256')
    }
  } else if (presigned) {
    const q = new Map(pairs)
    if (q.get('X-Amz-Algorithm') !== SIGV4_ALGORITHM) {
      return fail('AuthorizationQueryParametersError', `X-Amz-Algorithm must be ${SIGV4_ALGORITHM}`)
    }
    const c = q.get('X-Amz-Credential')
    const h = q.get('X-Amz-SignedHeaders')
    const s = q.get('X-Amz-Signature')
    const d = q.get('X-Amz-Date')
    const e = Number(q.get('X-Amz-Expires') ?? Number.NaN)
    if (c === undefined || h === undefined || s === undefined || d === undefined || !Number.isInteger(e)) {
      return fail(
        'AuthorizationQueryParametersError',
        'a presigned URL needs X-Amz-Credential, -Date, -Expires, -SignedHeaders and -Signature',
      )
    }
    if (e < 1 || e > init.maxPresignSeconds) {
      return fail('AuthorizationQueryParametersError', `X-Amz-Expires must be between 1 and ${init.maxPresignSeconds}`)
    }
    const signedAt = parseAmzDate(d)
    if (Number.isNaN(signedAt)) return fail('AuthorizationQueryParametersError', 'X-Amz-Date is malformed')
    if (now > signedAt + e * 1000) return fail('AccessDenied', 'Request has expired')
    // Without this, a URL dated in the future would live past the 7-day cap (its expiry counts from its date).
    if (signedAt - now > init.maxSkewMs) {
      return fail(
        'AccessDenied',
        `Request is not valid yet: X-Amz-Date is more than ${Math.round(init.maxSkewMs / 60_000)} minutes in the future; sign the URL with the current time`,
      )
    }
    credential = c
    signedHeaders = h.split(';')
    signature = s
    amzDate = d
    payloadHash = pairs.find(([k]) => k === 'X-Amz-Content-Sha256')?.[1] ?? UNSIGNED_PAYLOAD
    queryForSigning = pairs.filter(([k]) => k !== 'X-Amz-Signature')
  } else {
    return fail('AccessDenied', 'the request is not signed (AWS Signature Version 4 is required)')
  }

  const scopeParts = credential.split('/')
  if (scopeParts.length !== 5 || scopeParts[4] !== 'aws4_request') {
    return fail('AuthorizationHeaderMalformed', 'Credential must be <key>/<date>/<region>/<service>/aws4_request')
  }
  const [accessKeyId = '', date = '', region = '', service = ''] = scopeParts
  const secret = init.secretFor(accessKeyId)
  if (secret === undefined) {
    return fail('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.')
  }
  if (region !== init.region) {
    return fail('AuthorizationHeaderMalformed', `the region '${region}' is wrong; expecting '${init.region}'`)
  }
  const signedAt = parseAmzDate(amzDate)
  if (Number.isNaN(signedAt) || amzDate.slice(0, 8) !== date) {
    return fail('AuthorizationHeaderMalformed', 'x-amz-date is malformed or does not match the credential date')
  }
  if (!presigned && Math.abs(now - signedAt) > init.maxSkewMs) {
    return fail('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.')
  }
  if (!signedHeaders.includes('host')) return fail('AccessDenied', 'the host header must be signed')

  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${canonicalHeaderValue(header(request, name) ?? '')}\n`)
    .join('')
  const canonicalPath = uriEncode(safeDecode(rawPath), true)
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath === '' ? '/' : canonicalPath,
    canonicalQuery(queryForSigning),
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n')
  const scope = `${date}/${region}/${service}/aws4_request`
  const stringToSign = [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n')
  const key = signingKey(secret, date, region, service)
  const expected = hmacHex(key, stringToSign)
  if (!sameHex(expected, signature.toLowerCase())) {
    return fail(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    )
  }
  // Every x-amz-* header the request carries must be signed (as AWS requires): the gateway acts on them
  // (x-amz-copy-source, x-amz-metadata-directive, x-amz-meta-*, x-amz-decoded-content-length, ...), and an unsigned
  // one could be added by whoever holds a presigned URL or replays a captured request.
  const unsigned = Object.keys(request.headers)
    .map((name) => name.toLowerCase())
    .filter((name) => name.startsWith('x-amz-') && !signedHeaders.includes(name))
  if (unsigned.length > 0) return { ...fail('AccessDenied', HEADERS_NOT_SIGNED_MESSAGE), headersNotSigned: unsigned }
  return { ok: true, accessKeyId, payloadHash, signature: expected, signingKey: key, amzDate, scope }
}

/** Signature of one aws-chunked chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), chained from the previous one. */
export function chunkSignature(
  key: Buffer,
  amzDate: string,
  scope: string,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  const stringToSign = [
    'AWS4-HMAC-SHA256-PAYLOAD',
    amzDate,
    scope,
    previousSignature,
    EMPTY_SHA256,
    chunkSha256Hex,
  ].join('\n')
  return hmacHex(key, stringToSign)
}

/** Signature of the trailer block of a signed aws-chunked body. */
export function trailerSignature(
  key: Buffer,
  amzDate: string,
  scope: string,
  previousSignature: string,
  trailerText: string,
): string {
  const stringToSign = ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, previousSignature, sha256Hex(trailerText)].join(
    '\n',
  )
  return hmacHex(key, stringToSign)
}

export { sameHex as signaturesEqual }
