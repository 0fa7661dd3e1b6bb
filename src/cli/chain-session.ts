import { type ChainClient, createChainClient, loadPrivateKey } from '../chain/index.ts'
import type { DevnetChain } from '../devnet/index.ts'
import { NotFoundError } from '../errors.ts'
import type { NetworkLocation } from './client-session.ts'

/** The user's chain: a client signing with the user's wallet, and the devnet's chain settings. */
export interface UserChain {
  client: ChainClient
  settings: DevnetChain
  fromBlock: bigint
}

/**
 * The chain of the network the command talks to (a devnet's devchain), with the user's key (the devnet's user.key,
 * or CAIRN_PRIVATE_KEY when set). Undefined when the network has no chain.
 */
export async function openUserChain(location: NetworkLocation): Promise<UserChain | undefined> {
  const settings = location.devnet?.chain
  if (settings === undefined) return undefined
  const privateKey =
    process.env.CAIRN_PRIVATE_KEY === undefined
      ? await loadPrivateKey({ file: settings.user.keyFile })
      : await loadPrivateKey({ text: process.env.CAIRN_PRIVATE_KEY })
  const client = createChainClient({
    rpcUrl: settings.rpc,
    chainId: settings.chainId,
    privateKey,
    contracts: settings.contracts,
  })
  return { client, settings, fromBlock: BigInt(settings.blockNumber) }
}

/** Like openUserChain, but a network without a chain is an error naming the fix. */
export async function requireUserChain(location: NetworkLocation): Promise<UserChain> {
  const chain = await openUserChain(location)
  if (chain === undefined) {
    throw new NotFoundError(
      'this network has no chain: start the devnet with its chain (cairn devnet, without --no-chain)',
    )
  }
  return chain
}
