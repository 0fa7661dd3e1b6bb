/**
 * What every inbound request stream of Cairn's protocols goes through before and after its handler: a banned peer is
 * reset at once, the per-peer stream and byte limits are leased, the exchange has a deadline, and a handler that throws
 * (malformed frame, limit, timeout) resets the stream and costs the sender the matching penalty.
 */
import type { Stream } from '@libp2p/interface'
import { ProtocolError } from '../errors.ts'
import { PENALTY_LIMIT_EXCEEDED, PENALTY_MALFORMED, PENALTY_OVERSIZE } from './constants.ts'
import { protocolError } from './frame-codec.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { PeerScores } from './peer-scores.ts'
import { createDeadline, type Deadline } from './stream-io.ts'

/** Score lost by a peer whose request failed with `error` (0 unless it broke the protocol). */
export function penaltyFor(error: unknown): number {
  if (!(error instanceof ProtocolError)) return 0
  switch (error.details?.reason) {
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
  try {
    return await handler({ lease, deadline })
  } catch (error) {
    guards.scores.penalize(remotePeer, penaltyFor(error))
    stream.abort(error instanceof Error ? error : new Error(String(error)))
    return 'reset'
  } finally {
    detach()
    lease.release()
  }
}
