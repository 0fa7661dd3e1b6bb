/**
 * Builds a Cairn node's libp2p host: TCP + WebSockets (+ circuit relay v2 for dialling relayed peers), Noise, Yamux,
 * identify, ping, Kademlia (`/cairn/kad/1.0.0`), gossipsub, AutoNAT, a relay server on storage nodes, and discovery
 * through a bootstrap list and mDNS. Every option is passed explicitly so no public-network default sneaks in.
 */
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, Libp2p, PeerDiscovery, PrivateKey } from '@libp2p/interface'
import { type KadDHT, kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { DEFAULT_LISTEN, DEFAULT_VERSION, DEVNET_LISTEN, KAD_PROTOCOL } from './constants.ts'

export interface CairnHostInit {
  privateKey: PrivateKey
  listen?: string[]
  bootstrap?: string[]
  devnet?: boolean
  mdns?: boolean
  /** Storage nodes run the DHT in server mode and a relay server; client-only hosts do neither. Default true. */
  serveStore?: boolean
  version?: string
  connectionGater?: ConnectionGater
  /** Start the host before returning. Default false. */
  start?: boolean
}

export type CairnServices = {
  identify: unknown
  ping: unknown
  dht: KadDHT
  pubsub: GossipSub
  autonat: unknown
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
      peerInfoMapper: devnet ? passthroughMapper : removePrivateAddressesMapper,
      allowQueryWithZeroPeers: devnet,
      ...(devnet ? { initialQuerySelfInterval: 200, querySelfInterval: 30_000 } : {}),
    }),
    pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    autonat: autoNAT(),
  }
  if (serveStore) services.relay = circuitRelayServer()

  const options: Libp2pOptions<CairnServices> = {
    privateKey: init.privateKey,
    start: init.start ?? false,
    addresses: { listen: init.listen ?? [...(devnet ? DEVNET_LISTEN : DEFAULT_LISTEN)] },
    transports: [tcp(), webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: peerDiscovery as never,
    services: services as never,
    nodeInfo: { userAgent: `cairn/${init.version ?? DEFAULT_VERSION}` },
    ...(init.connectionGater === undefined ? {} : { connectionGater: init.connectionGater }),
  }
  return (await createLibp2p(options as never)) as CairnLibp2p
}
