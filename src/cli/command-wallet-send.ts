import { type Address, formatEther, getAddress, isAddress, parseUnits, zeroAddress } from 'viem'
import { getBalances, sendEther, TOKEN_DECIMALS, transferTokens } from '../chain/index.ts'
import { InsufficientFundsError, InvalidArgumentError } from '../errors.ts'
import { requireUserChain } from './chain-session.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { formatTokens } from './token-amount.ts'

/**
 * `cairn wallet send ADDRESS AMOUNT [--eth]`: moves AMOUNT CAIRN (decimal, e.g. `12.5`), or ether with `--eth`, from
 * the user's wallet to ADDRESS, and prints the transaction hash once it is mined. The address, the amount and the
 * balance are checked before anything is signed.
 */
export async function runWalletSend(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const [addressText, amountText] = parsed.positionals as [string, string]
  const to = parseRecipient(addressText)
  const eth = parsed.values.eth === true
  const amount = parseAmount(amountText, eth ? 'ETH' : 'CAIRN')
  const location = await locateNetwork(parsed.values)
  const chain = await requireUserChain(location)
  const options = { signal: context.signal }
  const from = chain.client.account.address
  const balances = await getBalances(chain.client, { account: from }, options)
  const shown = eth ? `${formatEther(amount)} ETH` : formatTokens(amount)
  if (eth ? balances.ether < amount : balances.tokens < amount) {
    throw new InsufficientFundsError(
      `insufficient funds: the wallet ${from} holds ${eth ? `${formatEther(balances.ether)} ETH` : formatTokens(balances.tokens)}, cannot send ${shown}`,
    )
  }
  if (balances.ether === 0n) {
    throw new InsufficientFundsError(
      `the wallet ${from} has no ether to pay the transaction's gas: have some sent to it ("cairn wallet send ${from} 0.1 --eth" from a funded wallet)`,
    )
  }
  const hash = eth
    ? await sendEther(chain.client, { to, amount }, options)
    : await transferTokens(chain.client, { to, amount }, options)
  if (parsed.values.json === true) {
    context.stdout.write(
      `${JSON.stringify({ from, to, amount: amount.toString(), unit: eth ? 'wei' : 'token units', transaction: hash })}\n`,
    )
  } else context.stdout.write(`sent ${shown} from ${from} to ${to} (transaction ${hash})\n`)
  return 0
}

/** ADDRESS: 0x and 40 hex digits; a mixed-case address must match its EIP-55 checksum; never the zero address. */
export function parseRecipient(text: string): Address {
  if (!isAddress(text, { strict: false })) {
    throw new InvalidArgumentError(`"${text}" is not an address: an address is 0x followed by 40 hex digits`)
  }
  if (/[a-f]/.test(text.slice(2)) && /[A-F]/.test(text.slice(2)) && !isAddress(text, { strict: true })) {
    throw new InvalidArgumentError(
      `"${text}" fails its checksum (mixed-case letters): a typo? copy the address again, or write it all in lower case`,
    )
  }
  const address = getAddress(text)
  if (address === zeroAddress)
    throw new InvalidArgumentError('refusing to send to the zero address: funds sent there are lost')
  return address
}

/** AMOUNT: a positive decimal number with at most 18 decimals, e.g. `12.5` (CAIRN or ETH). */
export function parseAmount(text: string, unit: 'CAIRN' | 'ETH'): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(text)) {
    throw new InvalidArgumentError(
      `"${text}" is not an amount of ${unit}: write a positive number such as 12.5 (at most 18 decimals)`,
    )
  }
  const amount = parseUnits(text, TOKEN_DECIMALS)
  if (amount === 0n) throw new InvalidArgumentError(`the amount must be above 0 ${unit}`)
  return amount
}
