/**
 * Failure detection, one round: for each tracked file, adoption progress, a placement refresh when a holder died, a
 * slot is lost or the placement is old, then the lost slots. The live holders rank themselves by sha-256 of
 * (manifest CID, peer ID); the first repairs a slot lost for `confirmMs`, the others only if it is still lost after
 * `rank x fallbackMs`.
 */

import { monotonicNow } from '../monotonic-clock.ts'
import {
  DEFAULT_REPAIR_CONFIRM_MS,
  DEFAULT_REPAIR_FALLBACK_MS,
  DEFAULT_REPAIR_PLACEMENT_REFRESH_MS,
} from './constants.ts'
import { refreshPlacement } from './placement-refresh.ts'
import type { RepairContext } from './repair-context.ts'
import { repairerOrder } from './repair-placement.ts'
import { checkAdoption } from './slot-adoption.ts'
import { repairSlot } from './slot-repair.ts'
import type { TrackedFile } from './tracked-file.ts'

/** While a slot stays lost, how often its holders are asked again (the repairer asks again before acting too). */
const LOST_REFRESH_MS = 3_000

/** One round over every tracked file; a file's failure does not stop the others. Stops when the service stops. */
export async function checkFiles(context: RepairContext): Promise<void> {
  if (!context.started) return
  for (const file of context.files.values()) {
    if (!context.started) return
    try {
      await checkFile(context, file)
    } catch {}
  }
}

async function checkFile(context: RepairContext, file: TrackedFile): Promise<void> {
  const now = monotonicNow()
  const me = context.me()
  if (file.adoptingSince !== undefined) {
    await checkAdoption(context, file, now)
    // A file this node holds no slot of yet is not its to watch: no probes, no repairs.
    if (file.mySlots.size === 0) return
  }
  const states = context.peerStates()
  const holderDied = file.holders.some((h) => h !== null && h !== me && states.get(h) === 'dead')
  const slotLost = file.holders.some((h) => h === null)
  const refreshMs = context.init.placementRefreshMs ?? DEFAULT_REPAIR_PLACEMENT_REFRESH_MS
  // While a slot stays lost, ask around every few seconds (not every round): the repairer asks again before acting.
  const lostDue = slotLost && now - file.refreshedAt >= LOST_REFRESH_MS
  if (file.refreshedAt === 0 || holderDied || lostDue || now - file.refreshedAt > refreshMs) {
    await refreshPlacement(context, file, holderDied || slotLost || file.refreshedAt === 0)
  }
  const lost = file.holders.flatMap((h, slot) => (h === null ? [slot] : []))
  for (const slot of file.lostSince.keys()) if (!lost.includes(slot)) file.lostSince.delete(slot)
  if (lost.length === 0 || !file.mySlots.size) return
  const live = file.holders.filter((h): h is string => h !== null)
  const rank = repairerOrder(file.key, live).indexOf(me)
  if (rank < 0) return
  const confirm = context.init.confirmMs ?? DEFAULT_REPAIR_CONFIRM_MS
  const fallback = context.init.fallbackMs ?? DEFAULT_REPAIR_FALLBACK_MS
  for (const slot of lost) {
    const since = file.lostSince.get(slot)
    if (since === undefined) {
      file.lostSince.set(slot, now)
      context.emit({ type: 'repair:slot-lost', manifestCid: file.key, slot, lastHolder: file.holders[slot]!, rank })
      continue
    }
    const key = `${file.key}:${slot}`
    if (context.active.has(key) || (file.retryAfter.get(slot) ?? 0) > now) continue
    if (now - since < confirm + rank * fallback) continue
    repairSlot(context, file, slot).catch(() => {})
  }
}
