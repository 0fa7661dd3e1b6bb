/**
 * `/cairn/dial-back/1.0.0`: a node asks a peer to open a fresh connection back to it on some of its TCP ports, to learn
 * whether it is reachable from outside (AutoNAT's question). libp2p's AutoNAT never tests private addresses, so a
 * Cairn network on a LAN (or in the test cluster's namespaces) could never learn anything from it; this protocol
 * tests private addresses only on a network that allows them.
 *
 * A dial-back server serves strangers and must not become a dialer for hire: it dials only the IP address the request
 * came from (never an address named in the request, so it cannot be aimed at a third host), never over a relayed
 * connection, at most DIAL_BACK_MAX_PORTS ports, one request per peer every DIAL_BACK_PEER_INTERVAL_MS, at most
 * DIAL_BACK_MAX_CONCURRENT requests at once, each dial bounded by DIAL_BACK_TIMEOUT_MS, and it proves it reached the
 * requester itself (the dialled address carries the requester's peer ID, which the Noise handshake checks).
 *
 * Request: type 1, count, then `count` big-endian u16 ports. Answer: type 2, count, then one status byte per port.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { isPrivate } from '@libp2p/utils'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { encodeFrame, FrameReader, protocolError } from './frame-codec.ts'
import { writeAll } from './stream-io.ts'

export const DIAL_BACK_PROTOCOL = '/cairn/dial-back/1.0.0'
/** Most ports one request may name. */
export const DIAL_BACK_MAX_PORTS = 4
/** Deadline of one dial back (and of a whole exchange, plus this again for the answer). */
export const DIAL_BACK_TIMEOUT_MS = 5_000
/** A peer may ask this node for a dial back once per this many ms; sooner requests are refused. */
export const DIAL_BACK_PEER_INTERVAL_MS = 30_000
/** Dial-back requests this node serves at once; more are refused. */
export const DIAL_BACK_MAX_CONCURRENT = 4
/** Peers remembered for the per-peer interval (the oldest are forgotten first). */
const MAX_REMEMBERED_REQUESTERS = 1024
const MAX_FRAME = 2 + 2 * DIAL_BACK_MAX_PORTS
const REQUEST = 1
const ANSWER = 2

/** Outcome of one port: reached (a connection to the requester opened), failed (the dial failed), refused (not tried). */
export type DialBackStatus = 'reached' | 'failed' | 'refused'
const STATUS_CODES: readonly DialBackStatus[] = ['reached', 'failed', 'refused']

/** What a dial-back server needs from the host. */
export interface DialBackServerComponents {
  /** Opens a new connection (never reuses one: `force`). */
  dial(address: Multiaddr, options: { signal: AbortSignal; force: true }): Promise<Connection>
}

export interface DialBackServerInit {
  /** Dial private and loopback addresses too (a LAN network). */
  allowPrivateAddresses: boolean
}

/** The IP host of a direct connection's remote address, or undefined for a relayed or non-IP connection. */
export function remoteHost(address: Multiaddr): { host: string; family: 'ip4' | 'ip6' } | undefined {
  const components = address.getComponents()
  if (components.some((c) => c.name === 'p2p-circuit')) return undefined
  const ip = components[0]
  if (ip === undefined || (ip.name !== 'ip4' && ip.name !== 'ip6') || ip.value === undefined) return undefined
  return { host: ip.value, family: ip.name }
}

/** Serves dial-back requests under the bounds described above. */
export class DialBackServer {
  readonly #components: DialBackServerComponents
  readonly #init: DialBackServerInit
  readonly #lastRequest = new Map<string, number>()
  #running = 0

  constructor(components: DialBackServerComponents, init: DialBackServerInit) {
    this.#components = components
    this.#init = init
  }

