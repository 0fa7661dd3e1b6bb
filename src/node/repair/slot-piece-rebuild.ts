/**
 * One piece of a tracked file rebuilt by the storage layer's `rebuildPiece`, over the places this node knows: its own
 * store for its own slots, the known holders of the others. Own slots are asked first (no network).
 */
import { CorruptDataError, NotFoundError } from '../../errors.ts'
import { rebuildPiece, verifyPiece } from '../../storage/index.ts'
import type { AbortOptions } from '../index.ts'
import { DEFAULT_REPAIR_PIECE_TIMEOUT_MS } from './constants.ts'
import { rejectHolder } from './holder-check.ts'
import type { RepairContext } from './repair-context.ts'
import { errorText } from './repair-log.ts'
import type { TrackedFile } from './tracked-file.ts'

/**
 * Piece `slot` of `segment`: a copy of the same CID (k = 1), else Reed-Solomon from k other slots (this node's own
 * pieces first, then the other holders, in parallel). Only trusted holders are asked; one that serves wrong bytes is
 * remembered as failed. Stops asking when the service stops or `options.signal` aborts.
 */
export async function rebuildSlotPiece(
  context: RepairContext,
  file: TrackedFile,
  segment: number,
  slot: number,
  options: AbortOptions = {},
): Promise<Uint8Array> {
  const network = context.network()
  const me = network.peerId
  const timeout = context.init.pieceTimeoutMs ?? DEFAULT_REPAIR_PIECE_TIMEOUT_MS
  const pieces = file.manifest.segments[segment]!.pieces
  const sourcesOf = (index: number): string[] =>
    [...new Set([file.holders[index], ...(file.holdersOf[index] ?? [])])].filter(
      (p): p is string => p !== null && p !== undefined && context.trusts(p),
    )
  const fetch = async (index: number): Promise<Uint8Array> => {
    const cid = pieces[index]!
    let last: unknown = new NotFoundError(`no holder of slot ${index} is known`)
    for (const peer of sourcesOf(index)) {
      try {
        if (peer === me) return await context.store.get(cid, options)
        const bytes = await network.fetchPiece(peer, cid, context.deadline(timeout, options.signal))
        verifyPiece(cid, bytes)
        return bytes
      } catch (err) {
        if (peer !== me && err instanceof CorruptDataError) {
          rejectHolder(context, file, peer, index, `served wrong bytes for piece ${cid.toString()}: ${errorText(err)}`)
        }
        last = err
      }
    }
    throw last
  }
  const order = [...pieces.keys()].sort((a, b) => Number(!file.mySlots.has(a)) - Number(!file.mySlots.has(b)))
  const signals = [context.controller.signal]
  if (options.signal !== undefined) signals.push(options.signal)
  return await rebuildPiece(
    {
      manifest: file.manifest,
      segment,
      slot,
      fetch,
      order,
      ...(file.coder === undefined ? {} : { coder: file.coder }),
    },
    { signal: AbortSignal.any(signals) },
  )
}
