/**
 * A `FileService` on any network known by its network file: a client-only libp2p host that joins through the file's
 * bootstrap list and the Registry's active nodes (no control API, no devnet), the client over it, and deals paid from
 * one wallet. What `cairn gateway --network FILE` serves.
 */
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Hex } from 'viem'
import {
  createCairnFileService,
  type FileService,
  type GatewayComponents,
  type S3NamesComponents,
} from '../api/index.ts'
import { createChainClient, createChainReader, type NetworkFile, networkChain } from '../chain/index.ts'
import {
  createClient,
  createFileRecordStore,
  FILES_RECORD,
  seedAddresses,
  watchRegistryNodes,
  withStorageDeals,
} from '../client/index.ts'
import { createNetwork } from '../net/index.ts'
import { createMemoryPieceStore } from '../storage/index.ts'
import { walletServices } from './wallet-services.ts'

export interface NetworkFileServiceInit {
  network: NetworkFile
  /** The wallet that pays the deals of uploads. */
  privateKey: Hex
  /** Folder of the service's record of files put. */
  home: string
  k?: number
  n?: number
}

export interface NetworkFileService {
  files: FileService
  /** The gateway's quotes and auto-renewal. */
  onChain: Pick<GatewayComponents, 'quote' | 'renewer'> & S3NamesComponents
  close(): Promise<void>
}

/**
 * Joins the network of `init.network` as a client whose uploads open deals paid by `init.privateKey`.
 *
 * @example
 * ```ts
 * const service = await openNetworkFileService({ network: await readNetworkFile('network.json'), privateKey, home })
 * const gateway = createGateway({ files: service.files }, { dataDir, port: 7070 })
 * ```
 */
export async function openNetworkFileService(init: NetworkFileServiceInit): Promise<NetworkFileService> {
  const { network: file } = init
  const network = createNetwork(
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
  await network.start()
  await seedAddresses(network, file.bootstrap)
  const reader = createChainReader(networkChain(file))
  const registry = watchRegistryNodes(network, reader)
  await registry.refresh().catch(() => {})
  const records = createFileRecordStore({ path: join(init.home, FILES_RECORD) })
  const offChain = createClient(
    {
      network,
      records,
      peerViews: async (options) => {
        await registry.settle(options)
        return []
      },
    },
    {},
  )
  const wallet = createChainClient({
    ...networkChain(file),
    privateKey: init.privateKey,
    transactionLockDir: init.home,
  })
  const client = withStorageDeals(offChain, wallet, { network })
  const onChain = walletServices(wallet, records, file.deploymentBlock)
  return {
    files: createCairnFileService(
      { client, records, endDeals: onChain.endDeals },
      { ...(init.k === undefined ? {} : { k: init.k }), ...(init.n === undefined ? {} : { n: init.n }) },
    ),
    // S3 buckets kept through the wallet's names: every gateway of this key sees them (docs/protocol.md, "Names")
    onChain: {
      quote: onChain.quote,
      renewer: onChain.renewer,
      s3Names: { client: wallet, privateKey: init.privateKey },
    },
    close: () => network.stop(),
  }
}
