/**
 * Pure decisions of the repair service: which live node holds which slot, who repairs a lost slot, and which node
 * receives it. No I/O, so every rule is tested directly.
 */
import { createHash } from 'node:crypto'
import type { PeerView } from '../../net/index.ts'
import { addressRange } from '../index.ts'

/**
 * Assigns distinct live holders to slots. `holdersOf[slot]` lists the peers that hold the slot's pieces (for k = 1
 * every copy holds every slot, so one peer may appear for several slots); `previous[slot]` is the holder assigned
 * last time, kept when it is still live so slot numbers stay stable. Returns the holder per slot, or null for a slot
 * no live node holds (a lost slot).
 *
 * @example
 * ```ts
 * assignSlots([['a', 'b'], ['a', 'b'], ['a', 'b']], [null, 'b', null], (p) => p !== 'c') // ['a', 'b', null]
 * ```
 */
export function assignSlots(
  holdersOf: ReadonlyArray<readonly string[]>,
  previous: ReadonlyArray<string | null>,
  isLive: (peerId: string) => boolean,
): Array<string | null> {
  const out: Array<string | null> = holdersOf.map(() => null)
  const used = new Set<string>()
  holdersOf.forEach((holders, slot) => {
    const before = previous[slot]
    if (before != null && holders.includes(before) && isLive(before) && !used.has(before)) {
      out[slot] = before
      used.add(before)
    }
  })
  // Peers holding fewer slots first, so a distinct-piece holder is not taken by a copy-holder's slot.
  const spread = new Map<string, number>()
  for (const holders of holdersOf) for (const p of holders) spread.set(p, (spread.get(p) ?? 0) + 1)
  holdersOf.forEach((holders, slot) => {
    if (out[slot] !== null) return
    const pick = holders
      .filter((p) => isLive(p) && !used.has(p))
      .sort((a, b) => (spread.get(a) ?? 0) - (spread.get(b) ?? 0) || (a < b ? -1 : 1))[0]
    if (pick !== undefined) {
      out[slot] = pick
      used.add(pick)
    }
  })
  return out
}

/**
 * Orders the live holders of a file as repairers: the lowest sha-256 of (manifest CID, peer ID) first. Every holder
 * computes the same order from the same inputs, so exactly one acts first; the next acts only if the slot is still
 * lost after a fallback delay.
 *
 * @example
 * ```ts
 * const rank = repairerOrder(manifestCid, liveHolders).indexOf(myPeerId)
 * ```
 */
export function repairerOrder(manifestCid: string, holders: readonly string[]): string[] {
  const key = (peer: string) => createHash('sha256').update(`${manifestCid}\n${peer}`).digest('hex')
  return [...new Set(holders)]
    .map((p) => ({ p, h: key(p) }))
    .sort((a, b) => (a.h < b.h ? -1 : 1))
    .map((e) => e.p)
}

/** How `chooseRepairTarget` ranks candidates after address spreading. */
export interface RepairTargetRank {
  /** A peer's capacity in bytes as the Registry records it (never a heartbeat's self-reported free space). */
  capacityOf?: (peerId: string) => bigint | undefined
  /** What spreads ties over peers, different per file and slot (e.g. `${manifestCid}:${slot}`). */
  key?: string
}

/**
 * Picks the node that receives a lost slot: alive, not already a holder of the file, not excluded (recent failed
 * targets); in an address group (/24, /48, or the one group of /dns-only peers) none of the live holders is in when
 * one exists; then the largest Registry capacity; then the lowest sha-256 of (key, peer ID). A peer's self-reported
 * free space counts for nothing. Returns undefined when no node qualifies.
 *
 * @example
 * ```ts
 * const target = chooseRepairTarget(network.peers(), liveHolderViews, new Set(allHolders), { key: `${cid}:${slot}` })
 * ```
 */
export function chooseRepairTarget(
  peers: readonly PeerView[],
  holders: ReadonlyArray<Pick<PeerView, 'peerId' | 'multiaddrs'>>,
  exclude: ReadonlySet<string>,
  rank: RepairTargetRank = {},
): PeerView | undefined {
  const taken = new Set(holders.map((h) => repairAddressGroup(h)))
  const capacity = (peer: string) => rank.capacityOf?.(peer) ?? 0n
  const tie = (peer: string) =>
    createHash('sha256')
      .update(`${rank.key ?? ''}\n${peer}`)
      .digest('hex')
  const candidates = peers
    .filter((p) => p.state === 'alive' && !exclude.has(p.peerId))
    .map((peer) => ({ peer, taken: taken.has(repairAddressGroup(peer)), capacity: capacity(peer.peerId) }))
  return candidates.sort(
    (a, b) =>
      Number(a.taken) - Number(b.taken) ||
      (a.capacity === b.capacity ? 0 : a.capacity > b.capacity ? -1 : 1) ||
      (tie(a.peer.peerId) < tie(b.peer.peerId) ? -1 : 1),
  )[0]?.peer
}

/**
 * The address group a peer counts in for spreading a file's slots: its /24 (IPv4) or /48 (IPv6); every peer that
 * advertises only /dns names shares one group (the name says nothing of where the node sits, and many names can
 * point into one rack); a peer with no address is its own group.
 *
 * @example
 * ```ts
 * repairAddressGroup({ peerId: 'p', multiaddrs: ['/dns4/node.example/tcp/4001'] }) // 'dns'
 * ```
 */
export function repairAddressGroup(peer: Pick<PeerView, 'peerId' | 'multiaddrs'>): string {
  const ip = peer.multiaddrs.some((m) => m.startsWith('/ip4/') || m.startsWith('/ip6/'))
  if (!ip && peer.multiaddrs.some((m) => /^\/dns(4|6|addr)?\//.test(m))) return 'dns'
  return addressRange(peer)
}
