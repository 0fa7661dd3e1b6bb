/**
 * The transports a Cairn node listens on and dials with: TCP, WebSockets (`/tcp/N/ws`, what browsers dial) and
 * WebRTC-direct (`/udp/N/webrtc-direct/certhash/...`, what browsers dial without TLS certificates or a signalling
 * server), plus circuit relay v2 for relayed peers. Browsers reach a node over the last two, so both get the guards
 * TCP has (libp2p's connection manager, the connection gater with its bans, the per-peer stream and byte limits of
 * each protocol) and the bounds their own listeners lack:
 * - WebSockets: an upgrade request must arrive within WEBSOCKET_HEADERS_TIMEOUT_MS, one WebSocket message holds at
 *   most WEBSOCKET_MAX_MESSAGE_BYTES (the `ws` default is 100 MiB, buffered whole before libp2p sees it), and a
 *   malformed frame closes its socket instead of ending the process (an unhandled `ws` error event before).
 * - WebRTC-direct: every STUN request with a new ufrag makes the listener build an RTCPeerConnection before any
 *   handshake, so at most WEBRTC_DIRECT_MAX_PEER_CONNECTIONS exist at once, WEBRTC_DIRECT_MAX_PER_HOST from one IP.
 * - WebRTC signalled over a relay (`/webrtc`, announced as `<relay>/p2p-circuit/webrtc`, what browsers dial to reach
 *   a node behind NAT): every signalling stream (`/webrtc-signaling/0.0.1`, from any connected peer, relayed or not)
 *   makes the node build an RTCPeerConnection, so at most WEBRTC_MAX_SIGNALLING exchanges run at once,
 *   WEBRTC_MAX_SIGNALLING_PER_PEER per remote peer, and none starts while WEBRTC_MAX_PEER_CONNECTIONS WebRTC
 *   connections are held; an exchange must finish within the inbound upgrade timeout. No ICE server is configured
 *   unless the operator passes one: nothing is contacted to gather candidates (host candidates only).
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { Connection, Listener, Stream, Transport } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { InvalidArgumentError } from '../errors.ts'
import { addressTransport } from './transport-addresses.ts'
import {
  WEBRTC_DIRECT_MAX_PEER_CONNECTIONS,
  WEBRTC_DIRECT_MAX_PER_HOST,
  WEBRTC_MAX_PEER_CONNECTIONS,
  WEBRTC_MAX_SIGNALLING,
  WEBRTC_MAX_SIGNALLING_PER_PEER,
  WEBSOCKET_BUFFER_POLL_MS,
  WEBSOCKET_HEADERS_TIMEOUT_MS,
  WEBSOCKET_MAX_MESSAGE_BYTES,
} from './transport-constants.ts'

/** The transports a host may use; a node uses all of them, a test or a special host may pick. */
export type CairnTransport = 'tcp' | 'ws' | 'webrtc-direct' | 'webrtc' | 'circuit-relay'

/** What the bounded listeners counted as refused (for tests and metrics). */
export interface TransportRefusals {
  webrtcDirect: number
  /** Signalling streams of relay-signalled WebRTC refused (set on the first refusal). */
  webrtc?: number
}

/** An ICE server (STUN or TURN) as RTCPeerConnection takes it. */
export interface IceServer {
  urls: string | string[]
  username?: string
  credential?: string
}

export interface NodeTransportsInit {
  /**
   * Default: tcp, ws and circuit-relay, plus webrtc-direct when `listen` names a `/webrtc-direct` address and webrtc
   * when it names `/webrtc` (the WebRTC stack, node-datachannel, takes a second or two to load: hosts that do not
   * listen on it skip it).
   */
  transports?: readonly CairnTransport[]
  listen?: readonly string[]
  /** Counters the bounded listeners increment when they refuse; default: a private object. */
  refusals?: TransportRefusals
  maxWebRTCDirectConnections?: number
  maxWebRTCDirectPerHost?: number
  maxWebRTCSignalling?: number
  maxWebRTCSignallingPerPeer?: number
  maxWebRTCConnections?: number
  /** ICE servers of relay-signalled WebRTC. Default none: only host candidates, nothing contacted. */
  iceServers?: IceServer[]
}

type TransportFactory = (components: never) => Transport

