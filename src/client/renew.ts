/**
 * Renewing a deal: a top-up (`Market.topUp`) that pays paymentPerEpoch x extra epochs from the wallet and moves the
 * deal's end; and the due check that `cairn renew --due` (from a cron job or systemd timer) and the gateway run over
 * the deals marked for auto-renewal, renewing those close to their end while the wallet allows and warning when it
 * does not.
 */
import { parseEventLogs } from 'viem'
import { type ChainClient, getBalances, getDeal, getEpochInfo, marketAbi, topUpDeal } from '../chain/index.ts'
import { InsufficientFundsError, InvalidArgumentError, NotFoundError } from '../errors.ts'
import type { AbortOptions } from '../net/index.ts'

/** What a renewal did (token amounts in units, as decimal strings). */
export interface Renewal {
  dealId: string
  extraEpochs: number
  /** The end epoch before and after (the deal runs while epoch < endEpoch). */
  previousEndEpoch: number
  endEpoch: number
  /** Tokens the wallet paid: paymentPerEpoch x extraEpochs. */
  cost: string
  /** Unix seconds (chain time) when the new end epoch starts (the deal's last epoch ends then). */
  endsAt: number
  /** Seconds from now (chain time) to `endsAt`. */
  secondsLeft: number
  transactionHash: string
}

/**
 * Extends a running deal by `extraEpochs`, paying from the wallet; refuses (before any transaction) a deal that
 * ended or was closed, and a wallet that cannot pay, naming the amounts.
 *
 * @example
 * ```ts
 * const { endEpoch, cost } = await renewDeal(client, { dealId: 7n, extraEpochs: 500 })
 * ```
 */
export async function renewDeal(
  client: ChainClient,
  params: { dealId: bigint; extraEpochs: number },
  options: AbortOptions = {},
): Promise<Renewal> {
  const { dealId, extraEpochs } = params
  if (!Number.isInteger(extraEpochs) || extraEpochs < 1 || extraEpochs >= 2 ** 32) {
    throw new InvalidArgumentError(`--duration must be a whole number of epochs from 1 to ${2 ** 32 - 1}`)
  }
  const [deal, epoch, balances] = await Promise.all([
    getDeal(client, { dealId }, options).catch((error: unknown) => {
      throw new NotFoundError(`deal ${dealId} does not exist: "cairn deals" lists yours`, { cause: error })
    }),
    getEpochInfo(client, options),
    getBalances(client, {}, options),
  ])
  if (deal.closed || epoch.epoch >= deal.endEpoch) {
    throw new InvalidArgumentError(
      `deal ${dealId} ended at epoch ${deal.endEpoch} (now ${epoch.epoch}): an ended deal cannot be renewed; its holders may delete the pieces: put the file again`,
      { details: { dealId: dealId.toString(), endEpoch: deal.endEpoch, epoch: epoch.epoch } },
    )
  }
  const cost = deal.paymentPerEpoch * BigInt(extraEpochs)
  if (balances.tokens < cost) {
    throw new InsufficientFundsError(
      `renewing deal ${dealId} by ${extraEpochs} epochs costs ${cost} units but the wallet ${client.account.address} holds ${balances.tokens}: send it CAIRN or renew for fewer epochs`,
      { details: { cost: cost.toString(), balance: balances.tokens.toString() } },
    )
  }
  const receipt = await topUpDeal(client, { dealId, extraEpochs }, options)
  const [event] = parseEventLogs({ abi: marketAbi, eventName: 'DealToppedUp', logs: receipt.logs })
  const endEpoch = event === undefined ? deal.endEpoch + extraEpochs : Number(event.args.endEpoch)
  return {
    dealId: dealId.toString(),
    extraEpochs,
    previousEndEpoch: deal.endEpoch,
    endEpoch,
    cost: (event?.args.amount ?? cost).toString(),
    endsAt: epoch.genesis + endEpoch * epoch.epochSeconds,
    secondsLeft: epoch.genesis + endEpoch * epoch.epochSeconds - epoch.now,
    transactionHash: receipt.transactionHash,
  }
}

