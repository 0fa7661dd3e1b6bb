/**
 * Where a page finds storage nodes: the network file's bootstrap list, then the Registry's active nodes (their
 * registered endpoints, read through the file's RPC endpoints), so that a page reaches nodes that joined after the
 * file was written, nodes behind NAT (their `<relay>/p2p-circuit/webrtc` endpoints) and the holders of any file.
 * Only addresses of a transport the page has are kept; a Registry that cannot be read leaves the bootstrap list.
 */
import { createChainReader, listActiveNodes } from '../chain/index.ts'
import type { AbortOptions } from '../node/index.ts'
import type { BrowserNetwork } from './browser-client.ts'

/** How long a page waits for the Registry's node list before it goes on with the bootstrap list alone. */
export const REGISTRY_READ_TIMEOUT_MS = 10_000

/** The transport a page dials an address with: `webrtc` (relay-signalled), `webrtc-direct`, `ws`, or another. */
export function pageTransportOf(address: string): string {
  if (/\/p2p-circuit\/webrtc(\/|$)/.test(address)) return 'webrtc'
  if (address.includes('/p2p-circuit')) return 'relay'
  if (address.includes('/webrtc-direct')) return 'webrtc-direct'
  if (/\/wss?(\/|$)/.test(address)) return 'ws'
  return 'tcp'
}

/**
 * Per node, its addresses of the given transports in the order of `transports`; nodes of the bootstrap list first,
 * then the Registry's in random order (a page that dials only the first few spreads its load).
 */
export async function pageNodeAddresses(
  network: BrowserNetwork,
  transports: readonly string[],
  options: AbortOptions & { registry?: boolean } = {},
): Promise<Map<string, string[]>> {
  const listed = [...network.bootstrap]
  if (options.registry !== false) {
    const registered = await registryAddresses(network, options).catch(() => [])
    for (let i = registered.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[registered[i], registered[j]] = [registered[j]!, registered[i]!]
    }
    listed.push(...registered.flat())
  }
  const byPeer = new Map<string, string[]>()
  for (const address of listed) {
    const at = address.lastIndexOf('/p2p/')
    if (at < 0) continue
    const peer = address.slice(at + 5)
    if (!byPeer.has(peer)) byPeer.set(peer, [])
  }
  for (const [peer] of byPeer) {
    const mine = listed.filter((a) => a.endsWith(`/p2p/${peer}`))
    const ordered = transports.flatMap((t) => mine.filter((a) => pageTransportOf(a) === t))
    byPeer.set(peer, [...new Set(ordered)])
  }
  for (const [peer, addresses] of byPeer) if (addresses.length === 0) byPeer.delete(peer)
  return byPeer
}

/** The Registry's active nodes' endpoints, each ending in `/p2p/<peer ID>`, one list per node. */
async function registryAddresses(network: BrowserNetwork, options: AbortOptions): Promise<string[][]> {
  const reader = createChainReader({
    rpcUrl: network.rpc,
    ...(network.rpcFallbacks === undefined ? {} : { fallbackRpcUrls: network.rpcFallbacks }),
    chainId: network.chainId,
    contracts: network.contracts as never,
  })
  const timeout = AbortSignal.timeout(REGISTRY_READ_TIMEOUT_MS)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
  const nodes = await listActiveNodes(reader, {}, { signal })
  return nodes.map((node) =>
    node.multiaddrs.flatMap((m) => {
      if (m.includes('/0.0.0.0/') || m.includes('/::/')) return []
      const own = `/p2p/${node.peerId}`
      if (m.endsWith(own)) return [m]
      // an endpoint that ends in another node's ID is not this node's
      return /\/p2p\/[^/]+$/.test(m) ? [] : [`${m}${own}`]
    }),
  )
}
