/** What put, get and status of one client share (internal to the client room). */
import type { AbortOptions, PeerView } from '../node/index.ts'
import type { ClientNetwork, FileRecordStore } from './interface.ts'

/** The network, the record of files, the known nodes and the client's settings with their defaults applied. */
export interface ClientContext {
  network: ClientNetwork
  records: FileRecordStore
  /** Storage nodes as the client sees them right now (itself left out). */
  nodes(options: AbortOptions): Promise<PeerView[]>
  putConcurrency: number
  putMaxInFlightBytes: number
  slotAttempts: number
  getConcurrency: number
  hedgeAfterMs: number
  pieceTimeoutMs: number
  probeTimeoutMs: number
  segmentSize: number | undefined
  encodeWorkers: number
}

/**
 * The signal of one probe (asking a node which pieces it holds): the caller's signal and the probe's own deadline.
 *
 * @example
 * ```ts
 * await context.network.hasPieces(peer, cids, probeSignal(context, options))
 * ```
 */
export function probeSignal(
  context: Pick<ClientContext, 'probeTimeoutMs'>,
  options: AbortOptions,
  timeoutMs = context.probeTimeoutMs,
): { signal: AbortSignal } {
  const timeout = AbortSignal.timeout(timeoutMs)
  return { signal: options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]) }
}
