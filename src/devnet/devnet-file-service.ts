/**
 * A `FileService` for a local devnet: a client-only libp2p host that joins the devnet's nodes (from devnet.json),
 * the node layer's client over it, and the devnet's node list for the dashboard.
 */
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  createCairnFileService,
  type FileService,
  type GatewayComponents,
  type KnownNode,
  type S3NamesComponents,
} from '../api/index.ts'
import { createChainClient, loadPrivateKey } from '../chain/index.ts'
import { createClient, createFileRecordStore, FILES_RECORD, withStorageDeals } from '../client/index.ts'
import { createNetwork } from '../net/index.ts'
import { controlRequest, type PeerView } from '../node/index.ts'
import { createMemoryPieceStore } from '../storage/index.ts'
import { readDevnetState } from './devnet.ts'
import type { DevnetState } from './interface.ts'
import { walletServices } from './wallet-services.ts'

export interface DevnetFileService {
  files: FileService
  /** The gateway's quotes and auto-renewal (a devnet with a chain). */
  onChain?: Pick<GatewayComponents, 'quote' | 'renewer'> & S3NamesComponents
  devnet: DevnetState
  close(): Promise<void>
}

async function controlViews(apis: string[], options: { signal?: AbortSignal }): Promise<PeerView[][]> {
  const views = await Promise.all(
    apis.map(async (api): Promise<PeerView[]> => {
      try {
        const [health, peers] = await Promise.all([
          controlRequest<{ peerId: string; multiaddrs: string[] }>(api, '/health', { ...options, timeoutMs: 1500 }),
          controlRequest<PeerView[]>(api, '/peers', { ...options, timeoutMs: 1500 }),
        ])
        return [{ peerId: health.peerId, state: 'alive', lastSeenMs: 0, multiaddrs: health.multiaddrs }, ...peers]
      } catch {
        return []
      }
    }),
  )
  return views.filter((view) => view.length > 0)
}

/**
 * Joins the devnet in `devnetDir` as a client.
 *
 * @example
 * ```ts
 * const { files, close } = await openDevnetFileService('.cairn-devnet')
 * const gateway = createGateway({ files }, { dataDir: '.cairn-devnet/gateway', port: 7070 })
 * ```
 */
export async function openDevnetFileService(
  devnetDir: string,
  init: { k?: number; n?: number } = {},
): Promise<DevnetFileService> {
  let devnet = await readDevnetState(devnetDir)
  const network = createNetwork(
    { pieceStore: createMemoryPieceStore() },
    {
      privateKey: await generateKeyPair('Ed25519'),
      listen: [],
      bootstrap: devnet.nodes.flatMap((node) => node.multiaddrs),
      devnet: true,
      mdns: false,
      serveStore: false,
    },
  )
  await network.start()
  const apis = (): string[] => devnet.nodes.map((node) => node.api)
  const records = createFileRecordStore({ path: join(devnetDir, 'client', FILES_RECORD) })
  const offChain = createClient(
    {
      network,
      records,
      peerViews: (options) => controlViews(apis(), options),
    },
    {},
  )
  // On a devnet with a chain, uploads open a deal paid from the devnet's user wallet, like `cairn put`.
  const chain = devnet.chain
  const userKey = chain === undefined ? undefined : await loadPrivateKey({ file: chain.user.keyFile })
  const wallet =
    chain === undefined || userKey === undefined
      ? undefined
      : createChainClient({
          rpcUrl: chain.rpc,
          chainId: chain.chainId,
          privateKey: userKey,
          contracts: chain.contracts,
          transactionLockDir: join(devnetDir, 'client'),
        })
  const client = wallet === undefined ? offChain : withStorageDeals(offChain, wallet, { network })
  const onChain =
    wallet === undefined || chain === undefined ? undefined : walletServices(wallet, records, BigInt(chain.blockNumber))
  // devnet.json is rewritten when the devnet restarts; pick up new node entries.
  const refresh = setInterval(() => {
    readDevnetState(devnetDir)
      .then((state) => {
        devnet = state
      })
      .catch(() => {})
  }, 5000)
  refresh.unref()
  const knownNodes = (): KnownNode[] =>
    devnet.nodes.map((node, index) => ({
      peerId: node.peerId,
      label: `node-${index}`,
      multiaddrs: node.multiaddrs,
      usage: (options) =>
        controlRequest<{ pieces: number; bytes: number }>(node.api, '/usage', { ...options, timeoutMs: 1500 }),
    }))
  return {
    files: createCairnFileService(
      {
        client,
        knownNodes,
        records,
        ...(onChain === undefined ? {} : { endDeals: onChain.endDeals }),
      },
      init,
    ),
    // S3 buckets kept through the user wallet's names, as `cairn gateway` keeps them (docs/protocol.md, "Names")
    ...(onChain === undefined || wallet === undefined || userKey === undefined
      ? {}
      : {
          onChain: {
            quote: onChain.quote,
            renewer: onChain.renewer,
            s3Names: { client: wallet, privateKey: userKey },
          },
        }),
    get devnet() {
      return devnet
    },
    async close() {
      clearInterval(refresh)
      await network.stop()
    },
  }
}
