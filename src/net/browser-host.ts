/**
 * A dial-only libp2p host for a web page: WebSockets and WebRTC-direct (the two transports a browser can dial a node
 * with, no signalling server), and WebRTC signalled over a circuit relay (`<relay>/p2p-circuit/webrtc/p2p/<node>`: the
 * page dials the relay over WebSockets or WebRTC-direct, exchanges SDP with a node behind NAT over the relayed
 * stream, then holds a direct WebRTC connection to it; no ICE server, host candidates only), Noise, Yamux, identify
 * and ping, no listener, no DHT, no discovery. It runs in Node too
 * (tests stand it in for a page) and takes only what a page has: the node's multiaddr. The piece exchanges are the
 * node's own client functions (piece-protocol.ts, slot-acceptance-protocol.ts), so a page speaks the same wire format.
 *
 * Bundle this file (not src/net/index.ts, which pulls TCP, mDNS and the node's services) for the browser.
 */

import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Connection, Libp2p, PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webRTC, webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { CID } from 'multiformats/cid'
import { InvalidArgumentError, UnreachableError } from '../errors.ts'
import type { AbortOptions } from '../storage/index.ts'
import { DEFAULT_CONTROL_TIMEOUT_MS, DEFAULT_TRANSFER_TIMEOUT_MS } from './constants.ts'
import { guardedYamux } from './guarded-yamux.ts'
import type { SlotAcceptanceAnswer, SlotAcceptanceRequest } from './interface.ts'
import { PeerScores } from './peer-scores.ts'
import { fetchPieceFromPeer, peerHasPieces, storePieceOnPeer } from './piece-protocol.ts'
import type { WireUploadTicket } from './slot-acceptance-messages.ts'
import { askSlotAcceptance, reserveUpload, type SlotAcceptanceRequester } from './slot-acceptance-protocol.ts'
import { addressTransport } from './transport-addresses.ts'
import { WEBRTC_DIAL_TIMEOUT_MS, WEBSOCKET_BUFFER_POLL_MS } from './transport-constants.ts'

/** Protocols the relay and WebRTC transports serve, which a dial-only page must not. */
export const RELAY_STOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/stop'
export const WEBRTC_SIGNALLING_PROTOCOL = '/webrtc-signaling/0.0.1'

/**
 * The transports a page can dial a node with: `webrtc` is WebRTC signalled over a relay, which the page reaches with
 * one of the other two.
 */
export type BrowserTransport = 'ws' | 'webrtc-direct' | 'webrtc'

export interface BrowserHostInit {
  /** Default: all three. */
  transports?: readonly BrowserTransport[]
  /** Dial loopback and private addresses (a devnet, a LAN); browsers' libp2p refuses them by default. Default false. */
  allowPrivateAddresses?: boolean
  /** Default: a fresh Ed25519 key (the page's peer ID lives as long as the page). */
  privateKey?: PrivateKey
  /**
   * STUN servers (`stun:` URLs) of relay-signalled WebRTC (the network file's `iceServers`). Default none: host
   * candidates only, which reach a NATed node on the same LAN or through its NAT's mapping but not a browser that
   * hides its addresses behind mDNS names (Chromium's default).
   */
  iceServers?: readonly string[]
}

