import { type ChainClient, createChainClient, loadPrivateKey, type NetworkFile, networkChain } from '../chain/index.ts'
import { NotFoundError } from '../errors.ts'
import type { NetworkLocation } from './client-session.ts'

/** The user's chain: a client signing with the user's wallet, and the network it belongs to. */
export interface UserChain {
  client: ChainClient
  network: NetworkFile
  fromBlock: bigint
}

/**
 * The chain of the network the command talks to, with the user's key: `--key-file FILE`, else CAIRN_PRIVATE_KEY,
 * else the devnet's user.key. Undefined when the network has no chain (a devnet started with --no-chain, or
 * `--bootstrap` alone).
 */
export async function openUserChain(location: NetworkLocation): Promise<UserChain | undefined> {
  const network = location.network
  if (network === undefined) return undefined
  const flagKey = location.keyFile
  const devnetKey = location.devnetKeyFile
  const envKey = process.env.CAIRN_PRIVATE_KEY
  let privateKey: `0x${string}`
  if (flagKey !== undefined) privateKey = await loadPrivateKey({ file: flagKey })
  else if (envKey !== undefined && envKey !== '') privateKey = await loadPrivateKey({ text: envKey })
  else if (devnetKey !== undefined) privateKey = await loadPrivateKey({ file: devnetKey })
  else {
    throw new NotFoundError(
      `no wallet to pay with on the network ${network.name}: pass --key-file FILE (make one with "cairn wallet new --out FILE") or set CAIRN_PRIVATE_KEY`,
    )
  }
  const client = createChainClient({
    ...networkChain(network),
    privateKey,
    transactionLockDir: location.home,
  })
  return { client, network, fromBlock: network.deploymentBlock }
}

/** Like openUserChain, but a network without a chain is an error naming the fix. */
export async function requireUserChain(location: NetworkLocation): Promise<UserChain> {
  const chain = await openUserChain(location)
  if (chain === undefined) {
    throw new NotFoundError(
      'this network has no chain: pass --network FILE (its network.json), or start the devnet with its chain (cairn devnet, without --no-chain)',
    )
  }
  return chain
}
