/** S3 error answers: the code, status and message S3 clients expect, and how Cairn's own errors map to them. */
import { CairnError } from '../../errors.ts'
import { AwsChunkedError } from '../aws-chunked.ts'
import { errorBody } from '../error-status.ts'

/** An S3 error answer: its code, status and message, as S3 clients expect them. */
export class S3Error extends Error {
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

export const noSuchBucket = (bucket: string): S3Error =>
  new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket })
export const noSuchKey = (bucket: string, key: string): S3Error =>
  new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { BucketName: bucket, Key: key })
export const noSuchUpload = (uploadId: string): S3Error =>
  new S3Error(
    'NoSuchUpload',
    404,
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  )
/** The upload's CompleteMultipartUpload is under way: its parts must stay as they are. */
export const completing = (uploadId: string): S3Error =>
  new S3Error(
    'OperationAborted',
    409,
    'A conflicting conditional operation is currently in progress against this resource. Please try again.',
    { UploadId: uploadId },
  )
export const methodNotAllowed = (): S3Error =>
  new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.')
export const entityTooLarge = (): S3Error =>
  new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed object size.')

/** Status of each SigV4 verification failure code. */
export const SIGV4_STATUS: Record<string, number> = {
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

/**
 * The S3 error to answer for anything a handler threw; undefined for an unexpected error (the caller logs it and
 * answers InternalError).
 */
export function toS3Error(err: unknown): S3Error | undefined {
  if (err instanceof S3Error) return err
  if (err instanceof AwsChunkedError)
    return new S3Error(err.s3Code, err.s3Code === 'SignatureDoesNotMatch' ? 403 : 400, err.message)
  if (err instanceof CairnError) return fromCairnError(err)
  return undefined
}