/**
 * The transport factories of a node's libp2p host (pass them as `transports`).
 *
 * @example
 * ```ts
 * const libp2p = await createLibp2p({ transports: await nodeTransports({ transports: ['tcp', 'ws'] }), ... })
 * ```
 */
export async function nodeTransports(init: NodeTransportsInit = {}): Promise<TransportFactory[]> {
  const names = (init.listen ?? []).map((address) => address.split('/'))
  const direct = names.some((parts) => parts.includes('webrtc-direct'))
  const signalled = names.some((parts) => parts.includes('webrtc'))
  const chosen = new Set(
    init.transports ?? [
      'tcp',
      'ws',
      'circuit-relay',
      ...(direct ? ['webrtc-direct'] : []),
      ...(signalled ? ['webrtc'] : []),
    ],
  )
  const refusals = init.refusals ?? { webrtcDirect: 0 }
  const factories: TransportFactory[] = []
  if (chosen.has('tcp')) factories.push(tcp() as TransportFactory)
  if (chosen.has('ws')) factories.push(boundedWebSockets())
  if (chosen.has('webrtc-direct')) {
    const { webRTCDirect } = await import('@libp2p/webrtc')
    factories.push(
      boundedWebRTCDirect(webRTCDirect() as TransportFactory, {
        max: init.maxWebRTCDirectConnections ?? WEBRTC_DIRECT_MAX_PEER_CONNECTIONS,
        perHost: init.maxWebRTCDirectPerHost ?? WEBRTC_DIRECT_MAX_PER_HOST,
        refusals,
      }),
    )
  }
  if (chosen.has('webrtc')) {
    const { webRTC } = await import('@libp2p/webrtc')
    factories.push(
      boundedWebRTC(webRTC({ rtcConfiguration: { iceServers: init.iceServers ?? [] } }) as TransportFactory, {
        max: init.maxWebRTCSignalling ?? WEBRTC_MAX_SIGNALLING,
        perPeer: init.maxWebRTCSignallingPerPeer ?? WEBRTC_MAX_SIGNALLING_PER_PEER,
        connections: init.maxWebRTCConnections ?? WEBRTC_MAX_PEER_CONNECTIONS,
        refusals,
      }),
    )
  }
  // webRTC() needs the relay transport (it signals over relayed connections): a host that chose it gets both
  if (chosen.has('circuit-relay') || chosen.has('webrtc')) factories.push(circuitRelayTransport() as TransportFactory)
  return factories
}

/** Wraps a transport factory so that every listener it creates passes through `bound`. */
function boundListeners(factory: TransportFactory, bound: (listener: Listener) => void): TransportFactory {
  return (components) => {
    const transport = factory(components)
    const create = transport.createListener.bind(transport)
    transport.createListener = (options) => {
      const listener = create(options)
      bound(listener)
      return listener
    }
    return transport
  }
}

function boundedWebSockets(): TransportFactory {
  const factory = webSockets({
    bufferedAmountPollInterval: WEBSOCKET_BUFFER_POLL_MS,
    http: { headersTimeout: WEBSOCKET_HEADERS_TIMEOUT_MS, requestTimeout: WEBSOCKET_HEADERS_TIMEOUT_MS },
  }) as TransportFactory
  return boundListeners(factory, (listener) => {
    // @libp2p/websockets 10 builds its ws.WebSocketServer with the default maxPayload and no way to pass one
    const server = (listener as unknown as { wsServer?: WsServer }).wsServer
    if (server?.options === undefined) {
      throw new InvalidArgumentError(
        'the WebSocket listener has no wsServer (was @libp2p/websockets upgraded?): pin 10.1.21 or port the bounds in src/net/node-transports.ts',
      )
    }
    server.options.maxPayload = WEBSOCKET_MAX_MESSAGE_BYTES
    // ...nor an 'error' listener on the sockets it accepts: one malformed frame from anyone (unmasked, an unknown
    // opcode, a message over maxPayload) was an unhandled 'error' event that ended the node's process. ws closes the
    // socket itself (1002 or 1009); libp2p then sees the close and drops the connection.
    const accepted = listener as unknown as { onWsServerConnection?: (socket: WsSocket, request: unknown) => void }
    const onConnection = accepted.onWsServerConnection
    if (typeof onConnection !== 'function') {
      throw new InvalidArgumentError(
        'the WebSocket listener has no onWsServerConnection (was @libp2p/websockets upgraded?): pin 10.1.21 or port the bounds in src/net/node-transports.ts',
      )
    }
    accepted.onWsServerConnection = (socket, request) => {
      socket.on('error', () => {})
      onConnection.call(listener, socket, request)
    }
  })
}

