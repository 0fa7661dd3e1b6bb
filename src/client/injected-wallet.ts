/**
 * A page's wallet over an injected EIP-1193 provider (`window.ethereum`): the account the user picks signs upload
 * tickets and slot terms and sends the deal's transactions; the page never sees its key. The result is a src/chain
 * `ChainClient`, so putFromPage takes it as it takes a client over a key the page holds.
 */
import { type Address, createWalletClient, custom, defineChain, getAddress, publicActions } from 'viem'
import type { ChainClient, ChainContracts } from '../chain/index.ts'
import { InvalidArgumentError, UnauthorizedError } from '../errors.ts'
import type { BrowserNetwork } from './browser-client.ts'

/** The one method of EIP-1193 a page's wallet needs. */
export interface Eip1193Provider {
  request(args: { method: string; params?: readonly unknown[] | object }): Promise<unknown>
}

/**
 * Asks the injected wallet for an account (`eth_requestAccounts`), checks it is on the network's chain and returns a
 * client that signs and sends with it and reads through it.
 *
 * @example
 * ```ts
 * const wallet = await injectedWallet(window.ethereum, client.network)
 * const { put } = await putFromPage(client, wallet, [bytes])
 * ```
 */
export async function injectedWallet(provider: Eip1193Provider, network: BrowserNetwork): Promise<ChainClient> {
  const accounts = (await provider.request({ method: 'eth_requestAccounts' }).catch((cause) => {
    throw new UnauthorizedError(
      `the wallet gave no account (${(cause as Error)?.message ?? cause}): unlock it and allow this page`,
      { cause },
    )
  })) as unknown
  if (!Array.isArray(accounts) || typeof accounts[0] !== 'string') {
    throw new UnauthorizedError('the wallet gave no account: unlock it and allow this page')
  }
  const account: Address = getAddress(accounts[0])
  const chainId = Number(BigInt((await provider.request({ method: 'eth_chainId' })) as string))
  if (chainId !== network.chainId) {
    throw new InvalidArgumentError(
      `the wallet is on chain ${chainId}, the network on chain ${network.chainId}: switch the wallet to chain ${network.chainId} (RPC ${network.rpc})`,
    )
  }
  const chain = defineChain({
    id: network.chainId,
    name: `cairn-${network.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [network.rpc] } },
  })
  const client = createWalletClient({ account, chain, transport: custom(provider) })
    .extend(publicActions)
    .extend(() => ({ contracts: network.contracts as unknown as ChainContracts }))
  return client as unknown as ChainClient
}
