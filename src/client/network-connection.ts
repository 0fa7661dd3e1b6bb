/**
 * `connectNetwork`: a Node program joins a Cairn network from its network file alone, as `cairn put`/`get` and
 * `cairn gateway --network` do: a client-only libp2p host (TCP, WebSockets, relays) that dials the file's bootstrap
 * list and the Registry's active nodes, the client over it, and, given a key, the wallet whose puts open and pay
 * their deals. The SDK's Node entry exports it; the gateway's network-file service is built on it.
 */
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Hex } from 'viem'
import {
  type ChainClient,
  createChainClient,
  createChainReader,
  type NetworkFile,
  networkChain,
  parseNetworkFile,
} from '../chain/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import { createNetwork, type Network } from '../net/index.ts'
import type { AbortOptions } from '../node/index.ts'
import { createMemoryPieceStore } from '../storage/index.ts'
import { FILES_RECORD } from './constants.ts'
import { createFileRecordStore, createMemoryFileRecordStore } from './file-records.ts'
import type { Client, ClientProgressEvent, FileRecordStore, PutInit, PutResult } from './interface.ts'
import { createClient } from './network-client.ts'
import { seedAddresses, watchRegistryNodes } from './registry-node-watch.ts'
import { putWithDeal, type StorageDeal, type StorageDealEvent } from './storage-deal.ts'

export interface ConnectInit {
  /** The network file: its contents as text (network.json) or parsed. */
  network: string | NetworkFile
  /** The key (0x hex) of the wallet that pays deals. Without it the connection reads files and cannot put. */
  privateKey?: Hex
  /**
   * A folder for the record of files put (FILES_RECORD) and the wallet's transaction lock (so two processes of one
   * wallet do not race for nonces). Default: records in memory, no lock.
   */
  home?: string
}

/** What a put over a connection takes: the client's put, plus the deal's terms. */
export interface ConnectionPutInit extends Omit<PutInit, 'eligible' | 'placement' | 'onProgress'> {
  /** Epochs the deal lasts (default DEFAULT_DEAL_DURATION_EPOCHS). */
  durationEpochs?: number
  /** Highest price per byte per epoch the wallet pays a node (default DEFAULT_DEAL_MAX_PRICE). */
  maxPricePerByteEpoch?: bigint
  onProgress?: (event: ClientProgressEvent | StorageDealEvent) => void
}

/** What `connectNetwork` gives in Node and in a page (./browser-connection.ts): the same put, get and close. */
export interface CairnConnection {
  /**
   * Stores a file on Registry-active nodes within the price (one slot per operator) and opens its deal, paid by the
   * wallet; resolves once every holder confirmed its slot on chain.
   */
  put(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    init?: ConnectionPutInit,
    options?: AbortOptions,
  ): Promise<PutResult & { deal: StorageDeal }>
  /** The file's bytes, verified, decoded and decrypted, as they come. */
  get(capability: string, options?: AbortOptions): AsyncIterable<Uint8Array>
  close(): Promise<void>
}

export interface NetworkConnection extends CairnConnection {
  readonly network: NetworkFile
  /** The client over the joined network (put stores without a deal: use the connection's `put` to pay one). */
  readonly client: Client
  /** The record of files put (FILES_RECORD in `home`, or in memory). */
  readonly records: FileRecordStore
  /** The libp2p host (for diagnostics and services built on it). */
  readonly host: Network
  /** The paying wallet, when a key was given. */
  readonly wallet: ChainClient | undefined
}

/**
 * Joins the network a network file describes.
 *
 * @example
 * ```ts
 * const cairn = await connectNetwork({ network: await readFile('network.json', 'utf8'), privateKey })
 * try {
 *   const { capability, deal } = await cairn.put([bytes], { k: 2, n: 4 })
 *   for await (const chunk of cairn.get(capability)) process.stdout.write(chunk)
 * } finally {
 *   await cairn.close()
 * }
 * ```
 */
export async function connectNetwork(init: ConnectInit): Promise<NetworkConnection> {
  const file = typeof init.network === 'string' ? parseNetworkFile(init.network) : init.network
  const host = createNetwork(
    { pieceStore: createMemoryPieceStore() },
    {
      privateKey: await generateKeyPair('Ed25519'),
      listen: [],
      bootstrap: file.bootstrap,
      allowPrivateAddresses: file.allowPrivateAddresses,
      mdns: false,
      serveStore: false,
    },
  )
  await host.start()
  try {
    // The bootstrap list is dialled in the background; the known addresses are recorded now so the first request can dial.
    await seedAddresses(host, file.bootstrap)
    const registry = watchRegistryNodes(host, createChainReader(networkChain(file)))
    await registry.refresh().catch(() => {})
    const records: FileRecordStore =
      init.home === undefined
        ? createMemoryFileRecordStore()
        : createFileRecordStore({ path: join(init.home, FILES_RECORD) })
    // Off a devnet no control API answers: the Registry names the nodes, their heartbeats say they are alive.
    const peerViews = async (options: AbortOptions) => {
      await registry.settle(options)
      return []
    }
    const client = createClient({ network: host, records, peerViews })
    const wallet =
      init.privateKey === undefined
        ? undefined
        : createChainClient({
            ...networkChain(file),
            privateKey: init.privateKey,
            ...(init.home === undefined ? {} : { transactionLockDir: init.home }),
          })
    return {
      network: file,
      client,
      records,
      host,
      wallet,
      async put(source, putInit = {}, options = {}) {
        if (wallet === undefined) {
          throw new InvalidArgumentError('a put pays a deal: connect with the privateKey of a funded wallet')
        }
        const { durationEpochs, maxPricePerByteEpoch, onProgress, ...rest } = putInit
        const { put, deal } = await putWithDeal(
          client,
          wallet,
          source,
          { ...rest, ...(onProgress === undefined ? {} : { onProgress }) },
          {
            network: host,
            ...(maxPricePerByteEpoch === undefined ? {} : { maxPricePerByteEpoch }),
            ...(durationEpochs === undefined ? {} : { durationEpochs }),
            ...(onProgress === undefined ? {} : { onProgress }),
          },
          options,
        )
        return { ...put, deal }
      },
      get: (capability, options = {}) => client.get(capability, {}, options),
      close: () => host.stop(),
    }
  } catch (error) {
    await host.stop()
    throw error
  }
}
