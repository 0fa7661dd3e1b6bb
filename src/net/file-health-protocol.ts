/**
 * `/cairn/file-health/1.0.0`: one request (a manifest CID) and one answer (what the node knows of that file's
 * repair) per stream. Frames are size-capped before allocation; malformed or oversize frames reset the stream and cost
 * the sender score, as on the piece protocol.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { AbortOptions } from '../storage/index.ts'
import { FILE_HEALTH_PROTOCOL, MAX_FILE_HEALTH_REQUEST_SIZE, MAX_FILE_HEALTH_RESPONSE_SIZE } from './constants.ts'
import { decodeFileHealthMessage, encodeFileHealthMessage, unknownFileHealth } from './file-health-messages.ts'
import { encodeFrame, FrameReader, protocolError } from './frame-codec.ts'
import type { FileHealthReport } from './interface.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { PeerScores } from './peer-scores.ts'
import { requestStream, serveStream } from './served-stream.ts'
import { writeAll } from './stream-io.ts'

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
  const request = encodeFileHealthMessage({ type: 'file-health-request', manifestCid })
  const timing = { timeoutMs: init.controlTimeoutMs, what: 'file-health', ...options }
  return requestStream(init, FILE_HEALTH_PROTOCOL, peer, timing, async (stream, signal) => {
    await writeAll(stream, encodeFrame(request), signal)
    await stream.close({ signal })
    const body = await new FrameReader(stream).read({ maxLength: MAX_FILE_HEALTH_RESPONSE_SIZE })
    if (body === undefined) throw protocolError('truncated', 'peer closed the stream without answering')
    const response = decodeFileHealthMessage(body)
    if (response.type !== 'file-health-response') throw protocolError('unexpected', 'expected a file-health answer')
    return response.report
  })
}
