/** The prove duty: every slot whose proof of this epoch is due, proven together in batch transactions. */
import { DEFAULT_MAX_PROOFS_PER_TRANSACTION, proveSlots } from '../../chain/index.ts'
import type { ChainDutyContext } from './chain-duty.ts'
import { healSlot } from './heal-slot.ts'
import type { HeldSlot } from './market-book.ts'
import type { SlotKey } from './slot-prover.ts'

/**
 * Builds the proof of every due slot from this node's own disk and submits them together: one batch transaction per
 * `proofsPerTransaction` slots instead of one per slot. A slot whose proof could not be built (a piece missing or
 * corrupt) misses this epoch and is healed for the next (`healInBackground`); a proof the Market rejected is reported
 * as `chain:error` and tried again on the next tick while the epoch lasts (a proof racing the epoch's end).
 */
export async function proveDueSlots(
  context: Pick<
    ChainDutyContext,
    'client' | 'components' | 'init' | 'prover' | 'emit' | 'provedEpoch' | 'healing' | 'missedEpoch'
  >,
  dueSlots: HeldSlot[],
  epoch: number,
  signal: AbortSignal,
): Promise<void> {
  const { client, init, emit, provedEpoch, missedEpoch } = context
  // A slot whose proof of this epoch could not be built from disk stays missed for the epoch (see healInBackground).
  const due = dueSlots.filter((entry) => missedEpoch.get(`${entry.dealId}:${entry.slot.index}`) !== epoch)
  if (due.length === 0) return
  const entries = new Map(due.map((entry) => [`${entry.dealId}:${entry.slot.index}`, entry]))
  const outcomes = await proveSlots(
    client,
    {
      slots: due.map(({ dealId, slot }) => ({ dealId, slotIndex: slot.index })),
      prove: async ({ dealId, slotIndex }, challenge) => {
        if (init.fakeProofs === true) return madeUpProof(challenge.leafLength, challenge.leafCount)
        const { deal, slot } = entries.get(`${dealId}:${slotIndex}`)!
        const key = { manifestCid: deal.manifestCid, slotIndex }
        const id = `${dealId}:${slotIndex}`
        try {
          return await context.prover.prove(key, challenge.leafIndex, { signal })
        } catch (error) {
          missedEpoch.set(id, epoch)
          healInBackground(context, key, { root: slot.root, size: slot.size }, dealId, signal)
          throw error
        }
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
 * A proof is built from this node's own disk only: fetching pieces at proof time is what a node that stores nothing
 * would do. When a piece is missing or corrupt the epoch is missed, and the slot's damaged pieces are healed from the
 * other holders in the background, for the epochs after.
 */
function healInBackground(
  context: Pick<ChainDutyContext, 'components' | 'prover' | 'emit' | 'healing'>,
  key: SlotKey,
  expected: { root: string; size: bigint },
  dealId: bigint,
  signal: AbortSignal,
): void {
  const id = `${dealId}:${key.slotIndex}`
  if (signal.aborted || context.components.healPiece === undefined || context.healing.has(id)) return
  context.healing.add(id)
  healSlot(context, key, expected, dealId, signal)
    .catch((error: unknown) => {
      if (!signal.aborted)
        context.emit({ type: 'chain:error', action: `heal slot ${id}`, message: (error as Error).message })
    })
    .finally(() => context.healing.delete(id))
}

/** What a node that stores nothing sends: a leaf of the right length and a path of random hashes. */
function madeUpProof(leafLength: number, leafCount: number): { leaf: Uint8Array; proof: Uint8Array[] } {
  const depth = Math.ceil(Math.log2(Math.max(1, leafCount)))
  return {
    leaf: crypto.getRandomValues(new Uint8Array(leafLength)),
    proof: Array.from({ length: depth }, () => crypto.getRandomValues(new Uint8Array(32))),
  }
}
