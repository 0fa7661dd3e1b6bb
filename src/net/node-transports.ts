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
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { Listener, Transport } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { InvalidArgumentError } from '../errors.ts'
import {
  WEBRTC_DIRECT_MAX_PEER_CONNECTIONS,
  WEBRTC_DIRECT_MAX_PER_HOST,
  WEBSOCKET_BUFFER_POLL_MS,
  WEBSOCKET_HEADERS_TIMEOUT_MS,
  WEBSOCKET_MAX_MESSAGE_BYTES,
} from './transport-constants.ts'

/** The transports a host may use; a node uses all of them, a test or a special host may pick. */
export type CairnTransport = 'tcp' | 'ws' | 'webrtc-direct' | 'circuit-relay'

/** What the bounded listeners counted as refused (for tests and metrics). */
export interface TransportRefusals {
  webrtcDirect: number
}

export interface NodeTransportsInit {
  /**
   * Default: tcp, ws and circuit-relay, plus webrtc-direct when `listen` names a `/webrtc-direct` address (the
   * WebRTC stack, node-datachannel, takes a second or two to load: hosts that do not listen on it skip it).
   */
  transports?: readonly CairnTransport[]
  listen?: readonly string[]
  /** Counters the bounded listeners increment when they refuse; default: a private object. */
  refusals?: TransportRefusals
  maxWebRTCDirectConnections?: number
  maxWebRTCDirectPerHost?: number
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
  const webrtc = (init.listen ?? []).some((address) => address.split('/').includes('webrtc-direct'))
  const chosen = new Set(init.transports ?? ['tcp', 'ws', 'circuit-relay', ...(webrtc ? ['webrtc-direct'] : [])])
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
  if (chosen.has('circuit-relay')) factories.push(circuitRelayTransport() as TransportFactory)
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
