/**
 * Placement: which live node holds which slot of a tracked file. This node asks the file's known holders (and, while
 * a slot has no live holder, every live peer) which slots' first pieces they hold, assigns one holder per slot, learns
 * its own slots from the answer, and watches the other holders (direct heartbeats).
 */
import { indexSlots } from './file-tracking.ts'
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
  const candidates = [...new Set([...known, ...others])].filter((p) => p !== me && states.get(p) !== 'dead')
  const holdersOf: string[][] = first.map(() => [])
  const mine = await Promise.all(first.map((cid) => context.store.has(cid).catch(() => false)))
  mine.forEach((has, slot) => {
    if (has || file.mySlots.has(slot)) holdersOf[slot]!.push(me)
  })
  const answered = new Set<string>([me])
  await Promise.all(
    candidates.map(async (peer) => {
      try {
        const answer = await network.hasPieces(peer, first, context.deadline(PROBE_TIMEOUT_MS))
        answered.add(peer)
        answer.forEach((has, slot) => {
          if (has) holdersOf[slot]!.push(peer)
        })
      } catch {}
    }),
  )
  // Peers outside this round (not asked) keep their slot while the detector still sees them alive.
  const live = (peer: string) => answered.has(peer) || (!candidates.includes(peer) && states.get(peer) === 'alive')
  file.holdersOf = holdersOf
  const previous = file.holders
  file.holders = assignSlots(
    holdersOf.map((list, slot) =>
      previous[slot] != null && !list.includes(previous[slot]) && live(previous[slot])
        ? [...list, previous[slot]]
        : list,
    ),
    previous,
    live,
  )
  file.refreshedAt = Date.now()
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
