/**
 * The HTTP JSON-RPC transport every Cairn chain client uses: viem's `http` without its own retries, wrapped in a
 * bounded exponential backoff for what public endpoints answer when a client asks too much (HTTP 429, JSON-RPC
 * -32005 "limit exceeded", "too many requests", 5xx and dropped connections; an endpoint that cannot be reached at all fails at once), and with every filter method
 * (eth_newFilter and its kin) refused before it leaves the process: public endpoints do not keep filters, so Cairn
 * polls logs in block windows instead (log-reader.ts). A log query an endpoint refuses for its block range is not
 * retried here: the log reader shrinks its window.
 */
import { BaseError, http, type Transport } from 'viem'
import { abortableSleep } from '../storage/index.ts'
import {
  DEFAULT_RPC_BACKOFF_MAX_MS,
  DEFAULT_RPC_BACKOFF_START_MS,
  DEFAULT_RPC_RETRIES,
  FILTER_METHODS,
} from './rpc-limits.ts'

/** How the transport retries (all optional; the defaults suit public endpoints). */
export interface RpcBackoffInit {
  /** Retries after the first try (default DEFAULT_RPC_RETRIES). */
  retries?: number
  /** First wait in ms, doubled each retry (default DEFAULT_RPC_BACKOFF_START_MS). */
  backoffStartMs?: number
  /** Longest single wait in ms (default DEFAULT_RPC_BACKOFF_MAX_MS). */
  backoffMaxMs?: number
  /** Send concurrent requests in one HTTP batch. */
  batch?: boolean
}

/** The endpoint kept refusing (rate limit or outage) through every retry. */
export class RpcGaveUpError extends BaseError {
  constructor(message: string, details: string) {
    super(message, { details, name: 'RpcGaveUpError' })
  }
}

/** A method this client never sends (a filter: public endpoints refuse or drop them). */
export class RpcMethodRefusedError extends BaseError {
  constructor(method: string) {
    super(
      `${method} is not used by Cairn: public RPC endpoints do not keep filters; logs are polled in block windows`,
      {
        name: 'RpcMethodRefusedError',
      },
    )
  }
}

/** All the text of an error and its causes (viem puts the endpoint's own message in `details`). */
export function errorText(error: unknown): string {
  const parts: string[] = []
  let e: unknown = error
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const record = e as { message?: unknown; details?: unknown; shortMessage?: unknown; cause?: unknown }
    for (const part of [record.shortMessage, record.message, record.details]) {
      if (typeof part === 'string') parts.push(part)
    }
    e = record.cause
  }
  return parts.join(' | ')
}

function errorCodes(error: unknown): { status?: number; codes: number[] } {
  const codes: number[] = []
  let status: number | undefined
  let e: unknown = error
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const record = e as { code?: unknown; status?: unknown; cause?: unknown }
    if (typeof record.code === 'number') codes.push(record.code)
    if (typeof record.status === 'number') status ??= record.status
    e = record.cause
  }
  return status === undefined ? { codes } : { status, codes }
}

const RANGE_PATTERN =
  /block range|range (is )?too (large|big|wide)|query returned more than|more than \d+ (results|logs|blocks)|exceed(s|ed)? (the )?(max(imum)?|allowed) (block )?range|too many (blocks|results|logs)|limited to \d+ blocks?|log response size|range limit|max(imum)? block distance/i
const RATE_PATTERN =
  /too many requests|rate[- ]?limit|limit exceeded|request limit|exceeded .*(capacity|quota|compute units)|throttl|daily request count/i

/**
 * True when an endpoint refused a log query for its block range or result count (Alchemy, Infura, QuickNode and
 * geth-style wordings): the caller reads a smaller window.
 */
export function isBlockRangeError(error: unknown): boolean {
  return RANGE_PATTERN.test(errorText(error))
}

