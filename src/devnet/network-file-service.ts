/**
 * A `FileService` on any network known by its network file: a client-only libp2p host that joins through the file's
 * bootstrap list and the Registry's active nodes (no control API, no devnet), the client over it, and deals paid from
 * one wallet. What `cairn gateway --network FILE` serves.
 */
import type { Hex } from 'viem'
import {
  createCairnFileService,
  type FileService,
  type GatewayComponents,
  type S3NamesComponents,
} from '../api/index.ts'
import type { ChainClient, NetworkFile } from '../chain/index.ts'
import { connectNetwork, withStorageDeals } from '../client/index.ts'
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
  const connection = await connectNetwork({ network: init.network, privateKey: init.privateKey, home: init.home })
  const wallet = connection.wallet as ChainClient // a key was given
  const { records } = connection
  const client = withStorageDeals(connection.client, wallet, { network: connection.host })
  const onChain = walletServices(wallet, records, init.network.deploymentBlock)
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
    close: () => connection.close(),
  }
}
