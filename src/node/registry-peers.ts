import { type ChainReader, listActiveNodes } from '../chain/index.ts'
import { monotonicNow } from './monotonic-clock.ts'

/** How long a read of the Registry's active nodes is used before it is read again. */
const REGISTRY_PEERS_REFRESH_MS = 30_000
/**
 * The most active nodes read from the Registry, page by page: a staked node past the bound counts as unstaked, so the
 * bound is far above any network Cairn runs today (10,000 nodes is 50 reads of 200).
 */
export const REGISTRY_PEERS_MAX = 10_000
/** Active nodes per `activeNodes` read. */
const REGISTRY_PEERS_PAGE = 200

/** The Registry's active (staked) nodes, as the network layer uses them. */
export interface RegistryPeers {
  /** A peer source: the multiaddrs (with `/p2p/` peer IDs) of every active node. A failing chain gives none. */
  source(): Promise<string[]>
  /**
   * True when the peer is an active, staked node in the last read of the Registry: answered from memory (the peer
   * view asks on every heartbeat); a read older than 30 s starts a new one in the background.
   */
  isStaked(peerId: string): boolean
  /**
   * The capacity in bytes the node declared in the Registry (undefined when it is not active there), from the same
   * read as `isStaked`: what repair ranks targets by, never a heartbeat's self-reported free space.
   */
  capacityOf(peerId: string): bigint | undefined
}

/**
 * The Registry as a bootstrap source and as the peer view's rank: staked nodes are never displaced by fresh keys.
 *
 * @example
 * ```ts
 * const registry = registryPeers(reader)
 * createNetwork(components, { peerSources: [registry.source], peerView: { isStaked: registry.isStaked } })
 * createRepairService(components, { isEligible: registry.isStaked, capacityOf: registry.capacityOf })
 * ```
 */
export function registryPeers(reader: ChainReader): RegistryPeers {
  let addresses: string[] = []
  let staked = new Map<string, bigint>()
  let readAt = Number.NEGATIVE_INFINITY
  let reading: Promise<void> | undefined
  const refresh = (): Promise<void> => {
    reading ??= (async () => {
      try {
        const nodes = await listActiveNodes(reader, { limit: REGISTRY_PEERS_MAX, pageSize: REGISTRY_PEERS_PAGE })
        staked = new Map(nodes.map((node) => [node.peerId, node.capacity]))
        addresses = nodes.flatMap((node) =>
          node.multiaddrs
            .filter((m) => !m.includes('/0.0.0.0/'))
            .map((m) => (m.includes('/p2p/') ? m : `${m}/p2p/${node.peerId}`)),
        )
        readAt = monotonicNow()
      } catch {
        // an unreachable chain keeps the last read; the other join sources still work
      } finally {
        reading = undefined
      }
    })()
    return reading
  }
  const stale = () => monotonicNow() - readAt > REGISTRY_PEERS_REFRESH_MS
  return {
    source: async () => {
      if (stale()) await refresh()
      return addresses
    },
    isStaked: (peerId) => {
      if (stale()) void refresh()
      return staked.has(peerId)
    },
    capacityOf: (peerId) => {
      if (stale()) void refresh()
      return staked.get(peerId)
    },
  }
}
