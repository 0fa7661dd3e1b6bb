/**
 * Healing a piece of this node's slots found missing or corrupt on disk (by a read or the scrub): rebuilt from the
 * other holders and rewritten. Concurrent heals of one piece share one rebuild.
 */
import type { CID } from 'multiformats/cid'
import { NotFoundError } from '../../errors.ts'
import type { AbortOptions } from '../index.ts'
import type { RepairContext } from './repair-context.ts'
import { errorText } from './repair-log.ts'
import { rebuildSlotPiece } from './slot-piece-rebuild.ts'

/** Heals one piece; returns its bytes. */
export type PieceHealer = (cid: CID, options?: AbortOptions) => Promise<Uint8Array>

/** A healer over the context's files; a second call for a piece being healed waits for the first. */
export function createPieceHealer(context: RepairContext): PieceHealer {
  const healing = new Map<string, Promise<Uint8Array>>()
  return async (cid, options = {}) => {
    const id = cid.toString()
    const running = healing.get(id)
    if (running !== undefined) return await running
    const heal = healPiece(context, cid, options).finally(() => healing.delete(id))
    healing.set(id, heal)
    return await heal
  }
}

async function healPiece(context: RepairContext, cid: CID, options: AbortOptions): Promise<Uint8Array> {
  const id = cid.toString()
  const where = context.index.get(id)
  const file = where === undefined ? undefined : context.files.get(where.key)
  if (where === undefined || file === undefined) throw new NotFoundError(`piece ${id} is in no file this node holds`)
  try {
    const bytes = await rebuildSlotPiece(context, file, where.segment, where.slot, options)
    await context.store.put(cid, bytes, options)
    context.emit({
      type: 'repair:piece-healed',
      manifestCid: file.key,
      cid: id,
      segment: where.segment,
      slot: where.slot,
      reason: 'missing or corrupt on disk',
    })
    return bytes
  } catch (err) {
    context.emit({ type: 'repair:piece-failed', manifestCid: file.key, cid: id, error: errorText(err) })
    throw err
  }
}
