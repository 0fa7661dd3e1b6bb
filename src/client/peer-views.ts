import type { PeerState, PeerView } from '../node/index.ts'

const SEVERITY: Record<PeerState, number> = { alive: 0, suspect: 1, dead: 2 }

/**
 * Merges several failure-detector views of the same peers (the client's own, and those of nodes it asked) into one:
 * a peer's state is the one most views report, the worse one on a tie; `lastSeenMs` is the freshest sighting;
 * addresses are the union. A view that reports a peer counts as one vote; a peer reached directly (`direct`) is alive.
 *
 * @example
 * ```ts
 * mergePeerViews([network.peers(), await controlRequest(api, '/peers')])
 * ```
 */
export function mergePeerViews(views: PeerView[][]): PeerView[] {
  const merged = new Map<
    string,
    { view: PeerView; votes: Record<PeerState, number>; addrs: Set<string>; direct: boolean }
  >()
  for (const view of views) {
    for (const peer of view) {
      let entry = merged.get(peer.peerId)
      if (entry === undefined) {
        entry = { view: { ...peer }, votes: { alive: 0, suspect: 0, dead: 0 }, addrs: new Set(), direct: false }
        merged.set(peer.peerId, entry)
      }
      entry.votes[peer.state]++
      if (peer.direct === true) entry.direct = true
      for (const addr of peer.multiaddrs) entry.addrs.add(addr)
      if (peer.lastSeenMs < entry.view.lastSeenMs) entry.view.lastSeenMs = peer.lastSeenMs
      if (peer.freeSpace !== undefined) entry.view.freeSpace = peer.freeSpace
      if (peer.version !== undefined) entry.view.version = peer.version
    }
  }
  return [...merged.values()]
    .map(({ view, votes, addrs, direct }) => {
      const state = direct
        ? 'alive'
        : (Object.keys(votes) as PeerState[]).reduce((best, s) =>
            votes[s] > votes[best] || (votes[s] === votes[best] && SEVERITY[s] > SEVERITY[best]) ? s : best,
          )
      const { direct: _, ...rest } = view
      return { ...rest, state, multiaddrs: [...addrs] }
    })
    .sort((a, b) => a.peerId.localeCompare(b.peerId))
}
