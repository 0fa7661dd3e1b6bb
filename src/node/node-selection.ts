import type { PeerView } from './interface.ts'

/**
 * The network range a peer sits in, for spreading slots: the /24 of its first public-looking IPv4 address, the /48
 * of an IPv6 one, else the peer itself (so unknown peers never count as one range).
 */
export function addressRange(peer: Pick<PeerView, 'peerId' | 'multiaddrs'>): string {
  for (const addr of peer.multiaddrs) {
    const v4 = /^\/ip4\/(\d+)\.(\d+)\.(\d+)\.\d+/.exec(addr)
    if (v4 !== null) return `ip4:${v4[1]}.${v4[2]}.${v4[3]}`
  }
  for (const addr of peer.multiaddrs) {
    const v6 = /^\/ip6\/([0-9a-f:]+)/i.exec(addr)
    if (v6?.[1] !== undefined) {
      const groups = v6[1].split(':').slice(0, 3)
      return `ip6:${groups.join(':')}`
    }
  }
  return `peer:${peer.peerId}`
}

/**
 * Orders candidate nodes for a file's slots: distinct peers, alternating between address ranges (so the first `n`
 * spread over as many /24s as exist), at random inside a range. Self-reported free space ranks nothing: any peer can
 * claim a petabyte, and placement that believed it would hand every slot to whoever lies most (a node short of room
 * refuses the pieces and the put moves on to a spare). The first n are the slots' nodes; the rest are spares.
 *
 * @example
 * ```ts
 * const [first, second, third, ...spares] = orderForPlacement(liveNodes)
 * ```
 */
export function orderForPlacement(candidates: PeerView[], random: () => number = Math.random): PeerView[] {
  const seen = new Set<string>()
  const groups = new Map<string, Array<{ peer: PeerView; tie: number }>>()
  for (const peer of candidates) {
    if (seen.has(peer.peerId)) continue
    seen.add(peer.peerId)
    const range = addressRange(peer)
    let group = groups.get(range)
    if (group === undefined) groups.set(range, (group = []))
    group.push({ peer, tie: random() })
  }
  const queues = [...groups.values()].map((group) => group.sort((a, b) => a.tie - b.tie).map((e) => e.peer))
  // Randomize which range goes first, so that small networks do not always load the same range most.
  const order = queues.map((queue) => ({ queue, tie: random() })).sort((a, b) => a.tie - b.tie)
  const out: PeerView[] = []
  let remaining = true
  while (remaining) {
    remaining = false
    for (const { queue } of order) {
      const next = queue.shift()
      if (next !== undefined) {
        out.push(next)
        remaining = true
      }
    }
  }
  return out
}
