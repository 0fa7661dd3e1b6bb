/**
 * The watch duty: once per epoch the node reports other nodes' missed proofs (opening a slot after too many), and
 * offers to take over an open slot whose data it already holds.
 */
import { type EpochInfo, getDeal, getDealCount, getSlots, reportMissed } from '../../chain/index.ts'
import type { ChainDutyContext } from './chain-duty.ts'

export interface SlotWatcherContext extends Pick<ChainDutyContext, 'client' | 'account' | 'emit'> {
  /** Takes over an open slot when this node holds its data in full (the claim duty's `offerToTake`). */
  offerToTake: (
    manifestCid: string,
    slot: { index: number; root: string; size: bigint },
    signal: AbortSignal,
  ) => Promise<void>
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
    const count = Number(await getDealCount(client, { signal }))
    for (let id = 1n; id <= BigInt(count); id++) {
      const deal = await getDeal(client, { dealId: id }, { signal })
      if (deal.closed || info.epoch <= deal.startEpoch) continue
      const slots = await getSlots(client, { dealId: id }, { signal })
      const holdsOne = slots.some((s) => s.node === account && s.state !== 'open')
      for (const slot of slots) {
        const lastDue = Math.min(info.epoch, deal.endEpoch)
        let open = slot.state === 'open'
        if (slot.state === 'active' && slot.nextEpoch < lastDue && slot.node !== account) {
          try {
            const report = await reportMissed(client, { dealId: id, slotIndex: slot.index }, { signal })
            open = report.opened
            emit({
              type: 'chain:reported',
              dealId: String(id),
              slot: slot.index,
              missed: report.missed,
              opened: report.opened,
            })
          } catch (error) {
            if (signal.aborted) throw error
            // Another watcher (or the holder) was first: nothing to report.
          }
        }
        if (open && !holdsOne && slot.node !== account && info.epoch < deal.endEpoch) {
          await offerToTake(deal.manifestCid, slot, signal)
        }
      }
    }
  }
}
