/**
 * Which transport a multiaddr names, and address lists that keep every transport represented: a node registers at
 * most 8 addresses and a network file lists a few per node, and a browser can use only the WebSocket and
 * WebRTC-direct ones, so a short list must not be all TCP.
 */
import type { CairnTransport } from './node-transports.ts'

/**
 * The transport `address` is dialled with: `webrtc` (`<relay>/p2p-circuit/webrtc/p2p/<peer>`, WebRTC signalled over
 * a relay, then direct; `/webrtc/p2p/<peer>` as the node sees such a connection), `circuit-relay` (any other
 * `/p2p-circuit`), `webrtc-direct`, `ws` (`/ws`, `/wss`, `/tls/ws`), `tcp`, or `other` (QUIC, WebTransport, unix
 * sockets: none of Cairn's).
 *
 * @example
 * ```ts
 * addressTransport('/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooW...') // 'ws'
 * ```
 */
export function addressTransport(address: string): CairnTransport | 'other' {
  const parts = address.split('/')
  const circuit = parts.indexOf('p2p-circuit')
  if (parts[circuit + 1] === 'webrtc' || parts[1] === 'webrtc') return 'webrtc'
  if (circuit >= 0) return 'circuit-relay'
  if (parts.includes('webrtc-direct')) return 'webrtc-direct'
  if (parts.includes('ws') || parts.includes('wss')) return 'ws'
  if (parts.includes('tcp')) return 'tcp'
  return 'other'
}

/**
 * Reorders `addresses` round-robin across transports (first TCP, WebSocket, WebRTC-direct, relayed and other
 * addresses, then the second of each, ...), keeping each transport's own order, so that any prefix of the result
 * holds every transport the list has.
 *
 * @example
 * ```ts
 * interleaveTransports(['/ip4/a/tcp/1', '/ip4/b/tcp/1', '/ip4/a/tcp/2/ws']) // ['/ip4/a/tcp/1', '/ip4/a/tcp/2/ws', '/ip4/b/tcp/1']
 * ```
 */
export function interleaveTransports(addresses: readonly string[]): string[] {
  const groups = new Map<string, string[]>()
  for (const address of addresses) {
    const transport = addressTransport(address)
    const group = groups.get(transport)
    if (group === undefined) groups.set(transport, [address])
    else group.push(address)
  }
  const lists = [...groups.values()]
  const out: string[] = []
  for (let round = 0; out.length < addresses.length; round++) {
    for (const list of lists) if (round < list.length) out.push(list[round]!)
  }
  return out
}

/**
 * The first address of each transport among those that end with `/p2p/<peer ID>` (a network file's bootstrap entries
 * for one node: TCP for CLI clients and nodes, WebSocket and WebRTC-direct for pages).
 *
 * @example
 * ```ts
 * firstAddressPerTransport(node.multiaddrs) // ['/ip4/127.0.0.1/tcp/4001/p2p/12D3...', '/ip4/127.0.0.1/tcp/4002/ws/p2p/12D3...', ...]
 * ```
 */
export function firstAddressPerTransport(addresses: readonly string[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const address of addresses) {
    if (!address.includes('/p2p/')) continue
    const transport = addressTransport(address)
    if (seen.has(transport)) continue
    seen.add(transport)
    out.push(address)
  }
  return out
}