  /** Handles one inbound stream; never throws (a malformed request resets the stream). */
  async serve(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(DIAL_BACK_TIMEOUT_MS * 2)
    try {
      const body = await new FrameReader(stream).read({ maxLength: MAX_FRAME })
      const ports = decodeRequest(body)
      const statuses = await this.#answer(connection, ports)
      await writeAll(stream, encodeFrame(Uint8Array.from([ANSWER, statuses.length, ...statuses.map(code)])), signal)
      await stream.close({ signal })
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)))
    }
  }

  async #answer(connection: Connection, ports: number[]): Promise<DialBackStatus[]> {
    const refuse = () => ports.map((): DialBackStatus => 'refused')
    const peer = connection.remotePeer.toString()
    const remote = remoteHost(connection.remoteAddr)
    if (remote === undefined || connection.limits !== undefined) return refuse()
    if (!this.#init.allowPrivateAddresses && isPrivate(connection.remoteAddr)) return refuse()
    const now = performance.now()
    const last = this.#lastRequest.get(peer)
    if (last !== undefined && now - last < DIAL_BACK_PEER_INTERVAL_MS) return refuse()
    if (this.#running >= DIAL_BACK_MAX_CONCURRENT) return refuse()
    this.#lastRequest.delete(peer)
    this.#lastRequest.set(peer, now)
    if (this.#lastRequest.size > MAX_REMEMBERED_REQUESTERS) {
      const oldest = this.#lastRequest.keys().next().value
      if (oldest !== undefined) this.#lastRequest.delete(oldest)
    }
    this.#running++
    try {
      const statuses: DialBackStatus[] = []
      for (const port of ports) {
        statuses.push(await this.#dialBack(remote, port, connection.remotePeer))
      }
      return statuses
    } finally {
      this.#running--
    }
  }

  async #dialBack(remote: { host: string; family: string }, port: number, peer: PeerId): Promise<DialBackStatus> {
    const address = multiaddr(`/${remote.family}/${remote.host}/tcp/${port}/p2p/${peer.toString()}`)
    try {
      const back = await this.#components.dial(address, {
        signal: AbortSignal.timeout(DIAL_BACK_TIMEOUT_MS),
        force: true,
      })
      const reached = back.remotePeer.equals(peer) && back.limits === undefined
      await back.close().catch(() => back.abort(new Error('dial-back connection closed')))
      return reached ? 'reached' : 'failed'
    } catch {
      return 'failed'
    }
  }
}

/**
 * Asks the peer at the other end of `connection` to dial back `ports` on the address it sees this node at.
 *
 * @example
 * ```ts
 * const statuses = await askDialBack(connection, [4001], AbortSignal.timeout(15_000)) // ['reached']
 * ```
 */
export async function askDialBack(connection: Connection, ports: number[], signal: AbortSignal) {
  const asked = ports.slice(0, DIAL_BACK_MAX_PORTS)
  const stream = await connection.newStream(DIAL_BACK_PROTOCOL, { signal })
  try {
    const request = new Uint8Array(2 + 2 * asked.length)
    request[0] = REQUEST
    request[1] = asked.length
    const view = new DataView(request.buffer)
    for (const [index, port] of asked.entries()) view.setUint16(2 + 2 * index, port)
    await writeAll(stream, encodeFrame(request), signal)
    const body = await new FrameReader(stream).read({ maxLength: MAX_FRAME })
    if (body === undefined || body[0] !== ANSWER || body[1] !== asked.length || body.byteLength !== 2 + asked.length) {
      throw protocolError('malformed', 'malformed dial-back answer')
    }
    const statuses = [...body.subarray(2)].map((byte) => STATUS_CODES[byte])
    if (statuses.some((status) => status === undefined)) throw protocolError('malformed', 'unknown dial-back status')
    await stream.close({ signal }).catch(() => {})
    return statuses as DialBackStatus[]
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)))
    throw error
  }
}

function decodeRequest(body: Uint8Array | undefined): number[] {
  if (body === undefined || body[0] !== REQUEST) throw protocolError('malformed', 'not a dial-back request')
  const count = body[1] ?? 0
  if (count < 1 || count > DIAL_BACK_MAX_PORTS || body.byteLength !== 2 + 2 * count) {
    throw protocolError('malformed', `a dial-back request names 1 to ${DIAL_BACK_MAX_PORTS} ports`)
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const ports: number[] = []
  for (let index = 0; index < count; index++) {
    const port = view.getUint16(2 + 2 * index)
    if (port === 0) throw protocolError('malformed', 'port 0 cannot be dialled')
    ports.push(port)
  }
  return ports
}

function code(status: DialBackStatus): number {
  return STATUS_CODES.indexOf(status)
}
