/**
 * Holders' claims are spot-checked: a peer that answers "I hold slot s" counts as its holder only once it answered a
 * leaf challenge: one 1 KiB leaf of a piece of the slot (segment and leaf chosen at random each time, a fresh nonce)
 * with its Merkle path, checked against the slot root of the manifest (the root the Market holds). A holder that
 * refuses (it lost a piece), answers wrong bytes (it also loses network score) or serves a wrong piece is remembered
 * as failed for `failedPeerMs` (no holder, no source, no target). A holder that cannot take the challenge (an older
 * node, a network without the slot-accept protocol) is checked as before: one whole piece fetched and hash-checked.
 * A peer that only times out is not counted this round.
 */
import { randomInt } from 'node:crypto'
import { CorruptDataError, NotFoundError, ProtocolError, UnreachableError } from '../../errors.ts'
import { challengeLeaf } from '../../net/index.ts'
import { MERKLE_LEAF_SIZE, merkleLeafCount, pieceSize, verifyPiece } from '../../storage/index.ts'
import { monotonicNow } from '../monotonic-clock.ts'
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
  if (passed !== undefined && monotonicNow() - passed < ttl) return true
  const segment = randomInt(segments.length)
  const cid = segments[segment]!.pieces[slot]!
  try {
    const answered = await leafCheck(context, file, peer, slot, segment)
    if (!answered) {
      const bytes = await context
        .network()
        .fetchPiece(peer, cid, context.deadline(DEFAULT_REPAIR_SPOT_CHECK_TIMEOUT_MS))
      verifyPiece(cid, bytes)
    }
  } catch (err) {
    // A holder without the file's manifest (a put stores it last) is not counted this round, and not failed.
    if (err instanceof NotFoundError && err.details?.unknownFile === true) return false
    if (err instanceof CorruptDataError || err instanceof NotFoundError) {
      rejectHolder(context, file, peer, slot, `spot check of piece ${cid.toString()} failed: ${errorText(err)}`)
    }
    return false
  }
  context.verified.delete(key)
  context.verified.set(key, monotonicNow())
  if (context.verified.size > MAX_VERIFIED) context.verified.delete(context.verified.keys().next().value!)
  return true
}

/**
 * Challenges `peer` for a random leaf of piece `segment` of `slot`. True when it answered and the answer verified;
 * false when the challenge could not be put (no slot-accept protocol there): the caller fetches the piece instead.
 * Throws NotFoundError (refused) or CorruptDataError (wrong answer), and timeouts.
 */
async function leafCheck(
  context: RepairContext,
  file: TrackedFile,
  peer: string,
  slot: number,
  segment: number,
): Promise<boolean> {
  const network = context.network()
  if (network.slotAcceptance === undefined) return false
  const { manifest } = file
  let offset = 0
  for (let s = 0; s < segment; s++) offset += pieceSize(manifest.segments[s]!.size, manifest.k)
  // Pieces are padded to whole leaves: piece `segment` starts at a leaf boundary.
  const firstLeaf = offset / MERKLE_LEAF_SIZE
  const leaves = Math.max(1, Math.ceil(pieceSize(manifest.segments[segment]!.size, manifest.k) / MERKLE_LEAF_SIZE))
  const leafIndex = firstLeaf + randomInt(leaves)
  const root = manifest.slots[slot]!
  try {
    await challengeLeaf(
      { slotAcceptance: network.slotAcceptance.bind(network) },
      peer,
      { manifestCid: file.key, slotIndex: slot, leafIndex },
      { root: root.root, leafCount: merkleLeafCount(root.size) },
      context.deadline(DEFAULT_REPAIR_SPOT_CHECK_TIMEOUT_MS),
    )
    return true
  } catch (err) {
    // An older node resets an unknown message; an unreachable protocol: check the piece the old way.
    if (err instanceof ProtocolError || err instanceof UnreachableError) return false
    throw err
  }
}

/** Remembers `peer` as failed (no holder, source or target for `failedPeerMs`) and reports it. */
export function rejectHolder(context: RepairContext, file: TrackedFile, peer: string, slot: number, reason: string) {
  context.failedPeers.set(peer, monotonicNow() + (context.init.failedPeerMs ?? DEFAULT_REPAIR_FAILED_PEER_MS))
  for (const key of context.verified.keys()) if (key.includes(`:${peer}:`)) context.verified.delete(key)
  context.emit({ type: 'repair:holder-rejected', manifestCid: file.key, slot, peerId: peer, reason })
}
