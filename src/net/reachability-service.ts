/**
 * A storage node's NAT traversal, as a libp2p service: it learns whether it is reachable from outside by asking peers
 * to dial it back (`/cairn/dial-back/1.0.0`), and when it is not, it listens on `/p2p-circuit` so that circuit relay v2
 * reserves slots on reachable storage nodes and the host announces its `/p2p-circuit` addresses. On a network that
 * allows private addresses it also upgrades inbound relayed connections to direct ones by dialling the other side's
 * identified addresses (DCUtR's unilateral upgrade: @libp2p/dcutr ignores private addresses, and does this and the
 * hole punch itself on public networks). Runs only outside devnet mode; idle it is one timer (a probe every 10 min).
 */
import type {
  Connection,
  Libp2pEvents,
  PeerId,
  PeerStore,
  Startable,
  StreamHandler,
  StreamHandlerOptions,
  TypedEventTarget,
} from '@libp2p/interface'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import {
  askDialBack,
  DIAL_BACK_PEER_INTERVAL_MS,
  DIAL_BACK_PROTOCOL,
  DialBackServer,
  remoteHost,
} from './dial-back-protocol.ts'

/** What the node knows of its own reachability: unknown until peers answered a dial-back probe. */
export type Reachability = 'unknown' | 'public' | 'private'

export interface ReachabilityStatus {
  reachability: Reachability
  /** Peer IDs of the relays holding a reservation for this node. */
  relays: string[]
  /** This node's `/p2p-circuit` addresses (through those relays). */
  relayAddresses: string[]
}

/** First probe after start, retry interval while unknown, and the refresh interval once known. */
export const REACHABILITY_FIRST_PROBE_MS = 1_000
export const REACHABILITY_RETRY_MS = 5_000
export const REACHABILITY_REFRESH_MS = 10 * 60_000
/** Peers asked per probe (on distinct /24 subnets where possible). */
export const REACHABILITY_PROBE_PEERS = 3
/** Relay reservations a node that is not reachable holds. */
export const DEFAULT_RELAY_RESERVATIONS = 2
/** Inbound relayed connections upgraded at once, and the deadline of one upgrade (identify, then the direct dial). */
const MAX_CONCURRENT_UPGRADES = 4
const UPGRADE_TIMEOUT_MS = 10_000

/** The host parts the service uses (a subset of libp2p's internal components). */
export interface ReachabilityComponents {
  peerId: PeerId
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  connectionManager: {
    openConnection(
      peer: PeerId | Multiaddr | Multiaddr[],
      options?: { signal?: AbortSignal; force?: boolean },
    ): Promise<Connection>
    getConnections(peerId?: PeerId): Connection[]
  }
  transportManager: { listen(addrs: Multiaddr[]): Promise<void>; getAddrs(): Multiaddr[] }
}

export interface ReachabilityInit {
  /** Dial-back and upgrades may use private addresses (a LAN network). */
  allowPrivateAddresses: boolean
  /** The operator named the announce addresses: probe their ports, but reserve no relay (they would not be announced). */
  announce?: string[]
  /** Relay reservations to hold when not reachable. Default DEFAULT_RELAY_RESERVATIONS. */
  relayReservations?: number
  onChange?: (status: ReachabilityStatus) => void
}

/** The service's face on `libp2p.services.reachability`. */
export interface ReachabilityServiceApi {
  status(): ReachabilityStatus
}

class ReachabilityService implements Startable, ReachabilityServiceApi {
  readonly #components: ReachabilityComponents
  readonly #init: ReachabilityInit
  readonly #server: DialBackServer
  readonly #asked = new Map<string, number>()
  #reachability: Reachability = 'unknown'
  #timer: ReturnType<typeof setTimeout> | undefined
  #started = false
  #probing = false
  #relayListening = false
  #upgrades = 0

