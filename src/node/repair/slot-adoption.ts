/**
 * Adoption: a node that received a file's manifest before any of its pieces is being sent a slot by a repairer. Once
 * it holds every piece of a slot it takes the slot as its own and reports it (`onSlotRepaired`: the chain's repairSlot).
 */
import { slotPieces } from '../../storage/index.ts'
import { DEFAULT_REPAIR_ADOPT_TIMEOUT_MS } from './constants.ts'
import { indexSlots, untrackFile } from './file-tracking.ts'
import type { RepairContext } from './repair-context.ts'
import type { TrackedFile } from './tracked-file.ts'

/**
 * Takes the first slot of an adopting file this node holds complete; gives up after the adoption timeout, and then
 * stops tracking the file if this node holds no slot of it (a manifest alone tracks nothing for long).
 */
export async function checkAdoption(context: RepairContext, file: TrackedFile, now: number): Promise<void> {
  if (now - file.adoptingSince! > (context.init.adoptTimeoutMs ?? DEFAULT_REPAIR_ADOPT_TIMEOUT_MS)) {
    file.adoptingSince = undefined
    if (file.mySlots.size === 0) untrackFile(context, file)
    context.queueSave()
    return
  }
  const first = file.manifest.segments[0]!.pieces
  for (let slot = 0; slot < file.manifest.n; slot++) {
    if (!(await context.store.has(first[slot]!).catch(() => false))) continue
    const held = await Promise.all(slotPieces(file.manifest, slot).map((c) => context.store.has(c).catch(() => false)))
    if (!held.every(Boolean)) continue
    file.adoptingSince = undefined
    file.mySlots.add(slot)
    file.holders[slot] = context.me()
    indexSlots(context, file)
    context.queueSave()
    const event = { manifestCid: file.key, slot, newHolder: context.me() }
    context.emit({ type: 'repair:adopted', ...event })
    try {
      await context.init.onSlotRepaired?.(event)
    } catch {}
    return
  }
}
