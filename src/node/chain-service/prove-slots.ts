/** The prove duty: every slot whose proof of this epoch is due, proven together in batch transactions. */
import { DEFAULT_MAX_PROOFS_PER_TRANSACTION, type HeldSlotRecord, proveSlots } from '../../chain/index.ts'
import type { ChainDutyContext } from './chain-duty.ts'
import { healSlot } from './heal-slot.ts'
import type { SlotKey } from './slot-prover.ts'

/**
 * Builds the proof of every due slot from this node's own disk and submits them together: one batch transaction per
 * `proofsPerTransaction` slots instead of one per slot. A slot whose proof could not be built (a piece missing or
 * corrupt), or that the Market rejected, is reported as `chain:error` and tried again on the next tick while the epoch
 * and its response window last (a proof racing the epoch's end is rejected and retried).
 */
export async function proveDueSlots(
  context: Pick<ChainDutyContext, 'client' | 'components' | 'init' | 'prover' | 'emit' | 'provedEpoch' | 'healing'>,
  due: HeldSlotRecord[],
  signal: AbortSignal,
): Promise<void> {
  if (due.length === 0) return
  const { client, init, emit, provedEpoch } = context
  const entries = new Map(due.map((entry) => [`${entry.dealId}:${entry.slot.index}`, entry]))
  const outcomes = await proveSlots(
    client,
    {
      slots: due.map(({ dealId, slot }) => ({ dealId, slotIndex: slot.index })),
      prove: async ({ dealId, slotIndex }, challenge) => {
        if (init.fakeProofs === true) return madeUpProof(challenge.leafLength, challenge.leafCount)
        const { deal, slot } = entries.get(`${dealId}:${slotIndex}`)!
        const key = { manifestCid: deal.manifestCid, slotIndex }
        return proveFromDisk(context, key, { root: slot.root, size: slot.size }, dealId, challenge.leafIndex, signal)
      },
    },
    { signal, maxPerTransaction: init.proofsPerTransaction ?? DEFAULT_MAX_PROOFS_PER_TRANSACTION },
  )
  for (const outcome of outcomes) {
    const id = `${outcome.dealId}:${outcome.slotIndex}`
    if (outcome.accepted) {
      provedEpoch.set(id, outcome.epoch)
      emit({
        type: 'chain:proved',
        dealId: String(outcome.dealId),
        slot: outcome.slotIndex,
        epoch: outcome.epoch,
        transactionHash: outcome.transactionHash,
      })
    } else {
      emit({ type: 'chain:error', action: `slot ${id}`, message: outcome.error.message })
    }
  }
}

/**
 * The challenged leaf of a slot this node holds, read from its own disk only. A proof must never be built from pieces
 * fetched at proof time (that is how a node that stores nothing would answer): when a piece is missing or corrupt the
 * proof fails, and the slot's damaged pieces are healed from the other holders in the background, for the epochs
 * after the one this proof misses.
 */
async function proveFromDisk(
  context: Pick<ChainDutyContext, 'components' | 'prover' | 'emit' | 'healing'>,
  key: SlotKey,
  expected: { root: string; size: bigint },
  dealId: bigint,
  leafIndex: number,
  signal: AbortSignal,
): Promise<{ leaf: Uint8Array; proof: Uint8Array[] }> {
  try {
    return await context.prover.prove(key, leafIndex, { signal })
  } catch (error) {
    const id = `${dealId}:${key.slotIndex}`
    if (!signal.aborted && context.components.healPiece !== undefined && !context.healing.has(id)) {
      context.healing.add(id)
      healSlot(context, key, expected, dealId, signal)
        .catch((healError: unknown) => {
          if (!signal.aborted) {
            context.emit({ type: 'chain:error', action: `heal slot ${id}`, message: (healError as Error).message })
          }
        })
        .finally(() => context.healing.delete(id))
    }
    throw error
  }
}

/** What a node that stores nothing sends: a leaf of the right length and a path of random hashes. */
function madeUpProof(leafLength: number, leafCount: number): { leaf: Uint8Array; proof: Uint8Array[] } {
  const depth = Math.ceil(Math.log2(Math.max(1, leafCount)))
  return {
    leaf: crypto.getRandomValues(new Uint8Array(leafLength)),
    proof: Array.from({ length: depth }, () => crypto.getRandomValues(new Uint8Array(32))),
  }
}
