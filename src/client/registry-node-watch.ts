/**
 * How a client-only host (the CLI, the gateway) finds the storage nodes of a network it knows only by its network
 * file: the Registry's active nodes are read from the chain, their registered addresses recorded in the host's peer
 * store, and each is watched with direct heartbeats, so it shows up alive in the host's failure detector within a
 * heartbeat. No control API and no devnet are needed.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { type ChainReader, listActiveNodes } from '../chain/index.ts'
import type { Network } from '../net/index.ts'
import { abortableSleep } from '../storage/index.ts'

/** How long a read of the Registry is reused before the next `refresh` reads it again. */
const REGISTRY_READ_TTL_MS = 30_000
/** How often `settle` looks at the failure detector while it waits. */
const SETTLE_POLL_MS = 100
/**
 * Most Registry nodes a client host reads and watches: each needs a stake, so this bounds what an attacker registering
 * nodes can make a client dial, far above any network Cairn runs today.
 */
export const MAX_WATCHED_REGISTRY_NODES = 2_000
/** Most registered addresses recorded per node (a node registers at most 8). */
const MAX_ADDRESSES_PER_NODE = 8
/** Longest `settle` waits by default for registered nodes to answer. */
export const DEFAULT_SETTLE_TIMEOUT_MS = 10_000

/** The Registry's nodes as a client host sees them. */
export interface RegistryNodeWatch {
  /** Reads the Registry (at most every 30 s), records the nodes' addresses and watches them; returns their peer IDs. */
  refresh(options?: { signal?: AbortSignal }): Promise<string[]>
  /** Waits until every registered node answered a heartbeat, or `timeoutMs` (default 10 s) passed since the first call. */
  settle(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>
}

/**
 * Watches the Registry's active nodes from a client host.
 *
 * @example
 * ```ts
 * const nodes = watchRegistryNodes(network, reader)
 * await nodes.refresh()
 * await nodes.settle()
 * console.log(network.peers())
 * ```
 */
export function watchRegistryNodes(network: Network, reader: ChainReader): RegistryNodeWatch {
  let readAt = 0
  let peerIds: string[] = []
  let settleStarted: number | undefined
  const refresh = async (options: { signal?: AbortSignal } = {}): Promise<string[]> => {
    if (Date.now() - readAt < REGISTRY_READ_TTL_MS) return peerIds
    const nodes = await listActiveNodes(reader, { limit: MAX_WATCHED_REGISTRY_NODES, pageSize: 200 }, options)
    const addresses = nodes.flatMap((node) =>
      node.multiaddrs
        .slice(0, MAX_ADDRESSES_PER_NODE)
        .filter((m) => !m.includes('/0.0.0.0/') && !m.includes('/::/'))
        .map((m) => (m.includes('/p2p/') ? m : `${m}/p2p/${node.peerId}`)),
    )
    await seedAddresses(network, addresses)
    peerIds = [...new Set(nodes.map((node) => node.peerId).filter((id) => isPeerId(id)))]
    readAt = Date.now()
    network.watch(peerIds)
    return peerIds
  }
  return {
    refresh,
    async settle(options = {}) {
      const ids = await refresh(options)
      settleStarted ??= Date.now()
      const deadline = settleStarted + (options.timeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS)
      while (Date.now() < deadline) {
        const alive = new Set(
          network
            .peers()
            .filter((p) => p.state === 'alive')
            .map((p) => p.peerId),
        )
        if (ids.every((id) => id === network.peerId || alive.has(id))) return
        await abortableSleep(SETTLE_POLL_MS, options.signal)
      }
    },
  }
}

function isPeerId(text: string): boolean {
  try {
    peerIdFromString(text)
    return true
  } catch {
    return false
  }
}

/**
 * Adds `/p2p/`-terminated addresses to the host's peer store, so that a request to that peer can dial (invalid ones
 * are skipped).
 *
 * @example
 * ```ts
 * await seedAddresses(network, ['/ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...'])
 * ```
 */
export async function seedAddresses(network: Network, addrs: string[]): Promise<void> {
  const byPeer = new Map<string, string[]>()
  for (const addr of addrs) {
    const id = /\/p2p\/([^/]+)$/.exec(addr)?.[1]
    if (id === undefined) continue
    byPeer.set(id, [...(byPeer.get(id) ?? []), addr.slice(0, -`/p2p/${id}`.length)])
  }
  for (const [id, list] of byPeer) {
    try {
      await network.libp2p.peerStore.merge(peerIdFromString(id), { multiaddrs: list.map((a) => multiaddr(a)) })
    } catch {}
  }
}
