import { formatEther } from 'viem'
import { getBalances } from '../chain/index.ts'
import { userDeals } from '../client/index.ts'
import { requireUserChain } from './chain-session.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatTokens } from './token-amount.ts'

/** `cairn wallet [--json]`: the user's CAIRN balance, the escrow its open deals hold, and gas. */
export async function runWallet(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const location = await locateNetwork(parsed.values)
  const chain = await requireUserChain(location)
  const options = { signal: context.signal }
  const account = chain.client.account.address
  const [balances, deals] = await Promise.all([
    getBalances(chain.client, { account }, options),
    userDeals(chain.client, { owner: account, fromBlock: chain.fromBlock }, options),
  ])
  const open = deals.filter((d) => !d.closed)
  const escrow = open.reduce((sum, d) => sum + BigInt(d.escrowLeft), 0n)
  const paid = deals.reduce((sum, d) => sum + BigInt(d.paidSoFar), 0n)
  if (parsed.values.json === true) {
    context.stdout.write(
      `${JSON.stringify({
        account,
        balance: balances.tokens.toString(),
        escrow: escrow.toString(),
        paid: paid.toString(),
        deals: deals.length,
        openDeals: open.length,
        ether: balances.ether.toString(),
      })}\n`,
    )
    return 0
  }
  context.stdout.write(
    `${[
      `account  ${account}`,
      `balance  ${formatTokens(balances.tokens)}`,
      `escrow   ${formatTokens(escrow)} in ${open.length} open deal${open.length === 1 ? '' : 's'}`,
      `paid     ${formatTokens(paid)} to storage nodes so far`,
      `gas      ${formatEther(balances.ether)} ETH`,
    ].join('\n')}\n`,
  )
  return 0
}
