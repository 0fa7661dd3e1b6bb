import { join } from 'node:path'
import {
  AUTO_RENEW_RECORD,
  createAutoRenewRecords,
  formatDuration,
  type RenewalCheck,
  renewDeal,
  renewDue,
  userDeals,
} from '../client/index.ts'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'
import { parseCapability } from '../storage/index.ts'
import { requireUserChain, type UserChain } from './chain-session.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import { integerFlag, type ParsedCommandLine } from './command-line.ts'
import { formatTokens } from './token-amount.ts'

/**
 * The deal ID a `cairn renew` target names: a deal ID, or a capability / manifest CID (the newest running deal of
 * the wallet for that manifest).
 */
async function dealOf(target: string, chain: UserChain, signal: AbortSignal): Promise<bigint> {
  if (/^\d+$/.test(target)) return BigInt(target)
  const manifestCid = target.startsWith('cairn:') ? parseCapability(target).manifestCid.toString() : target
  const deals = await userDeals(
    chain.client,
    { owner: chain.client.account.address, fromBlock: chain.fromBlock },
    { signal },
  )
  const mine = deals.filter((d) => d.manifestCid === manifestCid)
  const running = mine.filter((d) => !d.closed)
  const deal = (running.length > 0 ? running : mine).at(-1)
  if (deal === undefined) {
    throw new NotFoundError(
      `no deal of this wallet stores ${manifestCid}: "cairn deals" lists yours (renew takes a capability, a manifest CID or a deal ID)`,
    )
  }
  return BigInt(deal.dealId)
}

function checkLine(check: RenewalCheck): string {
  switch (check.status) {
    case 'renewed':
      return `deal ${check.dealId}: renewed to end epoch ${check.renewal.endEpoch} for ${formatTokens(BigInt(check.renewal.cost))}`
    case 'not-due':
      return `deal ${check.dealId}: not due (${check.epochsLeft} epochs left, ends at epoch ${check.endEpoch})`
    default:
      return `warning: ${check.message}`
  }
}

/**
 * `cairn renew CAPABILITY|DEAL --duration EPOCHS [--json]`: tops the deal up and prints the new end epoch and the cost.
 * `cairn renew --due [--json]`: renews every deal marked by `cairn put --auto-renew` that ends within its window, and
 * warns (exit 1) about those it cannot renew; meant for a cron job or systemd timer.
 */
export async function runRenew(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const due = parsed.values.due === true
  const target = parsed.positionals[0]
  if (due === (target !== undefined)) {
    throw new InvalidArgumentError(
      'renew takes a capability, manifest CID or deal ID with --duration EPOCHS, or --due alone (renews the deals put with --auto-renew)',
    )
  }
  const location = await locateNetwork(parsed.values)
  const chain = await requireUserChain(location)
  if (due) {
    const records = createAutoRenewRecords(join(location.home, AUTO_RENEW_RECORD))
    const checks = await renewDue(chain.client, await records.list(), { signal: context.signal })
    for (const check of checks) if (check.status === 'ended') await records.remove(check.dealId)
    if (parsed.values.json === true) context.stdout.write(`${JSON.stringify(checks)}\n`)
    else if (checks.length === 0) context.stdout.write('no deal marked for auto-renewal ("cairn put --auto-renew")\n')
    for (const check of checks) {
      const line = checkLine(check)
      if (line.startsWith('warning:')) context.stderr.write(`${line}\n`)
      else if (parsed.values.json !== true) context.stdout.write(`${line}\n`)
    }
    return checks.some((c) => c.status === 'unpaid' || c.status === 'failed' || c.status === 'ended') ? 1 : 0
  }
  const extraEpochs = integerFlag(parsed.values, 'duration', 1, 2 ** 32 - 1)
  if (extraEpochs === undefined) throw new InvalidArgumentError('renew needs --duration EPOCHS: the epochs to add')
  const dealId = await dealOf(target!, chain, context.signal)
  const renewal = await renewDeal(chain.client, { dealId, extraEpochs }, { signal: context.signal })
  if (parsed.values.json === true) {
    context.stdout.write(`${JSON.stringify(renewal)}\n`)
  } else {
    const left = Math.max(0, renewal.secondsLeft)
    context.stdout.write(
      `deal ${renewal.dealId} renewed: ends at epoch ${renewal.endEpoch} (was ${renewal.previousEndEpoch}; about ${formatDuration(left)} from now), cost ${formatTokens(BigInt(renewal.cost))}\n`,
    )
  }
  return 0
}
