import { getEpochInfo } from '../chain/index.ts'
import { type DealView, formatDuration, userDeals } from '../client/index.ts'
import { requireUserChain } from './chain-session.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatTable, shortPeerId } from './output.ts'
import { formatTokens } from './token-amount.ts'

/** When a deal ends, for people: its end epoch and roughly when (from the epoch length). */
export function expiryText(deal: DealView, epochSeconds: number): string {
  if (deal.closed) return `ended at epoch ${deal.endEpoch} (closed)`
  if (deal.epochsLeft === 0) return `ended at epoch ${deal.endEpoch}`
  return `expires at epoch ${deal.endEpoch}, in ${deal.epochsLeft} epoch${deal.epochsLeft === 1 ? '' : 's'} (about ${formatDuration(deal.epochsLeft * epochSeconds)}; "cairn renew" extends it)`
}

/** `cairn deals [--json]`: the user's deals, their slots, holders, proofs, payments and escrow left. */
export async function runDeals(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const location = await locateNetwork(parsed.values)
  const chain = await requireUserChain(location)
  const deals = await userDeals(
    chain.client,
    { owner: chain.client.account.address, fromBlock: chain.fromBlock },
    { signal: context.signal },
  )
  if (parsed.values.json === true) {
    context.stdout.write(`${JSON.stringify(deals)}\n`)
    return 0
  }
  if (deals.length === 0) {
    context.stdout.write('no deals yet: "cairn put FILE" stores a file and opens its deal\n')
    return 0
  }
  const { epochSeconds } = await getEpochInfo(chain.client, { signal: context.signal })
  for (const deal of deals) {
    context.stdout.write(
      `deal ${deal.dealId}  ${deal.manifestCid}  k=${deal.k} n=${deal.n}  epochs ${deal.startEpoch}-${deal.endEpoch - 1}${deal.closed ? '  closed' : ''}\n` +
        `  ${expiryText(deal, epochSeconds)}\n` +
        `  paid so far ${formatTokens(BigInt(deal.paidSoFar))}, escrow left ${formatTokens(BigInt(deal.escrowLeft))}\n`,
    )
    context.stdout.write(
      formatTable(
        ['  SLOT', 'STATE', 'HOLDER', 'PEER', 'PROOFS', 'MISSED', 'PAID'],
        deal.slots.map((s) => [
          `  ${s.index}`,
          s.state,
          s.holder,
          shortPeerId(s.peerId),
          String(s.proofsMade),
          String(s.proofsMissed),
          formatTokens(BigInt(s.paid)),
        ]),
      ),
    )
  }
  return 0
}
