/** A tracked file as the repair service shows it: each slot's holder and state, repairs in flight, readability. */
import type { PeerState } from '../index.ts'
import type { RepairFileView, RepairSlotView } from './interface.ts'
import type { ActiveRepair, TrackedFile } from './tracked-file.ts'

/**
 * The view of `file` given the failure detector's `states`, this node's peer ID `me`, and the slot repairs in flight
 * (by `${file key}:${slot}`).
 */
export function repairFileView(
  file: TrackedFile,
  states: Map<string, PeerState>,
  me: string,
  active: ReadonlyMap<string, ActiveRepair>,
): RepairFileView {
  const slots: RepairSlotView[] = file.holders.map((peerId, slot) => {
    const repair = active.get(`${file.key}:${slot}`)
    const state = peerId === null ? 'lost' : peerId === me ? 'self' : (states.get(peerId) ?? 'suspect')
    return { slot, peerId, state, ...(repair === undefined ? {} : { repair: { ...repair } }) }
  })
  const slotsAlive = slots.filter((s) => s.state === 'self' || s.state === 'alive').length
  return {
    manifestCid: file.key,
    k: file.manifest.k,
    n: file.manifest.n,
    segments: file.manifest.segments.length,
    mySlots: [...file.mySlots].sort((a, b) => a - b),
    slotsAlive,
    readable: slotsAlive >= file.manifest.k,
    slots,
    adopting: file.adoptingSince !== undefined,
  }
}
