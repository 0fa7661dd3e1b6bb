/**
 * Opens a protocol stream to a peer over the best connection this host has: a direct one first, else a relayed
 * (limited) one, else a new dial. Cairn's protocols run on relayed connections too, so a node behind a NAT that holds
 * a relay reservation stores and serves pieces before (or without) a direct upgrade; the relay bounds those circuits
 * (docs/architecture.md, NAT traversal).
 *
 * A connection can look open and still carry no new stream (its socket died and neither side has noticed yet, a
 * muxer that closed under it): then one fresh connection is dialled and the stream opened on it, leaving the old
 * connection (and any stream still running on it) alone. A refusal by the peer (the protocol unsupported, a stream
 * limit) and the caller's deadline are final.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'

/** Errors that say the peer or this host refused the stream, not that the connection is broken. */
const REFUSALS = new Set([
  'UnsupportedProtocolError',
  'TooManyOutboundProtocolStreamsError',
  'TooManyInboundProtocolStreamsError',
  'LimitedConnectionError',
])

/**
 * @example
 * ```ts
 * const stream = await openProtocolStream(libp2p, peerId, PIECE_PROTOCOL, AbortSignal.timeout(10_000))
 * ```
 */
export async function openProtocolStream(
  libp2p: Pick<Libp2p, 'dialProtocol' | 'getConnections'>,
  peerId: PeerId,
  protocol: string,
  signal: AbortSignal,
): Promise<Stream> {
  const open = libp2p.getConnections(peerId).filter((connection) => connection.status === 'open')
  const best = open.find((connection) => connection.limits === undefined) ?? open[0]
  if (best === undefined) return await libp2p.dialProtocol(peerId, protocol, { signal, runOnLimitedConnection: true })
  try {
    return await best.newStream(protocol, { signal, runOnLimitedConnection: true })
  } catch (cause) {
    if (signal.aborted || REFUSALS.has((cause as Error)?.name)) throw cause
    return await libp2p.dialProtocol(peerId, protocol, { signal, runOnLimitedConnection: true, force: true })
  }
}
