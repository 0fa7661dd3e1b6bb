/**
 * Builds a Cairn node's libp2p host: TCP, WebSockets, WebRTC-direct and, listening on `/webrtc`, relay-signalled WebRTC
 * (browsers dial the last three; node-transports.ts
 * bounds their listeners) + circuit relay v2 for dialling relayed peers, Noise, Yamux,
 * identify, ping, Kademlia (`/cairn/kad/1.0.0`), gossipsub, AutoNAT, a relay server on storage nodes, and discovery
 * through a bootstrap list and mDNS. Every option is passed explicitly so no public-network default sneaks in.
 * Outside devnet mode a storage node also runs the reachability service (dial-back probes, relay reservations when
 * not reachable) and, on networks with public addresses, DCUtR hole punching; its relay server is bounded
 * (RELAY_* in constants.ts) because it serves strangers.
 */
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, Libp2p, PeerDiscovery, PrivateKey } from '@libp2p/interface'
import { type KadDHT, kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import {
  DEFAULT_LISTEN,
  DEFAULT_VERSION,
  DEVNET_LISTEN,
  INBOUND_UPGRADE_TIMEOUT_MS,
  KAD_PROTOCOL,
  MAX_PENDING_INBOUND_CONNECTIONS,
  RELAY_CIRCUITS_PER_PEER,
  RELAY_DATA_LIMIT_BYTES,
  RELAY_DURATION_LIMIT_MS,
  RELAY_MAX_RESERVATIONS,
} from './constants.ts'
import { guardedYamux } from './guarded-yamux.ts'
import { type CairnTransport, nodeTransports, type TransportRefusals } from './node-transports.ts'
import { cairnReachability, type ReachabilityServiceApi, type ReachabilityStatus } from './reachability-service.ts'

export interface CairnHostInit {
  privateKey: PrivateKey
  listen?: string[]
  bootstrap?: string[]
  devnet?: boolean
  /** Announce these addresses instead of the listen ones (libp2p `addresses.announce`). */
  announce?: string[]
  /** ICE servers (`stun:`/`turn:` URLs) of the `/webrtc` listener; default none. */
  iceServers?: string[]
  /** Keep private addresses in the DHT, dial them back and upgrade to them (a LAN network). Default: devnet. */
  allowPrivateAddresses?: boolean
  /** Called when the reachability service changes its mind (storage nodes outside devnet mode). */
  onReachability?: (status: ReachabilityStatus) => void
  mdns?: boolean
  /** Storage nodes run the DHT in server mode and a relay server; client-only hosts do neither. Default true. */
  serveStore?: boolean
  version?: string
  connectionGater?: ConnectionGater
  /** Transports to use (listen and dial). Default: tcp, ws, circuit-relay, and webrtc-direct / webrtc when `listen` names them. */
  transports?: readonly CairnTransport[]
  /** Counters the bounded listeners increment when they refuse a connection (node-transports.ts). */
  transportRefusals?: TransportRefusals
  /** Start the host before returning. Default false. */
  start?: boolean
}

export type CairnServices = {
  identify: unknown
  ping: unknown
  dht: KadDHT
  pubsub: GossipSub
  autonat: unknown
  /** Present on storage nodes outside devnet mode. */
  reachability?: ReachabilityServiceApi
}

/** The host type `createCairnLibp2p` returns. */
export type CairnLibp2p = Libp2p<CairnServices>

/**
 * Creates (and by default does not start) a Cairn libp2p host.
 *
 * @example
 * ```ts
 * const host = await createCairnLibp2p({ privateKey, devnet: true, start: true })
 * console.log(host.getMultiaddrs().map(String))
 * ```
 */
export async function createCairnLibp2p(init: CairnHostInit): Promise<CairnLibp2p> {
  const devnet = init.devnet ?? false
  const serveStore = init.serveStore ?? true
  const useMdns = init.mdns ?? !devnet
  const allowPrivate = init.allowPrivateAddresses ?? devnet
  const peerDiscovery: Array<(components: never) => PeerDiscovery> = []
  if ((init.bootstrap ?? []).length > 0) {
    peerDiscovery.push(bootstrap({ list: init.bootstrap ?? [], timeout: devnet ? 100 : 1000 }) as never)
  }
  if (useMdns) peerDiscovery.push(mdns({ serviceTag: 'cairn.local' }) as never)

  const services: Record<string, unknown> = {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({
      protocol: KAD_PROTOCOL,
      clientMode: !serveStore,
      // the default mapper drops loopback and private addresses, which leaves a devnet's routing tables empty
      peerInfoMapper: allowPrivate ? passthroughMapper : removePrivateAddressesMapper,
      allowQueryWithZeroPeers: devnet,
      ...(devnet ? { initialQuerySelfInterval: 200, querySelfInterval: 30_000 } : {}),
    }),
    pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    autonat: autoNAT(),
  }
  if (serveStore && devnet) services.relay = circuitRelayServer()
  if (serveStore && !devnet) {
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: RELAY_MAX_RESERVATIONS,
        defaultDataLimit: BigInt(RELAY_DATA_LIMIT_BYTES),
        defaultDurationLimit: RELAY_DURATION_LIMIT_MS,
      },
      maxInboundHopStreams: RELAY_CIRCUITS_PER_PEER,
      maxOutboundStopStreams: RELAY_CIRCUITS_PER_PEER,
    })
    services.reachability = cairnReachability({
      allowPrivateAddresses: allowPrivate,
      ...(init.announce === undefined ? {} : { announce: init.announce }),
      ...(init.onReachability === undefined ? {} : { onChange: init.onReachability }),
    })
  }
  // @libp2p/dcutr only ever dials public addresses; on a LAN the reachability service upgrades relayed connections
  if (!devnet && !allowPrivate) services.dcutr = dcutr()

  const listen = init.listen ?? [...(devnet ? DEVNET_LISTEN : DEFAULT_LISTEN)]
  const options: Libp2pOptions<CairnServices> = {
    privateKey: init.privateKey,
    start: init.start ?? false,
    addresses: {
      listen,
      ...(init.announce === undefined || init.announce.length === 0 ? {} : { announce: init.announce }),
    },
    transports: (await nodeTransports({
      listen,
      ...(init.transports === undefined ? {} : { transports: init.transports }),
      ...(init.transportRefusals === undefined ? {} : { refusals: init.transportRefusals }),
      ...(init.iceServers === undefined ? {} : { iceServers: init.iceServers.map((urls) => ({ urls })) }),
    })) as never,
    connectionEncrypters: [noise()],
    streamMuxers: [guardedYamux()],
    peerDiscovery: peerDiscovery as never,
    services: services as never,
    nodeInfo: { userAgent: `cairn/${init.version ?? DEFAULT_VERSION}` },
    connectionManager: {
      maxIncomingPendingConnections: MAX_PENDING_INBOUND_CONNECTIONS,
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
    },
    ...(init.connectionGater === undefined ? {} : { connectionGater: init.connectionGater }),
  }
  return (await createLibp2p(options as never)) as CairnLibp2p
}