/** A deal marked for auto-renewal (`cairn put --auto-renew`, the gateway's S3 objects). */
export interface AutoRenewEntry {
  dealId: string
  manifestCid: string
  /** Epochs added by each renewal. */
  extraEpochs: number
  /** Renew once at most this many epochs remain before the end. */
  renewWithinEpochs: number
}

/** The outcome of one due check for one deal. */
export type RenewalCheck =
  | { dealId: string; status: 'renewed'; renewal: Renewal }
  | { dealId: string; status: 'not-due'; endEpoch: number; epochsLeft: number }
  | { dealId: string; status: 'ended'; endEpoch: number; message: string }
  | { dealId: string; status: 'unpaid'; endEpoch: number; epochsLeft: number; message: string }
  | { dealId: string; status: 'failed'; message: string }

/**
 * The renew-before window for a renewal of `extraEpochs`: a tenth of it, at least 2 epochs (a timer must run at least
 * this often, in epochs, for renewals to land before the end).
 */
export function defaultRenewWithin(extraEpochs: number): number {
  return Math.max(2, Math.ceil(extraEpochs / 10))
}

/**
 * Renews every entry whose deal ends within its window, while the wallet can pay; the others are reported, never
 * thrown: a deal that ended (it cannot be renewed), one the wallet cannot pay for (with the amounts), one that failed.
 *
 * @example
 * ```ts
 * for (const check of await renewDue(client, entries)) if (check.status === 'unpaid') console.warn(check.message)
 * ```
 */
export async function renewDue(
  client: ChainClient,
  entries: AutoRenewEntry[],
  options: AbortOptions = {},
): Promise<RenewalCheck[]> {
  const checks: RenewalCheck[] = []
  const epoch = await getEpochInfo(client, options)
  let balance = (await getBalances(client, {}, options)).tokens
  for (const entry of entries) {
    options.signal?.throwIfAborted()
    try {
      const deal = await getDeal(client, { dealId: BigInt(entry.dealId) }, options)
      const left = deal.endEpoch - epoch.epoch
      if (deal.closed || left <= 0) {
        checks.push({
          dealId: entry.dealId,
          status: 'ended',
          endEpoch: deal.endEpoch,
          message: `deal ${entry.dealId} ended at epoch ${deal.endEpoch} before it was renewed: put ${entry.manifestCid} again`,
        })
        continue
      }
      if (left > entry.renewWithinEpochs) {
        checks.push({ dealId: entry.dealId, status: 'not-due', endEpoch: deal.endEpoch, epochsLeft: left })
        continue
      }
      const cost = deal.paymentPerEpoch * BigInt(entry.extraEpochs)
      if (balance < cost) {
        checks.push({
          dealId: entry.dealId,
          status: 'unpaid',
          endEpoch: deal.endEpoch,
          epochsLeft: left,
          message: `cannot renew deal ${entry.dealId}: it ends in ${left} epoch${left === 1 ? '' : 's'} (about ${formatDuration(left * epoch.epochSeconds)}), a renewal of ${entry.extraEpochs} epochs costs ${cost} units and the wallet ${client.account.address} holds ${balance}: send it CAIRN`,
        })
        continue
      }
      const renewal = await renewDeal(client, { dealId: BigInt(entry.dealId), extraEpochs: entry.extraEpochs }, options)
      balance -= BigInt(renewal.cost)
      checks.push({ dealId: entry.dealId, status: 'renewed', renewal })
    } catch (error) {
      options.signal?.throwIfAborted()
      checks.push({ dealId: entry.dealId, status: 'failed', message: (error as Error).message })
    }
  }
  return checks
}

/** "3 h 20 min", "2 days": a rough span for people. */
export function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Math.max(0, Math.round(seconds))} s`
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`
  if (seconds < 172_800) return `${Math.round(seconds / 3_600)} h`
  return `${Math.round(seconds / 86_400)} days`
}
