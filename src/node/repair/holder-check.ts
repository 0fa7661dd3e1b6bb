/**
 * Holders' claims are spot-checked: a peer that answers "I hold slot s" counts as its holder only once one piece of
 * the slot, from a segment chosen at random each time, was fetched from it and hash-checked against the manifest. A
 * peer that serves wrong bytes or denies the piece is remembered as failed for `failedPeerMs` (no holder, no source,
 * no target); a peer that only times out is not counted this round.
 */
import { randomInt } from 'node:crypto'
import { CorruptDataError, NotFoundError } from '../../errors.ts'
import { verifyPiece } from '../../storage/index.ts'
import {
  DEFAULT_REPAIR_FAILED_PEER_MS,
  DEFAULT_REPAIR_SPOT_CHECK_TIMEOUT_MS,
  DEFAULT_REPAIR_SPOT_CHECK_TTL_MS,
} from './constants.ts'
import type { RepairContext } from './repair-context.ts'
import { errorText } from './repair-log.ts'
import type { TrackedFile } from './tracked-file.ts'

/** Passed checks kept at most; older ones are dropped first when over. */
const MAX_VERIFIED = 100_000

/**
 * True when `peer` may count as the holder of `slot`: trusted (eligible, not failed) and it passed a spot check of
 * the slot within `spotCheckTtlMs` (one is run now otherwise). This node counts for itself without a check.
 */
export async function checkHolder(
  context: RepairContext,
  file: TrackedFile,
  peer: string,
  slot: number,
): Promise<boolean> {
  if (peer === context.me()) return true
  if (!context.trusts(peer)) return false
  const segments = file.manifest.segments
  // Slots with the same pieces (k = 1 copies) share one check.
  const key = `${file.key}:${peer}:${segments[0]!.pieces[slot]!.toString()}`
  const ttl = context.init.spotCheckTtlMs ?? DEFAULT_REPAIR_SPOT_CHECK_TTL_MS
  const passed = context.verified.get(key)
  if (passed !== undefined && Date.now() - passed < ttl) return true
  const cid = segments[randomInt(segments.length)]!.pieces[slot]!
  try {
    const bytes = await context.network().fetchPiece(peer, cid, context.deadline(DEFAULT_REPAIR_SPOT_CHECK_TIMEOUT_MS))
    verifyPiece(cid, bytes)
  } catch (err) {
    if (err instanceof CorruptDataError || err instanceof NotFoundError) {
      rejectHolder(context, file, peer, slot, `spot check of piece ${cid.toString()} failed: ${errorText(err)}`)
    }
    return false
  }
  context.verified.delete(key)
  context.verified.set(key, Date.now())
  if (context.verified.size > MAX_VERIFIED) context.verified.delete(context.verified.keys().next().value!)
  return true
}

/** Remembers `peer` as failed (no holder, source or target for `failedPeerMs`) and reports it. */
export function rejectHolder(context: RepairContext, file: TrackedFile, peer: string, slot: number, reason: string) {
  context.failedPeers.set(peer, Date.now() + (context.init.failedPeerMs ?? DEFAULT_REPAIR_FAILED_PEER_MS))
  for (const key of context.verified.keys()) if (key.includes(`:${peer}:`)) context.verified.delete(key)
  context.emit({ type: 'repair:holder-rejected', manifestCid: file.key, slot, peerId: peer, reason })
}
