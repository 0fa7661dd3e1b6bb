/**
 * The closing duty: once a deal this node holds an active slot of has ended, the node closes it (`closeDeal`, which
 * anyone may call) so that its slot is released in the Registry: a node holding no slot may unbond and withdraw its
 * stake, and a slot cap is freed for new deals. The owner gets the deal's unspent escrow back either way.
 *
 * One transaction per deal on the cheapest path: the holders of the deal's active slots rank themselves by slot index;
 * the first closes in the epoch the deal ends, the second one epoch later if the deal is still open, and so on (at most
 * MAX_CLOSE_RANK epochs late, before the book forgets ended deals). A reverted close costs no gas (it fails when
 * simulated) and each deal is tried at most once per epoch.
 */
import { closeDeal, type EpochInfo } from '../../chain/index.ts'
import type { ChainDutyContext } from './chain-duty.ts'
import type { BookDeal } from './market-book.ts'

/** The latest epoch (after the deal's end) a holder of a later rank waits for before it closes the deal itself. */
export const MAX_CLOSE_RANK = 2

/** Closes ended deals this node holds active slots of. */
export class DealCloser {
  readonly #context: Pick<ChainDutyContext, 'client' | 'account' | 'emit'>
  /** Epoch of the last attempt, by deal. */
  readonly #tried = new Map<bigint, number>()

  constructor(context: Pick<ChainDutyContext, 'client' | 'account' | 'emit'>) {
    this.#context = context
  }

  /** Closes the ended deals whose turn is this node's (see the file's comment). */
  async tick(info: EpochInfo, deals: Iterable<BookDeal>, signal: AbortSignal): Promise<void> {
    const { client, emit } = this.#context
    const me = this.#context.account.toLowerCase()
    const seen = new Set<bigint>()
    for (const deal of deals) {
      seen.add(deal.dealId)
      if (info.epoch < deal.endEpoch || deal.manifestCid === '') continue
      const active = deal.slots.filter((slot) => slot !== undefined && slot.state === 'active')
      const rank = active.findIndex((slot) => slot.node.toLowerCase() === me)
      if (rank < 0 || info.epoch < deal.endEpoch + Math.min(rank, MAX_CLOSE_RANK)) continue
      if (this.#tried.get(deal.dealId) === info.epoch) continue
      this.#tried.set(deal.dealId, info.epoch)
      try {
        const receipt = await closeDeal(client, { dealId: deal.dealId }, { signal })
        emit({ type: 'chain:closed', dealId: deal.dealId.toString(), transactionHash: receipt.transactionHash })
      } catch (error) {
        if (signal.aborted) throw error
        const name = (error as { details?: { errorName?: string } }).details?.errorName
        if (name === 'DealAlreadyClosed') continue
        emit({ type: 'chain:error', action: 'closeDeal', message: (error as Error).message })
      }
    }
    for (const id of this.#tried.keys()) if (!seen.has(id)) this.#tried.delete(id)
  }
}
