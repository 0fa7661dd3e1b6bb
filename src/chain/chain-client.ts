import {
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  fallback,
  type Hex,
  publicActions,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { InvalidArgumentError } from '../errors.ts'
import { DEFAULT_POLLING_INTERVAL_MS, LOCAL_POLLING_INTERVAL_MS } from './constants.ts'
import type { ChainCallOptions, ChainClient, ChainClientInit, ChainReader, ChainReaderInit } from './interface.ts'
import { DEFAULT_LOG_BLOCK_RANGE } from './rpc-limits.ts'
import { backoffHttp } from './rpc-transport.ts'

function logRangeOf(value: number | undefined): number {
  const range = value ?? DEFAULT_LOG_BLOCK_RANGE
  if (!Number.isSafeInteger(range) || range < 1) {
    throw new InvalidArgumentError(`the log block range must be a whole number of blocks of at least 1, got ${range}`)
  }
  return range
}

/**
 * The client's transport: `backoffHttp` to `rpcUrl`, or, with fallback URLs, viem's `fallback` over one per URL in
 * order: a request that fails on an endpoint (after that endpoint's own backoff) goes to the next; a revert does not.
 */
function transportOf(init: ChainReaderInit) {
  const options = { batch: init.batch ?? false, ...(init.rpcRetries === undefined ? {} : { retries: init.rpcRetries }) }
  const fallbacks = init.fallbackRpcUrls ?? []
  if (fallbacks.length === 0) return backoffHttp(init.rpcUrl, options)
  return fallback(
    [init.rpcUrl, ...fallbacks].map((url) => backoffHttp(url, options)),
    { retryCount: 0 },
  )
}

function chainOf(rpcUrl: string, chainId: number): Chain {
  if (!Number.isInteger(chainId) || chainId <= 0) throw new InvalidArgumentError(`invalid chain ID ${chainId}`)
  return defineChain({
    id: chainId,
    name: `cairn-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
}

function pollingOf(rpcUrl: string, pollingInterval: number | undefined): number {
  if (pollingInterval !== undefined) return pollingInterval
  const host = new URL(rpcUrl).hostname
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]'
    ? LOCAL_POLLING_INTERVAL_MS
    : DEFAULT_POLLING_INTERVAL_MS
}

function checkKey(privateKey: Hex): void {
  if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey)) {
    throw new InvalidArgumentError('the private key must be 32 bytes of hex with a 0x prefix')
  }
}

/**
 * A client that signs with `privateKey` and talks to any EVM chain: a viem wallet client extended with public
 * actions and the Cairn contract addresses. Every action in this folder takes it as its first argument.
 *
 * @example
 * ```ts
 * const client = createChainClient({ rpcUrl: devchain.rpcUrl, chainId: devchain.chainId,
 *   privateKey: devchain.accounts[1]!, contracts: devchain.contracts })
 * const balances = await getBalances(client)
 * ```
 */
export function createChainClient(init: ChainClientInit): ChainClient {
  checkKey(init.privateKey)
  const chain = chainOf(init.rpcUrl, init.chainId)
  const account = privateKeyToAccount(init.privateKey)
  const lock =
    init.transactionLockDir === undefined
      ? {}
      : { transactionLock: `${init.transactionLockDir}/wallet-${account.address.toLowerCase()}.lock` }
  const client = createWalletClient({
    account,
    chain,
    transport: transportOf(init),
    pollingInterval: pollingOf(init.rpcUrl, init.pollingInterval),
  })
    .extend(publicActions)
    .extend(() => ({ contracts: init.contracts, logBlockRange: logRangeOf(init.logBlockRange), ...lock }))
  return client as unknown as ChainClient
}

/**
 * A read-only client (no key): for views and event polling. Both clients poll (no filters), read logs in windows
 * of at most `logBlockRange` blocks and back off on rate limits (rpc-transport.ts).
 *
 * @example
 * ```ts
 * const reader = createChainReader({ rpcUrl, chainId, contracts })
 * const nodes = await listActiveNodes(reader)
 * ```
 */
export function createChainReader(init: ChainReaderInit): ChainReader {
  const client = createPublicClient({
    chain: chainOf(init.rpcUrl, init.chainId),
    transport: transportOf(init),
    pollingInterval: pollingOf(init.rpcUrl, init.pollingInterval),
  }).extend(() => ({ contracts: init.contracts, logBlockRange: logRangeOf(init.logBlockRange) }))
  return client as unknown as ChainReader
}

/** The `blockNumber` of a read, when the caller pinned one (`options.blockNumber`). */
export function atBlock(options: ChainCallOptions): { blockNumber?: bigint } {
  return options.blockNumber === undefined ? {} : { blockNumber: options.blockNumber }
}
