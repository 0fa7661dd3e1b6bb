/**
 * Small helpers for libp2p v3 streams: writing with backpressure and deadlines that combine a timeout with the
 * caller's signal and abort the stream when they fire.
 */
import type { Stream } from '@libp2p/interface'
import { AbortedError, CairnError, TimeoutError } from '../errors.ts'

/**
 * Sends `data`, waiting for the stream to drain when its buffer is full. A stream that closes meanwhile rejects the
 * wait with its close event, not an Error: that becomes an Error saying the stream closed.
 */
export async function writeAll(stream: Stream, data: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (stream.send(data)) return
  try {
    await stream.onDrain(signal === undefined ? {} : { signal })
  } catch (cause) {
    if (cause instanceof Error) throw cause
    const event = (cause as { type?: unknown } | undefined)?.type
    throw new Error(
      `the stream closed (${typeof event === 'string' ? event : String(cause)}) before all data was sent`,
      {
        cause,
      },
    )
  }
}

/**
 * The stream's bytes as plain Uint8Arrays: a chunk that arrives as a list of buffers (Uint8ArrayList) is yielded one
 * buffer at a time instead of being joined, which saves a copy of every received byte (the frame reader copies each
 * byte into its frame anyway).
 *
 * @example
 * ```ts
 * const reader = new FrameReader(streamBuffers(stream))
 * ```
 */
export async function* streamBuffers(
  stream: AsyncIterable<Uint8Array | Iterable<Uint8Array>>,
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const chunk of stream) {
    if (chunk instanceof Uint8Array) yield chunk
    else yield* chunk
  }
}

/** A deadline for one exchange: `signal` fires on timeout or caller abort; `error(cause)` names which one fired. */
export interface Deadline {
  signal: AbortSignal
  /** Maps whatever the stream threw after the deadline fired into TimeoutError / AbortedError (else the cause). */
  error(cause: unknown, what: string): unknown
  /** Aborts `stream` when the deadline fires; returns a function that detaches the listener. */
  guard(stream: Stream): () => void
}

/**
 * @example
 * ```ts
 * const deadline = createDeadline(10_000, options.signal)
 * const stream = await libp2p.dialProtocol(peer, protocol, { signal: deadline.signal })
 * const detach = deadline.guard(stream)
 * ```
 */
export function createDeadline(timeoutMs: number, callerSignal?: AbortSignal): Deadline {
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = callerSignal === undefined ? timeout : AbortSignal.any([timeout, callerSignal])
  return {
    signal,
    error(cause, what) {
      if (callerSignal?.aborted === true) return new AbortedError(`${what} was cancelled`, { cause })
      if (timeout.aborted) return new TimeoutError(`${what} timed out after ${timeoutMs} ms`, { cause })
      return cause
    },
    guard(stream) {
      const onAbort = () => {
        stream.abort(
          callerSignal?.aborted === true
            ? new AbortedError('cancelled')
            : new TimeoutError(`no answer within ${timeoutMs} ms`),
        )
      }
      if (signal.aborted) onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      return () => signal.removeEventListener('abort', onAbort)
    },
  }
}

/** True when `error` is one of Cairn's own errors (as opposed to a libp2p or system error). */
export function isCairnError(error: unknown): error is CairnError {
  return error instanceof CairnError
}
