import { join } from 'node:path'
import { createFileRecordStore, type EndedDeal, endFileDeals, FILES_RECORD } from '../client/index.ts'
import { NotFoundError } from '../errors.ts'
import { parseCapability } from '../storage/index.ts'
import { openUserChain } from './chain-session.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatTokens } from './token-amount.ts'

/**
 * `cairn rm CAPABILITY [--json]`: ends every running deal of the file the user's wallet opened (`endDeal`: the deal
 * stops after the current epoch, the escrow no node can still earn comes back to the wallet) and forgets the file from
 * this machine's list (`cairn ls`). The nodes close the ended deals and delete the pieces after their grace period.
 * Off chain the file is only forgotten: nodes without a chain delete nothing.
 */
export async function runRm(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const { manifestCid } = parseCapability(parsed.positionals[0]!)
  const manifest = manifestCid.toString()
  const location = await locateNetwork(parsed.values)
  const records = createFileRecordStore({ path: join(location.home, FILES_RECORD) })
  const chain = await openUserChain(location)
  const deals =
    chain === undefined
      ? []
      : await endFileDeals(
          chain.client,
          { manifestCid: manifest, fromBlock: chain.fromBlock },
          { signal: context.signal },
        )
  const forgotten = await records.forget(manifest)
  if (!forgotten && deals.length === 0) {
    throw new NotFoundError(
      chain === undefined
        ? `the file ${manifest} is not in this machine's list (cairn ls)`
        : `no deal of the wallet ${chain.client.account.address} stores ${manifest}, and it is not in this machine's list (cairn ls): was it put with another wallet (--key-file)?`,
    )
  }
  const refund = deals.reduce((sum, deal) => sum + BigInt(deal.refund), 0n)
  if (parsed.values.json === true) {
    context.stdout.write(`${JSON.stringify({ manifestCid: manifest, forgotten, refund: refund.toString(), deals })}\n`)
    return 0
  }
  for (const deal of deals) context.stdout.write(`${dealLine(deal)}\n`)
  if (chain !== undefined && deals.some((deal) => deal.outcome === 'ended')) {
    context.stdout.write(`returned ${formatTokens(refund)} to ${chain.client.account.address}\n`)
  }
  context.stdout.write(
    `${forgotten ? 'removed' : 'not in the list:'} ${manifest}${
      chain === undefined
        ? ' (no chain: the nodes keep its pieces)'
        : '; the nodes delete its pieces after their grace period'
    }\n`,
  )
  return 0
}

function dealLine(deal: EndedDeal): string {
  switch (deal.outcome) {
    case 'ended':
      return `deal ${deal.dealId}: ended after epoch ${deal.endEpoch - 1}, ${formatTokens(BigInt(deal.refund))} of escrow returned (transaction ${deal.transactionHash})`
    case 'already-ended':
      return `deal ${deal.dealId}: had already ended (its last epoch was ${deal.endEpoch - 1})`
    case 'unchanged':
      return `deal ${deal.dealId}: left as is (${deal.reason ?? 'it ends after the current epoch'})`
  }
}
