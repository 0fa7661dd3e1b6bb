import { userDeals } from '../client/index.ts'
import { requireUserChain } from './chain-session.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatTable, shortPeerId } from './output.ts'
import { formatTokens } from './token-amount.ts'

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
  for (const deal of deals) {
    context.stdout.write(
      `deal ${deal.dealId}  ${deal.manifestCid}  k=${deal.k} n=${deal.n}  epochs ${deal.startEpoch}-${deal.endEpoch - 1}${deal.closed ? '  closed' : ''}\n` +
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
