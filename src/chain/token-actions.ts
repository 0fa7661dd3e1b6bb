import { type Address, type Hex, maxUint256, parseSignature } from 'viem'
import { InvalidArgumentError } from '../errors.ts'
import { DEFAULT_TRANSACTION_TIMEOUT_MS } from './constants.ts'
import { toCairnError } from './contract-errors.ts'
import { cairnTokenAbi, marketAbi, registryAbi } from './generated/index.ts'
import type { Balances, ChainCallOptions, ChainClient, ChainReader } from './interface.ts'
import { accountTurn, sendTransaction } from './transaction.ts'

/** An EIP-2612 permit as the contracts take it. */
export interface PermitSignature {
  value: bigint
  deadline: bigint
  v: number
  r: Hex
  s: Hex
}

/** Which contract may spend: the Market (escrow) or the Registry (stake), or any address. */
export type Spender = 'market' | 'registry' | Address

function spenderAddress(client: ChainReader, spender: Spender): Address {
  if (spender === 'market') return client.contracts.market
  if (spender === 'registry') return client.contracts.registry
  return spender
}

/**
 * Signs an EIP-2612 permit letting `spender` take `value` CAIRN from the client's account (no transaction).
 *
 * @example
 * ```ts
 * const permit = await signPermit(client, { spender: 'market', value: 10n ** 18n })
 * ```
 */
export async function signPermit(
  client: ChainClient,
  params: { spender: Spender; value: bigint; deadline?: bigint },
  options: ChainCallOptions = {},
): Promise<PermitSignature> {
  try {
    const token = client.contracts.token
    const owner = client.account.address
    const [nonce, name] = await Promise.all([
      client.readContract({ address: token, abi: cairnTokenAbi, functionName: 'nonces', args: [owner] }),
      client.readContract({ address: token, abi: cairnTokenAbi, functionName: 'name' }),
    ])
    const deadline = params.deadline ?? maxUint256
    const signature = await client.signTypedData({
      domain: { name, version: '1', chainId: client.chain.id, verifyingContract: token },
      types: {
        Permit: [
          { name: 'owner', type: 'address' },
          { name: 'spender', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
        ],
      },
      primaryType: 'Permit',
      message: { owner, spender: spenderAddress(client, params.spender), value: params.value, nonce, deadline },
    })
    const { r, s, v, yParity } = parseSignature(signature)
    return { value: params.value, deadline, v: Number(v ?? BigInt(yParity + 27)), r, s }
  } catch (error) {
    throw toCairnError(error, 'signPermit', options.signal)
  }
}

/**
 * Sets the allowance of `spender` over the client's CAIRN (a transaction).
 *
 * @example
 * ```ts
 * await approve(client, { spender: 'registry', amount: 1000n * 10n ** 18n })
 * ```
 */
export async function approve(
  client: ChainClient,
  params: { spender: Spender; amount: bigint },
  options: ChainCallOptions = {},
): Promise<Hex> {
  if (params.amount < 0n) throw new InvalidArgumentError('the amount must not be negative')
  const receipt = await sendTransaction(
    client,
    'approve',
    {
      address: client.contracts.token,
      abi: cairnTokenAbi,
      functionName: 'approve',
      args: [spenderAddress(client, params.spender), params.amount],
    },
    options,
  )
  return receipt.transactionHash
}

/**
 * Sends CAIRN from the client's account.
 *
 * @example
 * ```ts
 * await transferTokens(client, { to: '0x...', amount: 5n * 10n ** 18n })
 * ```
 */
export async function transferTokens(
  client: ChainClient,
  params: { to: Address; amount: bigint },
  options: ChainCallOptions = {},
): Promise<Hex> {
  const receipt = await sendTransaction(
    client,
    'transfer',
    { address: client.contracts.token, abi: cairnTokenAbi, functionName: 'transfer', args: [params.to, params.amount] },
    options,
  )
  return receipt.transactionHash
}

/**
 * Everything an account holds in Cairn: ether for gas, CAIRN in the wallet, stake, withdrawable earnings and rewards,
 * and its allowances to the Market and the Registry.
 *
 * @example
 * ```ts
 * const { tokens, stake, earnings } = await getBalances(client)
 * ```
 */
export async function getBalances(
  client: ChainReader & { account?: { address: Address } },
  params: { account?: Address } = {},
  options: ChainCallOptions = {},
): Promise<Balances> {
  const account = params.account ?? client.account?.address
  if (account === undefined) throw new InvalidArgumentError('getBalances needs an account')
  try {
    const { token, market, registry } = client.contracts
    // One block for every read, so that a transaction landing meanwhile cannot tear the picture (the latest block:
    // viem caches the block number for a polling interval otherwise).
    const blockNumber = options.blockNumber ?? (await client.getBlockNumber({ cacheTime: 0 }))
    const at = { blockNumber }
    const [ether, tokens, node, withdrawable, toMarket, toRegistry] = await Promise.all([
      client.getBalance({ address: account, ...at }),
      client.readContract({ address: token, abi: cairnTokenAbi, functionName: 'balanceOf', args: [account], ...at }),
      client.readContract({ address: registry, abi: registryAbi, functionName: 'getNode', args: [account], ...at }),
      client.readContract({ address: market, abi: marketAbi, functionName: 'withdrawable', args: [account], ...at }),
      client.readContract({
        address: token,
        abi: cairnTokenAbi,
        functionName: 'allowance',
        args: [account, market],
        ...at,
      }),
      client.readContract({
        address: token,
        abi: cairnTokenAbi,
        functionName: 'allowance',
        args: [account, registry],
        ...at,
      }),
    ])
    return {
      account,
      ether,
      tokens,
      stake: node.stake,
      earnings: withdrawable[0],
      rewards: withdrawable[1],
      allowance: { market: toMarket, registry: toRegistry },
    }
  } catch (error) {
    throw toCairnError(error, 'getBalances', options.signal)
  }
}

/**
 * Sends ether (for gas) from the client's account and waits for the receipt.
 *
 * @example
 * ```ts
 * await sendEther(client, { to: '0x...', amount: 10n ** 17n })
 * ```
 */
export async function sendEther(
  client: ChainClient,
  params: { to: Address; amount: bigint },
  options: ChainCallOptions = {},
): Promise<Hex> {
  if (params.amount <= 0n) throw new InvalidArgumentError('the amount of ether must be above 0')
  try {
    const { hash, receipt } = await accountTurn(client, async () => {
      const hash = await client.sendTransaction({ to: params.to, value: params.amount })
      return {
        hash,
        receipt: await client.waitForTransactionReceipt({ hash, timeout: DEFAULT_TRANSACTION_TIMEOUT_MS }),
      }
    })
    if (receipt.status !== 'success')
      throw new InvalidArgumentError(`sending ether failed: transaction ${hash} reverted`)
    return hash
  } catch (error) {
    throw toCairnError(error, 'send ether', options.signal)
  }
}
