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

/**
 * Picks the node that receives a lost slot: alive, not already a holder of the file, not excluded (recent failed
 * targets); in an address range (/24, /48) none of the live holders is in when one exists; then the most free space.
 * Returns undefined when no node qualifies.
 *
 * @example
 * ```ts
 * const target = chooseRepairTarget(network.peers(), liveHolderViews, new Set(allHolders))
 * ```
 */
export function chooseRepairTarget(
  peers: readonly PeerView[],
  holders: ReadonlyArray<Pick<PeerView, 'peerId' | 'multiaddrs'>>,
  exclude: ReadonlySet<string>,
): PeerView | undefined {
  const taken = new Set(holders.map((h) => addressRange(h)))
  const candidates = peers.filter((p) => p.state === 'alive' && !exclude.has(p.peerId))
  return candidates.sort(
    (a, b) =>
      Number(taken.has(addressRange(a))) - Number(taken.has(addressRange(b))) ||
      (b.freeSpace ?? 0) - (a.freeSpace ?? 0) ||
      (a.peerId < b.peerId ? -1 : 1),
  )[0]
}
