/**
 * What every request stream of Cairn's protocols goes through around its exchange. Inbound (`serveStream`): a banned
 * peer is reset at once, the per-peer stream and byte limits are leased, the exchange has a deadline, and a handler
 * that throws (malformed frame, limit, timeout) resets the stream and costs the sender the matching penalty.
 * A refusal for load (reason 'busy') costs nothing; running out the deadline while the node waited on the peer costs
 * PENALTY_TIMEOUT (waits on the node's own work, marked with `local()`, do not).
 * Outbound (`requestStream`): one deadline for dial and exchange, a protocol violation or corrupt data costs the
 * answering peer score, and every failure becomes a Cairn error naming the peer.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { CairnError, CorruptDataError, InvalidArgumentError, ProtocolError, UnreachableError } from '../errors.ts'
import type { AbortOptions } from '../storage/index.ts'
import {
  PENALTY_CORRUPT_DATA,
  PENALTY_LIMIT_EXCEEDED,
  PENALTY_MALFORMED,
  PENALTY_OVERSIZE,
  PENALTY_TIMEOUT,
} from './constants.ts'
import { protocolError } from './frame-codec.ts'
import { openProtocolStream } from './open-stream.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { PeerScores } from './peer-scores.ts'
import { createDeadline, type Deadline } from './stream-io.ts'

/** Score lost by a peer whose request failed with `error` (0 unless it broke the protocol; 0 when the node is busy). */
export function penaltyFor(error: unknown): number {
  if (!(error instanceof ProtocolError)) return 0
  switch (error.details?.reason) {
    case 'busy':
      return 0
    case 'oversize':
      return PENALTY_OVERSIZE
    case 'limit':
      return PENALTY_LIMIT_EXCEEDED
    default:
      return PENALTY_MALFORMED
  }
}

/** The lease and deadline a handler works under. */
export interface ServedStream {
  lease: ReturnType<PeerLimits['open']>
  deadline: Deadline
  /** Runs the node's own work (disk, lookups): a deadline that fires meanwhile is not blamed on the peer. */
  local<T>(work: Promise<T>): Promise<T>
}

/**
 * Runs `handler` on an inbound stream from `remotePeer` under the peer's limits and a deadline of `timeoutMs`;
 * resolves with the handler's outcome, or 'reset' when the stream was refused or the handler threw.
 *
 * @example
 * ```ts
 * const outcome = await serveStream(stream, peer, { limits, scores }, 10_000, async ({ lease, deadline }) => 'ok')
 * ```
 */
export async function serveStream<T>(
  stream: Stream,
  remotePeer: string,
  guards: { limits: PeerLimits; scores: PeerScores },
  timeoutMs: number,
  handler: (served: ServedStream) => Promise<T>,
): Promise<T | 'reset'> {
  if (guards.scores.isBanned(remotePeer)) {
    stream.abort(protocolError('limit', 'peer is banned'))
    return 'reset'
  }
  let lease: ReturnType<PeerLimits['open']>
  try {
    lease = guards.limits.open(remotePeer)
  } catch (error) {
    guards.scores.penalize(remotePeer, penaltyFor(error))
    stream.abort(error as Error)
    return 'reset'
  }
  const deadline = createDeadline(timeoutMs)
  const detach = deadline.guard(stream)
  let localWork = 0
  let expiredInLocalWork = false
  const local = async <T>(work: Promise<T>): Promise<T> => {
    localWork++
    try {
      return await work
    } finally {
      if (deadline.signal.aborted) expiredInLocalWork = true
      localWork--
    }
  }
  try {
    return await handler({ lease, deadline, local })
  } catch (error) {
    // the deadline fired while the node waited on the peer (a trickled body, an unread answer): the peer pays
    const peerWasSlow = deadline.signal.aborted && localWork === 0 && !expiredInLocalWork
    guards.scores.penalize(remotePeer, peerWasSlow ? Math.max(PENALTY_TIMEOUT, penaltyFor(error)) : penaltyFor(error))
    stream.abort(error instanceof Error ? error : new Error(String(error)))
    return 'reset'
  } finally {
    detach()
    lease.release()
  }
}

/**
 * Opens a `protocol` stream to `peer` and runs `exchange` on it under one deadline (`timeoutMs`, and the caller's
 * signal); failures become Cairn errors (`TimeoutError`, `AbortedError`, `UnreachableError`, or the exchange's own).
 *
 * @example
 * ```ts
 * const answer = await requestStream(init, PIECE_PROTOCOL, peer, { timeoutMs: 10_000, what: 'has-pieces' }, exchange)
 * ```
 */
export async function requestStream<T>(
  init: { libp2p: Pick<Libp2p, 'dialProtocol' | 'getConnections'>; scores: PeerScores },
  protocol: string,
  peer: string,
  options: AbortOptions & { timeoutMs: number; what: string },
  exchange: (stream: Stream, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { what } = options
  let peerId: ReturnType<typeof peerIdFromString>
  try {
    peerId = peerIdFromString(peer)
  } catch (cause) {
    throw new InvalidArgumentError(`not a peer ID: ${peer}`, { cause })
  }
  const deadline = createDeadline(options.timeoutMs, options.signal)
  let stream: Stream
  try {
    stream = await openProtocolStream(init.libp2p, peerId, protocol, deadline.signal)
  } catch (cause) {
    const mapped = deadline.error(cause, what)
    if (mapped !== cause) throw mapped
    throw new UnreachableError(
      `cannot open a ${protocol} stream to ${peer}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause, details: { peer } },
    )
  }
  const detach = deadline.guard(stream)
  try {
    return await exchange(stream, deadline.signal)
  } catch (error) {
    if (error instanceof ProtocolError || error instanceof CorruptDataError) {
      init.scores.penalize(peer, error instanceof CorruptDataError ? PENALTY_CORRUPT_DATA : penaltyFor(error))
      stream.abort(error)
    }
    const mapped = deadline.error(error, what)
    if (mapped !== error) throw mapped
    if (error instanceof CairnError) throw error
    throw new UnreachableError(`${what} with ${peer} failed: ${(error as Error)?.message ?? error}`, {
      cause: error,
      details: { peer },
    })
  } finally {
    detach()
  }
}
