/**
 * The scrub: every piece of this node's slots is checked present, and a few (rotating) are read back and verified, so
 * a piece nobody reads is healed too.
 */
import { CorruptDataError, NotFoundError } from '../../errors.ts'
import { slotPieces } from '../../storage/index.ts'
import { DEFAULT_REPAIR_SCRUB_READS } from './constants.ts'
import type { PieceHealer } from './piece-heal.ts'
import type { RepairContext } from './repair-context.ts'

/** One scrub round over every tracked file; heals what it finds missing or corrupt. Stops when the service stops. */
export async function scrubFiles(context: RepairContext, heal: PieceHealer): Promise<void> {
  if (!context.started) return
  let reads = context.init.scrubReads ?? DEFAULT_REPAIR_SCRUB_READS
  for (const file of context.files.values()) {
    for (const slot of file.mySlots) {
      for (const cid of slotPieces(file.manifest, slot)) {
        if (!context.started) return
        if (await context.store.has(cid).catch(() => true)) continue
        await heal(cid).catch(() => {})
      }
    }
    // Read back a few pieces (rotating) so corruption nobody reads is found too.
    const mine = [...file.mySlots].flatMap((slot) => slotPieces(file.manifest, slot))
    while (reads > 0 && mine.length > 0 && context.started) {
      const cid = mine[file.scrubCursor++ % mine.length]!
      reads--
      try {
        await context.store.get(cid)
      } catch (err) {
        if (err instanceof CorruptDataError || err instanceof NotFoundError) await heal(cid).catch(() => {})
      }
      if (file.scrubCursor % mine.length === 0) break
    }
  }
}
