/**
 * Placement: which live node holds which slot of a tracked file. This node asks the file's known holders (and, while
 * a slot has no live holder, every live peer) which slots' first pieces they hold, assigns one holder per slot, learns
 * its own slots from the answer, and watches the other holders (direct heartbeats). Only trusted peers (eligible, not
 * failed) are asked, and a claim counts only once the claimer passed a spot check of the slot (holder-check.ts).
 */

import { monotonicNow } from '../monotonic-clock.ts'
import { indexSlots } from './file-tracking.ts'
import { checkHolder } from './holder-check.ts'
import type { RepairContext } from './repair-context.ts'
import { assignSlots } from './repair-placement.ts'
import type { TrackedFile } from './tracked-file.ts'

/** Deadline of one has-pieces question. */
const PROBE_TIMEOUT_MS = 10_000

/** Asks who holds each slot's first piece; `wide` asks every live peer, else only the known holders. */
export async function refreshPlacement(context: RepairContext, file: TrackedFile, wide: boolean): Promise<void> {
  const network = context.network()
  const me = network.peerId
  const first = file.manifest.segments[0]!.pieces
  const states = context.peerStates()
  const known = file.holders.filter((h): h is string => h !== null && h !== me)
  const others = wide
    ? network
        .peers()
        .filter((p) => p.state !== 'dead')
        .map((p) => p.peerId)
    : []
  const candidates = [...new Set([...known, ...others])].filter(
    (p) => p !== me && states.get(p) !== 'dead' && context.trusts(p),
  )
  const holdersOf: string[][] = first.map(() => [])
  const mine = await Promise.all(first.map((cid) => context.store.has(cid).catch(() => false)))
  mine.forEach((has, slot) => {
    if (has || file.mySlots.has(slot)) holdersOf[slot]!.push(me)
  })
  const answered = new Set<string>([me])
  const claims = new Map<string, number[]>()
  await Promise.all(
    candidates.map(async (peer) => {
      try {
        const answer = await network.hasPieces(peer, first, context.deadline(PROBE_TIMEOUT_MS))
        answered.add(peer)
        claims.set(
          peer,
          answer.flatMap((has, slot) => (has ? [slot] : [])),
        )
      } catch {}
    }),
  )
  // A previous holder that still answers keeps its slot while it heals a missing first piece, if it passes the check.
  file.holders.forEach((peer, slot) => {
    if (peer === null || peer === me || !answered.has(peer)) return
    const slots = claims.get(peer) ?? []
    if (!slots.includes(slot)) claims.set(peer, [slot, ...slots])
  })
  // Each claim is spot-checked (one peer's slots one after another: a failed check ends its other claims).
  await Promise.all(
    [...claims].map(async ([peer, slots]) => {
      for (const slot of slots) if (await checkHolder(context, file, peer, slot)) holdersOf[slot]!.push(peer)
    }),
  )
  // Peers outside this round (not asked) keep their slot while the detector still sees them alive.
  const live = (peer: string) =>
    context.trusts(peer) && (answered.has(peer) || (!candidates.includes(peer) && states.get(peer) === 'alive'))
  file.holdersOf = holdersOf
  const previous = file.holders
  file.holders = assignSlots(holdersOf, previous, live)
  file.refreshedAt = monotonicNow()
  const before = [...file.mySlots].join()
  file.mySlots = new Set(file.holders.flatMap((h, slot) => (h === me ? [slot] : [])))
  for (const slot of previous.keys()) if (previous[slot] === me && file.holders[slot] !== me) file.mySlots.add(slot)
  if ([...file.mySlots].join() !== before) {
    indexSlots(context, file)
    context.queueSave()
  }
  const watch = file.holders.filter((h): h is string => h !== null && h !== me)
  if (watch.length > 0) network.watch(watch)
}
