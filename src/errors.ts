/**
 * Every error Cairn raises on purpose is a `CairnError` with a stable `code`. The HTTP API maps `code` to a status,
 * the CLI maps it to one clear line and an exit code. `message` names the problem and, where there is one, the fix.
 */

export interface CairnErrorOptions {
  cause?: unknown
  /** Extra machine-readable facts (e.g. `{ slot: 3, segment: 7 }`); shown by `--json` output and the API. */
  details?: Record<string, unknown>
}

export class CairnError extends Error {
  static readonly code: string = 'ERR_CAIRN'
  readonly code: string
  readonly details: Record<string, unknown> | undefined

  constructor(message: string, options: CairnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = (new.target as typeof CairnError).code
    this.details = options.details
  }
}

/** A caller passed something malformed: an option out of range, a bad flag, a malformed ID. */
export class InvalidArgumentError extends CairnError {
  static override readonly code = 'ERR_INVALID_ARGUMENT'
}

/** A capability string (`cairn:<cid>#<key>`) could not be parsed. */
export class InvalidCapabilityError extends CairnError {
  static override readonly code = 'ERR_INVALID_CAPABILITY'
}

/** A manifest is truncated, malformed or does not match its CID. */
export class InvalidManifestError extends CairnError {
  static override readonly code = 'ERR_INVALID_MANIFEST'
}

/** Data written by a newer (or unknown) format version. */
export class UnsupportedVersionError extends CairnError {
  static override readonly code = 'ERR_UNSUPPORTED_VERSION'
}

/** Bytes whose hash does not match their CID, or a Merkle proof that does not verify. */
export class CorruptDataError extends CairnError {
  static override readonly code = 'ERR_CORRUPT_DATA'
}

/** Authenticated decryption failed: the key is wrong, or the ciphertext was altered, reordered or swapped. */
export class DecryptionError extends CairnError {
  static override readonly code = 'ERR_DECRYPTION_FAILED'
}

/** Fewer than k pieces of a segment could be found or verified. */
export class NotEnoughPiecesError extends CairnError {
  static override readonly code = 'ERR_NOT_ENOUGH_PIECES'
}

/** Fewer distinct live nodes are known than the redundancy asks for. */
export class NotEnoughNodesError extends CairnError {
  static override readonly code = 'ERR_NOT_ENOUGH_NODES'
}

/** A piece, file, deal or node that does not exist (here). */
export class NotFoundError extends CairnError {
  static override readonly code = 'ERR_NOT_FOUND'
}

/** A store is full: the write would go past its configured quota. */
export class QuotaExceededError extends CairnError {
  static override readonly code = 'ERR_QUOTA_EXCEEDED'
}

/** A wire message broke the protocol: oversize frame, undecodable bytes, unexpected message. */
export class ProtocolError extends CairnError {
  static override readonly code = 'ERR_PROTOCOL'
}

/** A peer, node or RPC endpoint could not be reached. */
export class UnreachableError extends CairnError {
  static override readonly code = 'ERR_UNREACHABLE'
}

/** An operation took longer than its deadline. */
export class TimeoutError extends CairnError {
  static override readonly code = 'ERR_TIMEOUT'
}

/** An operation was cancelled through its AbortSignal. */
export class AbortedError extends CairnError {
  static override readonly code = 'ERR_ABORTED'
}

/** Not enough tokens or allowance for a payment or stake. */
export class InsufficientFundsError extends CairnError {
  static override readonly code = 'ERR_INSUFFICIENT_FUNDS'
}

/** A contract call reverted for a reason other than funds; `message` carries the decoded reason. */
export class ChainError extends CairnError {
  static override readonly code = 'ERR_CHAIN'
}

/** Credentials missing or wrong (API bearer token, S3 signature). */
export class UnauthorizedError extends CairnError {
  static override readonly code = 'ERR_UNAUTHORIZED'
}

/** Throws `AbortedError` when `signal` is aborted; call at the top of loops that may run long. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new AbortedError('the operation was cancelled', { cause: signal.reason })
  }
}

/** Too many requests from one client in the current window; retry after `details.retryAfterSeconds`. */
export class RateLimitedError extends CairnError {
  static override readonly code = 'ERR_RATE_LIMITED'
}

/** A request or upload is larger than the configured limit. */
export class TooLargeError extends CairnError {
  static override readonly code = 'ERR_TOO_LARGE'
}