/** A page's connection to the network: dial nodes, reserve room, store and fetch pieces. */
export interface BrowserHost {
  readonly libp2p: Libp2p
  readonly peerId: string
  /**
   * Dials a node's multiaddr (`/ip4/.../tcp/N/ws/p2p/...`, `/ip4/.../udp/N/webrtc-direct/certhash/.../p2p/...`, or
   * `<relay's ws or webrtc-direct address>/p2p-circuit/webrtc/p2p/...` for a node behind NAT).
   */
  dial(address: string, options?: AbortOptions): Promise<Connection>
  /** Reserves room on `peer`; a node on chain needs `ticket`, signed by the paying account (docs/protocol.md). */
  reserveUpload(
    peer: string,
    request: { bytes: number; seconds: number; ticket?: WireUploadTicket },
    options?: AbortOptions,
  ): Promise<void>
  /** One request and answer of `/cairn/slot-accept/1.0.0` (a reservation or a slot's signed acceptance). */
  slotAcceptance(peer: string, request: SlotAcceptanceRequest, options?: AbortOptions): Promise<SlotAcceptanceAnswer>
  storePiece(peer: string, cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  fetchPiece(peer: string, cid: CID, options?: AbortOptions): Promise<Uint8Array>
  /** Which of `cids` the peer holds (at most 1024 per call). */
  hasPieces(peer: string, cids: CID[], options?: AbortOptions): Promise<boolean[]>
  stop(): Promise<void>
}

/**
 * Creates and starts a page's host.
 *
 * @example
 * ```ts
 * const host = await createBrowserHost({ allowPrivateAddresses: true })
 * const connection = await host.dial('/ip4/127.0.0.1/tcp/40123/ws/p2p/12D3KooW...')
 * const bytes = await host.fetchPiece(connection.remotePeer.toString(), cid)
 * ```
 */
export async function createBrowserHost(init: BrowserHostInit = {}): Promise<BrowserHost> {
  const chosen = new Set(init.transports ?? ['ws', 'webrtc-direct', 'webrtc'])
  if (chosen.size === 0)
    throw new InvalidArgumentError('a browser host needs a transport: pass ws, webrtc-direct, webrtc or several')
  if (chosen.has('webrtc') && !chosen.has('ws') && !chosen.has('webrtc-direct')) {
    throw new InvalidArgumentError(
      'webrtc is signalled over a relay the page dials with ws or webrtc-direct: pass one of them with webrtc',
    )
  }
  const transports: Array<(components: never) => unknown> = []
  if (chosen.has('ws')) transports.push(webSockets({ bufferedAmountPollInterval: WEBSOCKET_BUFFER_POLL_MS }) as never)
  if (chosen.has('webrtc-direct')) transports.push(webRTCDirect() as never)
  if (chosen.has('webrtc')) {
    // only the given ICE servers: the library's default names public STUN servers, and a page must contact nothing else
    const iceServers = (init.iceServers ?? []).map((urls) => ({ urls }))
    transports.push(webRTC({ rtcConfiguration: { iceServers } }) as never)
    // dial only: no `/p2p-circuit` listen address (no reservation), and its STOP handler is removed below
    transports.push(circuitRelayTransport() as never)
  }
  const libp2p = await createLibp2p({
    privateKey: init.privateKey ?? (await generateKeyPair('Ed25519')),
    start: true,
    addresses: { listen: [] },
    transports: transports as never,
    connectionEncrypters: [noise()],
    streamMuxers: [guardedYamux()],
    peerDiscovery: [],
    // each dial carries its own deadline (below); libp2p's per-address default, 6 s, cut relay-signalled WebRTC short
    connectionManager: { dialTimeout: WEBRTC_DIAL_TIMEOUT_MS, addressDialTimeout: WEBRTC_DIAL_TIMEOUT_MS },
    services: { identify: identify(), ping: ping() },
    ...(init.allowPrivateAddresses === true ? { connectionGater: { denyDialMultiaddr: () => false } } : {}),
  })
  // the page only dials: it answers no relay's STOP (the relay transport would reserve a slot on any relay that sends
  // one, then accept the relayed dial) and no WebRTC offer (each would build an RTCPeerConnection in the page)
  if (chosen.has('webrtc')) await libp2p.unhandle([RELAY_STOP_PROTOCOL, WEBRTC_SIGNALLING_PROTOCOL])
  const client = {
    libp2p,
    scores: new PeerScores({}),
    transferTimeoutMs: DEFAULT_TRANSFER_TIMEOUT_MS,
    controlTimeoutMs: DEFAULT_CONTROL_TIMEOUT_MS,
  }
  return {
    libp2p,
    peerId: libp2p.peerId.toString(),
    async dial(address, options = {}) {
      let target: ReturnType<typeof multiaddr>
      try {
        target = multiaddr(address)
      } catch (cause) {
        throw new InvalidArgumentError(`not a multiaddr: ${address}`, { cause })
      }
      const deadline = addressTransport(address) === 'webrtc' ? WEBRTC_DIAL_TIMEOUT_MS : DEFAULT_CONTROL_TIMEOUT_MS
      const signal = AbortSignal.any([AbortSignal.timeout(deadline), ...optionalSignal(options)])
      let connection: Connection
      try {
        connection = await libp2p.dial(target, { signal })
      } catch (cause) {
        throw new UnreachableError(`cannot dial ${address}: ${(cause as Error)?.message ?? cause}`, { cause })
      }
      // a relay-signalled WebRTC dial leaves the relayed (limited) connection that carried the SDP: close it, so that
      // every stream goes over the direct one and the relay's circuit is freed
      if (connection.limits === undefined) {
        for (const other of libp2p.getConnections(connection.remotePeer)) {
          if (other !== connection && other.limits !== undefined) void other.close().catch(() => {})
        }
      }
      return connection
    },
    async reserveUpload(peer, request, options = {}) {
      const network: SlotAcceptanceRequester = {
        slotAcceptance: (target, ask, askOptions) => askSlotAcceptance(client, target, ask, askOptions),
      }
      await reserveUpload(network, peer, request, options)
    },
    slotAcceptance: (peer, request, options = {}) => askSlotAcceptance(client, peer, request, options),
    storePiece: (peer, cid, bytes, options = {}) => storePieceOnPeer(client, peer, cid, bytes, options),
    fetchPiece: (peer, cid, options = {}) => fetchPieceFromPeer(client, peer, cid, options),
    hasPieces: (peer, cids, options = {}) => peerHasPieces(client, peer, cids, options),
    stop: async () => {
      await libp2p.stop()
    },
  }
}

function optionalSignal(options: AbortOptions): AbortSignal[] {
  return options.signal === undefined ? [] : [options.signal]
}
