/**
 * `/cairn/file-health/1.0.0`: one request (a manifest CID) and one answer (what the node knows of that file's
 * repair) per stream. Frames are size-capped before allocation; malformed or oversize frames reset the stream and cost
 * the sender score, as on the piece protocol.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import { CairnError, InvalidArgumentError, ProtocolError, UnreachableError } from '../errors.ts'
import type { AbortOptions } from '../storage/interface.ts'
import { FILE_HEALTH_PROTOCOL, MAX_FILE_HEALTH_REQUEST_SIZE, MAX_FILE_HEALTH_RESPONSE_SIZE } from './constants.ts'
import { decodeFileHealthMessage, encodeFileHealthMessage, unknownFileHealth } from './file-health-messages.ts'
import { encodeFrame, FrameReader, protocolError } from './frame-codec.ts'
import type { FileHealthReport } from './interface.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { PeerScores } from './peer-scores.ts'
import { penaltyFor, serveStream } from './served-stream.ts'
import { createDeadline, writeAll } from './stream-io.ts'

export interface FileHealthServerInit {
  limits: PeerLimits
  scores: PeerScores
  timeoutMs: number
  /** This node's view of the file; undefined when it knows nothing of it. */
  report?: ((manifestCid: CID, options: AbortOptions) => FileHealthReport | undefined) | undefined
}

/**
 * Serves one inbound file-health stream from `remotePeer`.
 *
 * @example
 * ```ts
 * await libp2p.handle(FILE_HEALTH_PROTOCOL, (stream, connection) =>
 *   serveFileHealthStream(stream, connection.remotePeer.toString(), { limits, scores, timeoutMs: 10_000, report }))
 * ```
 */
export async function serveFileHealthStream(
  stream: Stream,
  remotePeer: string,
  init: FileHealthServerInit,
): Promise<'ok' | 'reset'> {
  return serveStream(stream, remotePeer, init, init.timeoutMs, async ({ lease, deadline }) => {
    const reader = new FrameReader(stream)
    const body = await reader.read({ maxLength: MAX_FILE_HEALTH_REQUEST_SIZE, reserve: lease.reserve })
    if (body === undefined) throw protocolError('truncated', 'stream closed before a request')
    const request = decodeFileHealthMessage(body)
    if (request.type !== 'file-health-request') throw protocolError('unexpected', 'an answer is not a request')
    let report: FileHealthReport | undefined
    try {
      report = init.report?.(request.manifestCid, { signal: deadline.signal })
    } catch {
      report = undefined
    }
    const answer = encodeFileHealthMessage({ type: 'file-health-response', report: report ?? unknownFileHealth() })
    await writeAll(stream, encodeFrame(answer), deadline.signal)
    await stream.close({ signal: deadline.signal })
    return 'ok' as const
  })
}

export interface FileHealthClientInit {
  libp2p: Libp2p
  scores: PeerScores
  controlTimeoutMs: number
}

/**
 * Asks `peer` what it knows of the file whose manifest is `manifestCid`.
 *
 * @example
 * ```ts
 * const report = await askFileHealth({ libp2p, scores, controlTimeoutMs: 10_000 }, peerId, manifestCid)
 * for (const repair of report.repairs) console.log(repair.slot, repair.target, repair.done, repair.pieces)
 * ```
 */
export async function askFileHealth(
  init: FileHealthClientInit,
  peer: string,
  manifestCid: CID,
  options: AbortOptions = {},
): Promise<FileHealthReport> {
  let peerId: ReturnType<typeof peerIdFromString>
  try {
    peerId = peerIdFromString(peer)
  } catch (cause) {
    throw new InvalidArgumentError(`not a peer ID: ${peer}`, { cause })
  }
  const request = encodeFileHealthMessage({ type: 'file-health-request', manifestCid })
  const what = 'file-health'
  const deadline = createDeadline(init.controlTimeoutMs, options.signal)
  let stream: Stream
  try {
    stream = await init.libp2p.dialProtocol(peerId, FILE_HEALTH_PROTOCOL, { signal: deadline.signal })
  } catch (cause) {
    const mapped = deadline.error(cause, what)
    if (mapped !== cause) throw mapped
    throw new UnreachableError(`cannot open a file-health stream to ${peer}`, { cause, details: { peer } })
  }
  const detach = deadline.guard(stream)
  try {
    await writeAll(stream, encodeFrame(request), deadline.signal)
    await stream.close({ signal: deadline.signal })
    const body = await new FrameReader(stream).read({ maxLength: MAX_FILE_HEALTH_RESPONSE_SIZE })
    if (body === undefined) throw protocolError('truncated', 'peer closed the stream without answering')
    const response = decodeFileHealthMessage(body)
    if (response.type !== 'file-health-response') throw protocolError('unexpected', 'expected a file-health answer')
    return response.report
  } catch (error) {
    if (error instanceof ProtocolError) {
      init.scores.penalize(peer, penaltyFor(error))
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
