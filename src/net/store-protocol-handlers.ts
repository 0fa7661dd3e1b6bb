/**
 * Registers a storage node's inbound protocols: pieces (`/cairn/piece/1.0.0`), file health and, when the node has a
 * consent policy, slot acceptances. All of them run on relayed (limited) connections too: a node behind a NAT is
 * reached through its relay until (or unless) the connection is upgraded to a direct one.
 */
import type { Libp2p } from '@libp2p/interface'
import type { PieceStore } from '../storage/index.ts'
import {
  DEFAULT_CONTROL_TIMEOUT_MS,
  DEFAULT_MAX_STREAMS_PER_PEER,
  DEFAULT_SLOT_ACCEPT_TIMEOUT_MS,
  DEFAULT_TRANSFER_TIMEOUT_MS,
  FILE_HEALTH_PROTOCOL,
  PIECE_PROTOCOL,
} from './constants.ts'
import { serveFileHealthStream } from './file-health-protocol.ts'
import type { NetworkInit } from './interface.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { PeerScores } from './peer-scores.ts'
import { servePieceStream } from './piece-protocol.ts'
import { handleSlotAcceptance } from './slot-acceptance-protocol.ts'

export interface StoreProtocolComponents {
  pieceStore: PieceStore
  limits: PeerLimits
  scores: PeerScores
  /** Called once a piece is stored (the DHT announcement queue). */
  onStored: (cid: Parameters<PieceStore['get']>[0]) => void
}

/**
 * @example
 * ```ts
 * await handleStoreProtocols(libp2p, { pieceStore, limits, scores, onStored: (cid) => provides.add(cid) }, init)
 * ```
 */
export async function handleStoreProtocols(
  libp2p: Libp2p,
  components: StoreProtocolComponents,
  init: NetworkInit,
): Promise<void> {
  const { limits, scores } = components
  const streams = init.maxStreamsPerPeer ?? DEFAULT_MAX_STREAMS_PER_PEER
  await libp2p.handle(
    PIECE_PROTOCOL,
    async (stream, connection) => {
      await servePieceStream(stream, connection.remotePeer.toString(), {
        pieceStore: components.pieceStore,
        limits,
        scores,
        transferTimeoutMs: init.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS,
        onStored: components.onStored,
        admitStore: init.slotAcceptance?.admitStore.bind(init.slotAcceptance),
      })
    },
    { maxInboundStreams: streams * 2, maxOutboundStreams: 64, runOnLimitedConnection: true },
  )
  await libp2p.handle(
    FILE_HEALTH_PROTOCOL,
    async (stream, connection) => {
      await serveFileHealthStream(stream, connection.remotePeer.toString(), {
        limits,
        scores,
        timeoutMs: init.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS,
        report: init.reportFileHealth,
      })
    },
    { maxInboundStreams: streams, maxOutboundStreams: 64, runOnLimitedConnection: true },
  )
  const handler = init.slotAcceptance
  const guards = { limits, scores, timeoutMs: DEFAULT_SLOT_ACCEPT_TIMEOUT_MS }
  if (handler) await handleSlotAcceptance(libp2p, { ...guards, handler }, streams)
}