  constructor(components: ReachabilityComponents, init: ReachabilityInit) {
    this.#components = components
    this.#init = init
    this.#server = new DialBackServer(
      { dial: (address, options) => components.connectionManager.openConnection(address, options) },
      { allowPrivateAddresses: init.allowPrivateAddresses },
    )
  }

  readonly [Symbol.toStringTag] = '@cairn/reachability'

  async start(): Promise<void> {
    await this.#components.registrar.handle(
      DIAL_BACK_PROTOCOL,
      (stream, connection) => this.#server.serve(stream, connection),
      {
        maxInboundStreams: 1,
        maxOutboundStreams: 1,
      },
    )
    this.#components.events.addEventListener('connection:open', this.#onConnectionOpen)
    this.#started = true
    this.#schedule(REACHABILITY_FIRST_PROBE_MS)
  }

  async stop(): Promise<void> {
    this.#started = false
    clearTimeout(this.#timer)
    this.#components.events.removeEventListener('connection:open', this.#onConnectionOpen)
    await this.#components.registrar.unhandle(DIAL_BACK_PROTOCOL).catch(() => {})
  }

  status(): ReachabilityStatus {
    const relayAddresses = this.#components.transportManager
      .getAddrs()
      .filter((address) => address.toString().includes('/p2p-circuit'))
      .map((address) => `${address.toString()}/p2p/${this.#components.peerId.toString()}`)
    const relays = relayAddresses
      .map((address) => {
        const components = multiaddr(address).getComponents()
        const circuit = components.findIndex((c) => c.name === 'p2p-circuit')
        return components.slice(0, circuit).findLast((c) => c.name === 'p2p')?.value
      })
      .filter((id): id is string => id !== undefined)
    return { reachability: this.#reachability, relays: [...new Set(relays)], relayAddresses }
  }

  #schedule(delayMs: number): void {
    if (!this.#started) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#probe(), delayMs)
    this.#timer.unref?.()
  }

  /** TCP ports (not WebSockets) this node can be dialled on: the announced ones, else the listening ones. */
  #ports(): number[] {
    const addresses = this.#init.announce?.length
      ? this.#init.announce.map((a) => multiaddr(a))
      : this.#components.transportManager.getAddrs()
    const ports = new Set<number>()
    for (const address of addresses) {
      const components = address.getComponents()
      if (components.some((c) => c.name === 'ws' || c.name === 'wss' || c.name === 'p2p-circuit')) continue
      const tcp = components.find((c) => c.name === 'tcp')?.value
      if (tcp !== undefined && Number(tcp) > 0) ports.add(Number(tcp))
    }
    return [...ports]
  }

  /** Direct connections to peers that serve dial-backs and were not asked lately, one per /24 where possible. */
  async #candidates(): Promise<Connection[]> {
    const now = performance.now()
    const bySubnet = new Map<string, Connection>()
    const rest: Connection[] = []
    for (const connection of this.#components.connectionManager.getConnections()) {
      const peer = connection.remotePeer.toString()
      const remote = remoteHost(connection.remoteAddr)
      if (remote === undefined || connection.limits !== undefined || connection.status !== 'open') continue
      const asked = this.#asked.get(peer)
      if (asked !== undefined && now - asked < DIAL_BACK_PEER_INTERVAL_MS) continue
      const known = await this.#components.peerStore.get(connection.remotePeer).catch(() => undefined)
      if (known?.protocols.includes(DIAL_BACK_PROTOCOL) !== true) continue
      const subnet = remote.family === 'ip4' ? remote.host.split('.').slice(0, 3).join('.') : remote.host
      if (bySubnet.has(subnet)) rest.push(connection)
      else bySubnet.set(subnet, connection)
    }
    const chosen = new Map<string, Connection>()
    for (const connection of [...bySubnet.values(), ...rest]) {
      if (chosen.size >= REACHABILITY_PROBE_PEERS) break
      chosen.set(connection.remotePeer.toString(), connection)
    }
    return [...chosen.values()]
  }

  async #probe(): Promise<void> {
    if (this.#probing || !this.#started) return
    this.#probing = true
    try {
      const ports = this.#ports()
      // a host that listens on no TCP port cannot be dialled at all
      if (ports.length === 0) return this.#decide('private')
      const candidates = await this.#candidates()
      if (candidates.length === 0) return
      const signal = AbortSignal.timeout(UPGRADE_TIMEOUT_MS * 3)
      const now = performance.now()
      for (const connection of candidates) this.#asked.set(connection.remotePeer.toString(), now)
      const answers = await Promise.allSettled(candidates.map((c) => askDialBack(c, ports, signal)))
      let reached = 0
      let failed = 0
      for (const answer of answers) {
        if (answer.status !== 'fulfilled') continue
        if (answer.value.includes('reached')) reached++
        else if (answer.value.includes('failed')) failed++
      }
      // a lying peer is outvoted by honest ones; a tie keeps the relay (the safe side)
      if (reached > failed) this.#decide('public')
      else if (failed > 0) this.#decide('private')
    } finally {
      this.#probing = false
      if (this.#asked.size > 1024) this.#asked.clear()
      this.#schedule(this.#reachability === 'unknown' ? REACHABILITY_RETRY_MS : REACHABILITY_REFRESH_MS)
    }
  }

  #decide(reachability: Reachability): void {
    const changed = reachability !== this.#reachability
    this.#reachability = reachability
    if (reachability === 'private' && !this.#relayListening && !(this.#init.announce?.length ?? 0)) {
      this.#relayListening = true
      // one `/p2p-circuit` listener per reservation: circuit relay v2 finds relays among connected hop peers
      const count = this.#init.relayReservations ?? DEFAULT_RELAY_RESERVATIONS
      void this.#components.transportManager
        .listen(Array.from({ length: count }, () => multiaddr('/p2p-circuit')))
        .catch(() => {
          this.#relayListening = false
        })
    }
    if (changed) this.#init.onChange?.(this.status())
  }

  readonly #onConnectionOpen = (event: CustomEvent<Connection>): void => {
    const connection = event.detail
    if (!this.#init.allowPrivateAddresses || connection.limits === undefined) return
    if (connection.direction !== 'inbound' || this.#upgrades >= MAX_CONCURRENT_UPGRADES) return
    this.#upgrades++
    this.#upgrade(connection)
      .catch(() => {})
      .finally(() => {
        this.#upgrades--
      })
  }

  /** Dials the identified addresses of the peer behind an inbound relayed connection; closes the relayed one on success. */
  async #upgrade(relayed: Connection): Promise<void> {
    const signal = AbortSignal.timeout(UPGRADE_TIMEOUT_MS)
    const peer = relayed.remotePeer
    const identified = await new Promise<Multiaddr[]>((resolve) => {
      const onIdentify = (event: CustomEvent<{ peerId: PeerId; listenAddrs: Multiaddr[] }>) => {
        if (!event.detail.peerId.equals(peer)) return
        done(event.detail.listenAddrs)
      }
      const done = (addresses: Multiaddr[]) => {
        this.#components.events.removeEventListener('peer:identify', onIdentify as never)
        signal.removeEventListener('abort', onAbort)
        resolve(addresses)
      }
      const onAbort = () => done([])
      this.#components.events.addEventListener('peer:identify', onIdentify as never)
      signal.addEventListener('abort', onAbort, { once: true })
    })
    const direct = identified
      .filter((address) => remoteHost(address) !== undefined)
      .map((address) =>
        address.getComponents().some((c) => c.name === 'p2p') ? address : address.encapsulate(`/p2p/${peer}`),
      )
    if (direct.length === 0 || relayed.status !== 'open') return
    const upgraded = await this.#components.connectionManager.openConnection(direct, { signal, force: true })
    if (upgraded.limits !== undefined) return
    await relayed.close({ signal }).catch(() => relayed.abort(new Error('replaced by a direct connection')))
  }
}

/**
 * The libp2p service factory (register it as `services.reachability`).
 *
 * @example
 * ```ts
 * const libp2p = await createLibp2p({ services: { reachability: cairnReachability({ allowPrivateAddresses: false }) } })
 * libp2p.services.reachability.status().reachability // 'unknown' | 'public' | 'private'
 * ```
 */
export function cairnReachability(
  init: ReachabilityInit,
): (components: ReachabilityComponents) => ReachabilityServiceApi {
  return (components) => new ReachabilityService(components, init)
}
