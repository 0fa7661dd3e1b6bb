/**
 * The watch duty: once per epoch the node reports other nodes' missed proofs (opening a slot after too many), and
 * offers to take over an open slot whose data it already holds. The slots overdue are found in the node's book of the
 * Market (kept from its events): no deal or slot is read from the chain to look for them.
 */
import { type EpochInfo, reportMissed } from '../../chain/index.ts'
import type { ChainDutyContext } from './chain-duty.ts'
import type { BookDeal } from './market-book.ts'

export interface SlotWatcherContext extends Pick<ChainDutyContext, 'client' | 'account' | 'emit'> {
  /** Takes over an open slot when this node holds its data in full (the claim duty's `offerToTake`). */
  offerToTake: (
    manifestCid: string,
    slot: { index: number; root: string; size: bigint },
    signal: AbortSignal,
  ) => Promise<void>
  /** The running deals of the node's book of the Market. */
  deals: () => Iterable<BookDeal>
}

/** Reports other nodes' missed proofs (the watcher role). */
export class SlotWatcher {
  readonly #context: SlotWatcherContext
  #watchedEpoch = -1

  constructor(context: SlotWatcherContext) {
    this.#context = context
  }

  /** Reports other nodes' missed proofs once per epoch, a little after the epoch starts (staggered per node). */
  async tick(info: EpochInfo, signal: AbortSignal): Promise<void> {
    const { client, account, emit, offerToTake } = this.#context
    if (this.#watchedEpoch >= info.epoch) return
    const epochStart = info.endsAt - info.epochSeconds
    const offset = Number(BigInt(account) % BigInt(Math.max(1, Math.floor(info.epochSeconds / 2))))
    if (info.now < epochStart + offset) return
    this.#watchedEpoch = info.epoch
    const me = account.toLowerCase()
    for (const deal of [...this.#context.deals()]) {
      if (info.epoch <= deal.startEpoch) continue
      const slots = deal.slots.filter((slot) => slot !== undefined)
      const holdsOne = slots.some((s) => s.node.toLowerCase() === me && s.state !== 'open')
      const lastDue = Math.min(info.epoch, deal.endEpoch)
      for (const slot of slots) {
        const mine = slot.node.toLowerCase() === me
        let open = slot.state === 'open'
        if (slot.state === 'active' && slot.nextEpoch < lastDue && !mine) {
          try {
            const report = await reportMissed(client, { dealId: deal.dealId, slotIndex: slot.index }, { signal })
            open = report.opened
            emit({
              type: 'chain:reported',
              dealId: String(deal.dealId),
              slot: slot.index,
              missed: report.missed,
              opened: report.opened,
            })
          } catch (error) {
            if (signal.aborted) throw error
            // Another watcher (or the holder) was first: nothing to report.
          }
        }
        if (open && !holdsOne && !mine && info.epoch < deal.endEpoch) {
          await offerToTake(deal.manifestCid, slot, signal)
        }
      }
    }
  }
}
