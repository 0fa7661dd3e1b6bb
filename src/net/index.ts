/**
 * Cairn's network layer: the libp2p host, discovery, heartbeats with a phi-accrual failure detector, the piece wire
 * protocols and DHT provider records.
 */
import type { PieceStore } from '../storage/index.ts'
import type { Network, NetworkInit } from './interface.ts'
import { CairnNetwork } from './network.ts'

export * from './constants.ts'
export { DIAL_BACK_PROTOCOL } from './dial-back-protocol.ts'
export {
  decodeFileHealthMessage,
  encodeFileHealthMessage,
  type FileHealthMessage,
  unknownFileHealth,
} from './file-health-messages.ts'
export { encodeFrame, FrameReader } from './frame-codec.ts'
export { decodeHeartbeat, encodeHeartbeat, type Heartbeat } from './heartbeat-message.ts'
export type {
  AbortOptions,
  FileHealthRepair,
  FileHealthReport,
  Network,
  NetworkComponents,
  NetworkEvents,
  NetworkInit,
  PeerState,
  PeerView,
  PeerViewInit,
  Reachability,
  ReachabilityStatus,
  SlotAcceptanceAnswer,
  SlotAcceptanceHandler,
  SlotAcceptanceRequest,
  WireSlotTerms,
  WireUploadTicket,
} from './interface.ts'
export { type CairnHostInit, type CairnLibp2p, type CairnServices, createCairnLibp2p } from './libp2p-host.ts'
export { PhiAccrualDetector, type PhiAccrualDetectorInit } from './phi-accrual-detector.ts'
export { decodePieceMessage, encodePieceMessage, type PieceMessage } from './piece-messages.ts'
export {
  decodeSlotAcceptanceMessage,
  encodeSlotAcceptanceMessage,
  MAX_LEAF_PATH_HASHES,
  MAX_SLOT_ACCEPT_FRAME_SIZE,
  SLOT_ACCEPT_PROTOCOL,
  type SlotAcceptanceMessage,
} from './slot-acceptance-messages.ts'
export {
  challengeLeaf,
  type LeafAnswer,
  type LeafChallenge,
  requestSlotAcceptance,
  reserveUpload,
  type SlotAcceptanceRequester,
} from './slot-acceptance-protocol.ts'

/**
 * Creates a node's network (not started). Call `start()` before use and `stop()` at shutdown.
 *
 * @example
 * ```ts
 * import { generateKeyPair } from '@libp2p/crypto/keys'
 * const network = createNetwork({ pieceStore }, { privateKey: await generateKeyPair('Ed25519'), devnet: true })
 * await network.start()
 * await network.storePiece(otherPeerId, cid, bytes)
 * const copy = await network.fetchPiece(otherPeerId, cid)
 * await network.stop()
 * ```
 */
export function createNetwork(components: { pieceStore: PieceStore }, init: NetworkInit): Network {
  return new CairnNetwork(components, init)
}
export {
  type BrowserHost,
  type BrowserHostInit,
  type BrowserTransport,
  createBrowserHost,
} from './lazy-browser-host.ts'
export { type CairnTransport, nodeTransports, type TransportRefusals } from './node-transports.ts'
export { addressTransport, firstAddressPerTransport, interleaveTransports } from './transport-addresses.ts'
export * from './transport-constants.ts'
