/**
 * Maps a `CairnError` code to an HTTP status, and back to an error class on the client side.
 * Browser-safe.
 */
import {
  AbortedError,
  CairnError,
  ChainError,
  CorruptDataError,
  DecryptionError,
  InsufficientFundsError,
  InvalidArgumentError,
  InvalidCapabilityError,
  InvalidManifestError,
  NotEnoughNodesError,
  NotEnoughPiecesError,
  NotFoundError,
  ProtocolError,
  QuotaExceededError,
  RateLimitedError,
  TimeoutError,
  TooLargeError,
  UnauthorizedError,
  UnreachableError,
  UnsupportedVersionError,
} from '../errors.ts'
import type { ApiErrorBody } from './interface.ts'

type ErrorClass = typeof CairnError

const BY_CODE: ReadonlyArray<[ErrorClass, number]> = [
  [InvalidArgumentError, 400],
  [InvalidCapabilityError, 400],
  [InvalidManifestError, 422],
  [UnsupportedVersionError, 422],
  [CorruptDataError, 502],
  [DecryptionError, 422],
  [NotEnoughPiecesError, 503],
  [NotEnoughNodesError, 503],
  [NotFoundError, 404],
  [QuotaExceededError, 507],
  [ProtocolError, 502],
  [UnreachableError, 503],
  [TimeoutError, 504],
  [AbortedError, 499],
  [InsufficientFundsError, 402],
  [ChainError, 502],
  [UnauthorizedError, 401],
  [RateLimitedError, 429],
  [TooLargeError, 413],
]

const STATUS = new Map<string, number>(BY_CODE.map(([cls, status]) => [cls.code, status]))
const CLASSES = new Map<string, ErrorClass>(BY_CODE.map(([cls]) => [cls.code, cls]))

/**
 * HTTP status for an error code; 500 for unknown codes.
 *
 * @example
 * ```ts
 * statusForCode('ERR_NOT_FOUND') // 404
 * ```
 */
export function statusForCode(code: string): number {
  return STATUS.get(code) ?? 500
}

/** The JSON body of an error answer; errors that are not `CairnError`s become `ERR_INTERNAL` with a generic text. */
export function errorBody(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof CairnError) {
    const error: ApiErrorBody['error'] = { code: err.code, message: err.message }
    if (err.details !== undefined) error.details = err.details
    return { status: statusForCode(err.code), body: { error } }
  }
  return { status: 500, body: { error: { code: 'ERR_INTERNAL', message: 'internal error; see the gateway log' } } }
}

/**
 * Rebuilds the error a server answered, with the same class and `code` as on the server.
 *
 * @example
 * ```ts
 * throw errorFromBody(404, await response.json())
 * ```
 */
export function errorFromBody(status: number, body: unknown): CairnError {
  const error = (body as Partial<ApiErrorBody> | undefined)?.error
  const code = typeof error?.code === 'string' ? error.code : undefined
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`
  const details = error?.details
  const options = details === undefined ? { details: { status } } : { details: { ...details, status } }
  const cls = code === undefined ? undefined : CLASSES.get(code)
  if (cls !== undefined) return new cls(message, options)
  const generic = new CairnError(message, options)
  if (code !== undefined) (generic as { code: string }).code = code
  return generic
}
