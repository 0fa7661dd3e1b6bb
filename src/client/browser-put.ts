/**
 * A put from a web page: the file is compressed, encrypted and erasure-coded in the page, its pieces go straight to
 * distinct nodes over the page's host (each reservation with an upload ticket the paying wallet signs), each slot's
 * node signs its acceptance, and the page's wallet opens the deal. The file key is made in the page and leaves it
 * only inside the capability this returns.
 */
import type { ChainClient } from '../chain/index.ts'
import type { AbortOptions } from '../node/index.ts'
import type { BrowserClient } from './browser-client.ts'
import type { ClientProgressEvent, PutResult } from './interface.ts'
import { putFile } from './put.ts'
import { putWithDeal, type StorageDeal, type StorageDealEvent } from './storage-deal.ts'

export interface PagePutInit {
  k?: number
  n?: number
  /** Bytes per segment (default: the storage layer's). */
  segmentSize?: number
  /** Epochs the deal lasts (default DEFAULT_DEAL_DURATION_EPOCHS). */
  durationEpochs?: number
  /** Highest price per byte per epoch the page's wallet pays a node (default DEFAULT_DEAL_MAX_PRICE). */
  maxPricePerByteEpoch?: bigint
  metadata?: { name?: string; type?: string; mtime?: number }
  onProgress?: (event: ClientProgressEvent | StorageDealEvent) => void
}

export interface PagePutResult {
  put: PutResult
  deal: StorageDeal
}

/**
 * Stores `source` from the page and opens its deal paid by `wallet` (a `ChainClient` over a key the page holds, or
 * over an injected EIP-1193 wallet: any viem wallet client with the Cairn contracts). Call `client.connect()` first.
 *
 * @example
 * ```ts
 * const wallet = createChainClient({ rpcUrl: network.rpc, chainId: network.chainId, privateKey, contracts })
 * const { put } = await putFromPage(client, wallet, [bytes], { k: 2, n: 4 })
 * show(put.capability)
 * ```
 */
export async function putFromPage(
  client: BrowserClient,
  wallet: ChainClient,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  init: PagePutInit = {},
  options: AbortOptions = {},
): Promise<PagePutResult> {
  const { k, n, segmentSize, metadata, onProgress, durationEpochs, maxPricePerByteEpoch } = init
  const context = client.context
  return putWithDeal(
    { put: (files, putInit, putOptions) => putFile(context, files, putInit, putOptions) },
    wallet,
    source,
    {
      ...(k === undefined ? {} : { k }),
      ...(n === undefined ? {} : { n }),
      ...(segmentSize === undefined ? {} : { segmentSize }),
      ...(metadata === undefined ? {} : { metadata }),
      ...(onProgress === undefined ? {} : { onProgress }),
    },
    {
      network: context.network,
      ...(maxPricePerByteEpoch === undefined ? {} : { maxPricePerByteEpoch }),
      ...(durationEpochs === undefined ? {} : { durationEpochs }),
      ...(onProgress === undefined ? {} : { onProgress }),
    },
    options,
  )
}
