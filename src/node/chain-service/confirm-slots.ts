/**
 * The confirm duty: a slot this node was named for in a new deal is confirmed on chain once the node checked it
 * signed an acceptance of that slot (accepted-slots/ in its data dir) and holds it; an active slot is handed on to
 * the prove duty when its proof of this epoch is due.
 */
import { confirmSlot, type EpochInfo, reportMissed } from '../../chain/index.ts'
import { AcceptedSlots } from '../accepted-slots.ts'
import type { ChainDutyContext } from './chain-duty.ts'
import type { HeldSlot } from './market-book.ts'

/** Confirms the slots this node holds and picks the ones whose proof is due. */
export class SlotConfirmer {
  readonly #context: Pick<ChainDutyContext, 'client' | 'init' | 'prover' | 'emit' | 'provedEpoch'>
  /** Slots this node refused (does not hold), by deal:slot, so it does not recheck every tick. */
  readonly #refused = new Map<string, number>()
  readonly #accepted: AcceptedSlots

  constructor(context: Pick<ChainDutyContext, 'client' | 'init' | 'prover' | 'emit' | 'provedEpoch'>) {
    this.#context = context
    this.#accepted = new AcceptedSlots(context.init.dataDir)
  }

  /**
   * Confirms a pending slot once it is held; returns the slot when its proof of this epoch is due (a slot just
   * confirmed in a running epoch included).
   */
  async work(entry: HeldSlot, info: EpochInfo, signal: AbortSignal): Promise<HeldSlot | undefined> {
    const { client, init, prover, emit, provedEpoch } = this.#context
    const { dealId, slot, deal } = entry
    const id = `${dealId}:${slot.index}`
    if (info.epoch >= deal.endEpoch) return undefined
    const key = { manifestCid: deal.manifestCid, slotIndex: slot.index }
    try {
      if (slot.state === 'pending') {
        if ((this.#refused.get(id) ?? -1) >= info.epoch) return undefined
        const acceptance = { ...key, client: deal.owner, root: slot.root, size: slot.size }
        const problem = !(await this.#accepted.has(acceptance))
          ? 'this node signed no acceptance of this slot'
          : init.fakeProofs === true
            ? undefined
            : await prover.check(key, { root: slot.root, size: slot.size }, { signal })
        if (problem !== undefined) {
          // Pieces may still be arriving: check again next epoch.
          this.#refused.set(id, info.epoch)
          emit({ type: 'chain:refused', dealId: String(dealId), slot: slot.index, reason: problem })
          return undefined
        }
        await confirmSlot(client, { dealId, slotIndex: slot.index }, { signal })
        emit({ type: 'chain:confirmed', dealId: String(dealId), slot: slot.index })
        // A slot confirmed during a running epoch owes that epoch's proof (the Market sets its next epoch to the
        // current one): prove it in this tick's batch, not on the next tick, which may come after the epoch ended.
        if (info.epoch < deal.startEpoch) return undefined
        return { ...entry, slot: { ...slot, state: 'active', nextEpoch: info.epoch } }
      }
      if (slot.state !== 'active' || info.epoch < deal.startEpoch || slot.nextEpoch > info.epoch) return undefined
      if ((provedEpoch.get(id) ?? -1) >= info.epoch) return undefined
      if (slot.nextEpoch < info.epoch) {
        // Epochs this node missed (it was down, or late) go on record now, whoever watches: the Market would record
        // them with the proof too (and takes the proof even when this report fails), but a proof that fails
        // leaves them unrecorded.
        await reportMissed(client, { dealId, slotIndex: slot.index }, { signal }).catch((error: unknown) => {
          if (signal.aborted) throw error
          emit({ type: 'chain:error', action: `reportMissed ${id}`, message: (error as Error).message })
        })
      }
      return entry
    } catch (error) {
      if (signal.aborted) throw error
      // Tried again on the next tick while the epoch lasts.
      emit({ type: 'chain:error', action: `slot ${id}`, message: (error as Error).message })
      return undefined
    }
  }
}