/** The parts of `ws`'s WebSocketServer and WebSocket the bounds touch. */
interface WsServer {
  options?: { maxPayload?: number }
}
interface WsSocket {
  on(event: 'error', listener: (error: Error) => void): void
}

type IncomingConnection = (ufrag: string, host: string, port: number, signal: AbortSignal) => Promise<void>

function boundedWebRTCDirect(
  factory: TransportFactory,
  bound: { max: number; perHost: number; refusals: TransportRefusals },
): TransportFactory {
  return boundListeners(factory, (listener) => {
    // @libp2p/webrtc 6 builds an RTCPeerConnection for every unknown `host:port:ufrag` a STUN request names, unbounded
    const inner = listener as unknown as { connections?: Map<string, unknown>; incomingConnection?: IncomingConnection }
    const connections = inner.connections
    const incoming = inner.incomingConnection
    if (!(connections instanceof Map) || typeof incoming !== 'function') {
      throw new InvalidArgumentError(
        'the WebRTC-direct listener has no connections map or incomingConnection (was @libp2p/webrtc upgraded?): pin 6.0.33 or port the bound in src/net/node-transports.ts',
      )
    }
    // the listener adds a key to `connections` only once its RTCPeerConnection exists: count the calls in flight too
    const inFlight = new Set<string>()
    const hostOf = (key: string) => key.slice(0, key.lastIndexOf(':', key.lastIndexOf(':') - 1))
    inner.incomingConnection = async (ufrag, host, port, signal) => {
      const key = `${host}:${port}:${ufrag}`
      if (inFlight.has(key) || connections.has(key)) return
      const held = new Set([...connections.keys(), ...inFlight])
      let fromHost = 0
      // keys are `host:port:ufrag`; an ICE ufrag has no ':' (RFC 8839 ice-char), an IPv6 host may
      for (const other of held) if (hostOf(other) === host) fromHost++
      if (held.size >= bound.max || fromHost >= bound.perHost) {
        bound.refusals.webrtcDirect++
        return
      }
      inFlight.add(key)
      try {
        await incoming.call(listener, ufrag, host, port, signal)
      } finally {
        inFlight.delete(key)
      }
    }
  })
}

type SignallingHandler = (stream: Stream, connection: Connection, signal: AbortSignal) => Promise<void>

function boundedWebRTC(
  factory: TransportFactory,
  bound: { max: number; perPeer: number; connections: number; refusals: TransportRefusals },
): TransportFactory {
  return (components) => {
    const transport = factory(components)
    // @libp2p/webrtc 6 answers every `/webrtc-signaling/0.0.1` stream with a new RTCPeerConnection, unbounded
    const inner = transport as unknown as { _onProtocol?: SignallingHandler }
    const handle = inner._onProtocol
    if (typeof handle !== 'function') {
      throw new InvalidArgumentError(
        'the WebRTC transport has no _onProtocol (was @libp2p/webrtc upgraded?): pin 6.0.33 or port the bound in src/net/node-transports.ts',
      )
    }
    const manager = () => (components as { connectionManager: { getConnections(): Connection[] } }).connectionManager
    const byPeer = new Map<string, number>()
    let running = 0
    inner._onProtocol = async (stream, connection, signal) => {
      const peer = connection.remotePeer.toString()
      const fromPeer = byPeer.get(peer) ?? 0
      const held = manager()
        .getConnections()
        .filter((c) => addressTransport(c.remoteAddr.toString()) === 'webrtc').length
      if (running >= bound.max || fromPeer >= bound.perPeer || running + held >= bound.connections) {
        bound.refusals.webrtc = (bound.refusals.webrtc ?? 0) + 1
        stream.abort(new Error('too many WebRTC signalling exchanges at once: try again later'))
        return
      }
      running++
      byPeer.set(peer, fromPeer + 1)
      try {
        await handle.call(transport, stream, connection, signal)
      } finally {
        running--
        const left = (byPeer.get(peer) ?? 1) - 1
        if (left > 0) byPeer.set(peer, left)
        else byPeer.delete(peer)
      }
    }
    return transport
  }
}