/** True when an endpoint refused for the request rate (HTTP 429, JSON-RPC 429/-32005/-32007 or its wording). */
export function isRateLimitError(error: unknown): boolean {
  if (isBlockRangeError(error)) return false
  const { status, codes } = errorCodes(error)
  if (status === 429) return true
  if (codes.some((code) => code === 429 || code === -32005 || code === -32007 || code === -32090)) return true
  return RATE_PATTERN.test(errorText(error))
}

/** A failure worth another try: a rate limit, a 5xx, a dropped connection or a timeout (never a revert). */
function isTransient(error: unknown): boolean {
  if (isRateLimitError(error)) return true
  const { status, codes } = errorCodes(error)
  if (status !== undefined && status >= 500) return true
  if (codes.includes(-32603) && /header not found|internal error|timeout/i.test(errorText(error))) return true
  // A connection dropped mid-request or a timeout is an overloaded endpoint; one that cannot be reached at all (refused,
  // unknown host, bad port) is down or a wrong URL: reported at once (UnreachableError), a long-running caller tries
  // again on its next round.
  const name = (error as { name?: string }).name
  return name === 'TimeoutError' || /ECONNRESET|socket hang up|other side closed/i.test(errorText(error))
}

/** The wait a 429 asked for (Retry-After in seconds), if any. */
function retryAfterMs(error: unknown): number | undefined {
  let e: unknown = error
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const headers = (e as { headers?: { get?: (name: string) => string | null } }).headers
    const value = headers?.get?.('retry-after')
    if (value !== undefined && value !== null && /^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * viem's HTTP transport with Cairn's backoff: a request refused for its rate (or failing transiently) is tried again
 * after 250 ms, 500 ms, 1 s ... (at most `backoffMaxMs` each, a Retry-After header honoured, a little jitter), at most
 * `retries` times; then it fails with an `RpcGaveUpError` naming the endpoint and what to do.
 *
 * @example
 * ```ts
 * const client = createPublicClient({ transport: backoffHttp('https://rpc.example.org', { retries: 4 }) })
 * ```
 */
export function backoffHttp(url: string, init: RpcBackoffInit = {}): Transport {
  const inner = http(url, { retryCount: 0, batch: init.batch ?? false })
  const retries = init.retries ?? DEFAULT_RPC_RETRIES
  const startMs = init.backoffStartMs ?? DEFAULT_RPC_BACKOFF_START_MS
  const maxMs = init.backoffMaxMs ?? DEFAULT_RPC_BACKOFF_MAX_MS
  const host = (() => {
    try {
      return new URL(url).host
    } catch {
      return url
    }
  })()
  return (params) => {
    const transport = inner({ ...params, retryCount: 0 })
    const request = (async (args: { method: string; params?: unknown }, options?: { signal?: AbortSignal }) => {
      if (FILTER_METHODS.has(args.method)) throw new RpcMethodRefusedError(args.method)
      const began = Date.now()
      for (let attempt = 0; ; attempt++) {
        try {
          // biome-ignore lint/suspicious/noExplicitAny: viem's request is typed per RPC schema; this wrapper is generic
          return await (transport.request as any)(args, options)
        } catch (error) {
          if (options?.signal?.aborted === true || !isTransient(error)) throw error
          if (attempt >= retries) {
            const limited = isRateLimitError(error)
            const seconds = ((Date.now() - began) / 1000).toFixed(1)
            throw new RpcGaveUpError(
              limited
                ? `the chain endpoint ${host} kept refusing ${args.method} for its request rate (${attempt + 1} tries over ${seconds} s): poll less often (a longer poll interval), or use another RPC endpoint or plan`
                : `the chain endpoint ${host} kept failing ${args.method} (${attempt + 1} tries over ${seconds} s): check that it is up, or use another RPC endpoint`,
              errorText(error).slice(0, 500),
            )
          }
          const backoff = Math.min(maxMs, startMs * 2 ** attempt)
          const wait = Math.min(maxMs, Math.max(backoff, retryAfterMs(error) ?? 0))
          await abortableSleep(wait * (0.9 + Math.random() * 0.2), options?.signal)
          options?.signal?.throwIfAborted()
        }
      }
    }) as typeof transport.request
    return { ...transport, request }
  }
}
