/** The withdraw duty: the node withdraws its earnings and rewards when they are worth a transaction. */
import { type EpochInfo, getBalances, withdrawEarnings } from '../../chain/index.ts'
import type { ChainDutyContext } from './chain-duty.ts'
import { DEFAULT_WITHDRAW_EVERY_EPOCHS, DEFAULT_WITHDRAW_MIN } from './constants.ts'

/** Withdraws at most once per DEFAULT_WITHDRAW_EVERY_EPOCHS epochs, once the total reaches `withdrawMin`. */
export class EarningsWithdrawer {
  readonly #context: Pick<ChainDutyContext, 'client' | 'init' | 'emit'>
  #withdrawEpoch = -1

  constructor(context: Pick<ChainDutyContext, 'client' | 'init' | 'emit'>) {
    this.#context = context
  }

  /** Looks at the balances when the last look is old enough, and withdraws them when they reach the minimum. */
  async tick(info: EpochInfo, signal: AbortSignal): Promise<void> {
    const { client, init, emit } = this.#context
    if (this.#withdrawEpoch >= 0 && info.epoch - this.#withdrawEpoch < DEFAULT_WITHDRAW_EVERY_EPOCHS) return
    this.#withdrawEpoch = info.epoch
    const balances = await getBalances(client, {}, { signal })
    const total = balances.earnings + balances.rewards
    if (total === 0n || total < (init.withdrawMin ?? DEFAULT_WITHDRAW_MIN)) return
    await withdrawEarnings(client, { signal })
    emit({ type: 'chain:withdrew', earnings: String(balances.earnings), rewards: String(balances.rewards) })
  }
}
