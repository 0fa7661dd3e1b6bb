/**
 * Another holder's slot repair in flight. A repair sends the target the manifest first and the slot's first piece
 * last, so until it ends its target is a live node outside the file that holds the manifest and some of the slot's
 * pieces. While the pieces it holds keep growing, a second repair would only copy the same slot to a second node (on a
 * loaded machine or for a large slot, every other holder's fallback runs out long before the first repair ends): the
 * other holders wait. A repair that stops growing for a fallback period is taken over, and so is one still "growing"
 * after MAX_WAIT_FALLBACKS fallback periods (a peer that answers has-pieces with a slowly growing lie delays a repair
 * by that much at most).
 */
import { manifestPieceCid } from '../../storage/index.ts'
import { monotonicNow } from '../monotonic-clock.ts'
import type { RepairContext } from './repair-context.ts'
import type { TrackedFile } from './tracked-file.ts'

/** Most of a slot's pieces asked about per peer (spread over the slot): progress shows in any sample of it. */
const SAMPLED_PIECES = 255
/** The longest other holders wait for one repair in flight, in fallback periods. */
const MAX_WAIT_FALLBACKS = 10
/** Deadline of one has-pieces question. */
const PROBE_TIMEOUT_MS = 10_000

/**
 * The target of another repair of `slot` that is still making progress, or undefined when none is seen (or the one
 * seen made no progress for `stallMs`): then this node may repair the slot itself.
 */
export async function repairInFlight(
  context: RepairContext,
  file: TrackedFile,
  slot: number,
  candidates: readonly string[],
  stallMs: number,
): Promise<string | undefined> {
  const segments = file.manifest.segments
  // The slot's pieces but the first (sent last: a target that holds it counts as a holder already).
  const stride = Math.max(1, Math.ceil((segments.length - 1) / SAMPLED_PIECES))
  const sample = []
  for (let segment = 1; segment < segments.length; segment += stride) sample.push(segments[segment]!.pieces[slot]!)
  if (sample.length === 0 || candidates.length === 0) return undefined
  const cids = [manifestPieceCid(file.manifestCid), ...sample]
  const network = context.network()
  const held = await Promise.all(
    candidates.map(async (peer) => {
      const answer = await network.hasPieces(peer, cids, context.deadline(PROBE_TIMEOUT_MS)).catch(() => [])
      return answer[0] === true ? answer.slice(1).filter(Boolean).length : 0
    }),
  )
  const best = held.reduce((top, count, i) => (count > (held[top] ?? 0) ? i : top), 0)
  const now = monotonicNow()
  if ((held[best] ?? 0) === 0) {
    file.inFlight.delete(slot)
    return undefined
  }
  const target = candidates[best]!
  const before = file.inFlight.get(slot)
  const since = before?.target === target ? before.since : now
  if (now - since >= MAX_WAIT_FALLBACKS * stallMs) {
    file.inFlight.delete(slot)
    return undefined
  }
  if (before === undefined || before.target !== target || held[best]! > before.held) {
    file.inFlight.set(slot, { target, held: held[best]!, at: now, since })
    return target
  }
  if (now - before.at < stallMs) return target
  file.inFlight.delete(slot)
  return undefined
}
