import { type ChainReader, listActiveNodes } from '../chain/index.ts'

/**
 * The Registry as a bootstrap source: the multiaddrs (with `/p2p/` peer IDs) of every active node. A failing chain
 * gives no addresses rather than an error, so the other join sources still work.
 *
 * @example
 * ```ts
 * createNetwork(components, { peerSources: [registryPeerSource(reader)] })
 * ```
 */
export function registryPeerSource(reader: ChainReader): () => Promise<string[]> {
  return async () => {
    try {
      const nodes = await listActiveNodes(reader, { limit: 200 })
      return nodes.flatMap((node) =>
        node.multiaddrs
          .filter((m) => !m.includes('/0.0.0.0/'))
          .map((m) => (m.includes('/p2p/') ? m : `${m}/p2p/${node.peerId}`)),
      )
    } catch {
      return []
    }
  }
}
