import { formatEther } from 'viem'
import { type ChainClient, getBalances, getNode, unbondNode, withdrawStake } from '../chain/index.ts'
import { ChainError, InvalidArgumentError } from '../errors.ts'
import { requireUserChain } from './chain-session.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatTokens } from './token-amount.ts'

/**
 * `cairn node unbond --key-file NODE_KEY`: the node starts leaving: it takes no new slot (it keeps proving the slots
 * it holds until their deals end and are closed), and its stake can be withdrawn after the Registry's unbonding delay.
 */
export async function runNodeUnbond(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const client = await nodeChain(parsed)
  const options = { signal: context.signal }
  const account = client.account.address
  const node = await getNode(client, { account }, options)
  if (node.status === 'none') throw notRegistered(account)
  if (node.status === 'unbonding' || node.status === 'exited') {
    throw new ChainError(
      node.status === 'exited'
        ? `the node ${account} has left already (its stake was withdrawn)`
        : `the node ${account} is unbonding already: run "cairn node withdraw-stake" after ${when(node.unbondAt)}`,
    )
  }
  await needGas(client, context)
  const receipt = await unbondNode(client, options)
  const after = await getNode(client, { account }, options)
  const report = {
    node: account,
    status: after.status,
    stake: after.stake.toString(),
    unbondAt: Number(after.unbondAt),
    slotsHeld: after.activeSlots,
    transaction: receipt.transactionHash,
  }
  if (parsed.values.json === true) context.stdout.write(`${JSON.stringify(report)}\n`)
  else {
    context.stdout.write(
      `node ${account} is unbonding: it takes no new slot; withdraw its stake of ${formatTokens(after.stake)} after ${when(after.unbondAt)}${
        after.activeSlots > 0
          ? ` once the ${after.activeSlots} slot(s) it holds are released (their deals end and are closed)`
          : ''
      } with "cairn node withdraw-stake" (transaction ${receipt.transactionHash})\n`,
    )
  }
  return 0
}

/** `cairn node withdraw-stake --key-file NODE_KEY`: pays the stake of an unbonded node back to its wallet. */
export async function runNodeWithdrawStake(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const client = await nodeChain(parsed)
  const options = { signal: context.signal }
  const account = client.account.address
  const node = await getNode(client, { account }, options)
  if (node.status === 'none') throw notRegistered(account)
  if (node.status === 'exited' || node.stake === 0n) {
    throw new ChainError(`nothing to withdraw: the node ${account} holds no stake (withdrawn already)`)
  }
  if (node.status !== 'unbonding') {
    throw new ChainError(
      `the node ${account} is ${node.status}: run "cairn node unbond" first, then withdraw after the unbonding delay`,
    )
  }
  const now = Number((await client.getBlock({ blockTag: 'latest' })).timestamp)
  if (now < Number(node.unbondAt)) {
    throw new ChainError(
      `the unbonding period of node ${account} is not over: withdraw after ${when(node.unbondAt)} (${Number(node.unbondAt) - now} s from the chain's latest block)`,
    )
  }
  if (node.activeSlots > 0) {
    throw new ChainError(
      `the node ${account} still holds ${node.activeSlots} slot(s): keep it running until their deals end and are closed (the node closes them itself), then try again`,
    )
  }
  await needGas(client, context)
  const receipt = await withdrawStake(client, options)
  const report = { node: account, withdrawn: node.stake.toString(), transaction: receipt.transactionHash }
  if (parsed.values.json === true) context.stdout.write(`${JSON.stringify(report)}\n`)
  else {
    context.stdout.write(
      `withdrew ${formatTokens(node.stake)} of stake to ${account} (transaction ${receipt.transactionHash})\n`,
    )
  }
  return 0
}

/** The node's chain client: the network of --network/--devnet, signing with --key-file (the node's key). */
async function nodeChain(parsed: ParsedCommandLine): Promise<ChainClient> {
  if (parsed.values['key-file'] === undefined && (process.env.CAIRN_PRIVATE_KEY ?? '') === '') {
    throw new InvalidArgumentError(
      "pass the node's key with --key-file FILE (a devnet node's is DIR/node-N/chain.key) or set CAIRN_PRIVATE_KEY",
    )
  }
  return (await requireUserChain(await locateNetwork(parsed.values))).client
}

async function needGas(client: ChainClient, context: CommandContext): Promise<void> {
  const balances = await getBalances(client, { account: client.account.address }, { signal: context.signal })
  if (balances.ether === 0n) {
    throw new ChainError(
      `the node's wallet ${client.account.address} has no ether for gas (${formatEther(balances.ether)} ETH): send it some with "cairn wallet send ${client.account.address} 0.1 --eth"`,
    )
  }
}

function notRegistered(account: string): ChainError {
  return new ChainError(
    `${account} is not a registered node: is --key-file the node's key (chain.key in its data dir)?`,
  )
}

/** A Unix time as an ISO date. */
function when(unix: bigint | number): string {
  return new Date(Number(unix) * 1000).toISOString().replace('.000Z', 'Z')
}
