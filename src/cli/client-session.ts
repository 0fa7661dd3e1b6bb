import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  createChainReader,
  NETWORK_FILE,
  NETWORK_FILE_FORMAT,
  type NetworkFile,
  networkChain,
  readNetworkFile,
} from '../chain/index.ts'
import {
  type Client,
  createClient,
  createFileRecordStore,
  FILES_RECORD,
  seedAddresses,
  watchRegistryNodes,
} from '../client/index.ts'
import { DEFAULT_DEVNET_DIR, DEVNET_FILE, type DevnetState, readDevnetState } from '../devnet/index.ts'
import { createNetwork, type Network } from '../net/index.ts'
import { controlRequest, type PeerView } from '../node/index.ts'
import { configureCrashPoint, createMemoryPieceStore } from '../storage/index.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { CRASH_AT_ENV } from './node-option-table.ts'

/** Where a client command finds the network. */
export interface NetworkLocation {
  /** The devnet folder, when the network is a local devnet. */
  devnetDir?: string
  devnet?: DevnetState
  /** The network joined: its chain, contracts and bootstrap list (from --network FILE or the devnet's own file). */
  network?: NetworkFile
  bootstrap: string[]
  /** Control API URLs of nodes the client may ask for peer views (a devnet's nodes only). */
  apis: string[]
  /** Folder of the client's own state (its record of files put). */
  home: string
  /** The user's key file (`--key-file`): it pays, before CAIRN_PRIVATE_KEY. */
  keyFile?: string
  /** A devnet's funded user.key: pays when neither `--key-file` nor CAIRN_PRIVATE_KEY is given. */
  devnetKeyFile?: string
}

/** The network file named by `--network` or CAIRN_NETWORK (an empty variable counts as unset). */
function networkFlag(values: ParsedCommandLine['values']): string | undefined {
  const path = (values.network as string | undefined) ?? process.env.CAIRN_NETWORK
  return path === undefined || path === '' ? undefined : resolve(path)
}

/**
 * Resolves `--network FILE` / `CAIRN_NETWORK`, `--devnet DIR` / `CAIRN_DEVNET` and `--bootstrap ADDR` into the
 * network to use. A devnet is a network whose file is DIR/network.json; without any of them, the default devnet
 * folder (.cairn-devnet) is tried.
 */
export async function locateNetwork(values: ParsedCommandLine['values']): Promise<NetworkLocation> {
  const bootstrap = (values.bootstrap as string[] | undefined) ?? []
  const flagKey = values['key-file'] as string | undefined
  const keyFile = flagKey === undefined ? {} : { keyFile: resolve(flagKey) }
  const networkPath = networkFlag(values)
  if (networkPath !== undefined) {
    const network = await readNetworkFile(networkPath)
    // A devnet's own network file: its nodes' control APIs answer peer views, its user.key pays by default.
    const folder = dirname(networkPath)
    if (basename(networkPath) === NETWORK_FILE && existsSync(join(folder, DEVNET_FILE))) {
      const devnet = await readDevnetState(folder).catch(() => undefined)
      if (devnet !== undefined) return devnetLocation(folder, devnet, network, bootstrap, flagKey)
    }
    return {
      network,
      bootstrap: [...new Set([...bootstrap, ...network.bootstrap])],
      apis: [],
      home: process.env.CAIRN_HOME ?? join(homedir(), '.cairn', 'networks', network.name),
      ...keyFile,
    }
  }
  const explicit = (values.devnet as string | undefined) ?? process.env.CAIRN_DEVNET
  if (bootstrap.length > 0 && explicit === undefined) {
    return { bootstrap, apis: [], home: process.env.CAIRN_HOME ?? join(homedir(), '.cairn'), ...keyFile }
  }
  const devnetDir = resolve(explicit ?? DEFAULT_DEVNET_DIR)
  const devnet = await readDevnetState(devnetDir)
  const file = join(devnetDir, NETWORK_FILE)
  const network = existsSync(file) ? await readNetworkFile(file) : devnetNetwork(devnet)
  return devnetLocation(devnetDir, devnet, network, bootstrap, flagKey)
}

function devnetLocation(
  devnetDir: string,
  devnet: DevnetState,
  network: NetworkFile | undefined,
  bootstrap: string[],
  flagKey: string | undefined,
): NetworkLocation {
  const devnetKeyFile = devnet.chain?.user.keyFile
  return {
    devnetDir,
    devnet,
    ...(network === undefined ? {} : { network }),
    bootstrap: [...bootstrap, ...devnet.nodes.flatMap((n) => n.multiaddrs)],
    apis: devnet.nodes.map((n) => n.api),
    home: process.env.CAIRN_HOME ?? join(devnetDir, 'client'),
    ...(flagKey === undefined ? {} : { keyFile: resolve(flagKey) }),
    ...(devnetKeyFile === undefined ? {} : { devnetKeyFile }),
  }
}

/** The network of a devnet started before devnets wrote network.json (from devnet.json's chain). */
function devnetNetwork(devnet: DevnetState): NetworkFile | undefined {
  const chain = devnet.chain
  if (chain === undefined) return undefined
  return {
    format: NETWORK_FILE_FORMAT,
    name: 'devnet',
    chainId: chain.chainId,
    rpc: chain.rpc,
    contracts: chain.contracts,
    deploymentBlock: BigInt(chain.blockNumber),
    epochSeconds: chain.epochSeconds,
    bootstrap: [],
    allowPrivateAddresses: true,
  }
}

/**
 * Asks every known control API for its failure-detector view; a node that answers counts itself alive.
 */
export async function controlApiViews(apis: string[], options: { signal?: AbortSignal } = {}): Promise<PeerView[][]> {
  const views = await Promise.all(
    apis.map(async (api): Promise<PeerView[]> => {
      try {
        const [health, peers] = await Promise.all([
          controlRequest<{ peerId: string; multiaddrs: string[]; version?: string }>(api, '/health', {
            ...options,
            timeoutMs: 5_000,
          }),
          controlRequest<PeerView[]>(api, '/peers', { ...options, timeoutMs: 5_000 }),
        ])
        const self: PeerView = {
          peerId: health.peerId,
          state: 'alive',
          lastSeenMs: 0,
          multiaddrs: health.multiaddrs,
          direct: true,
        }
        return [self, ...peers]
      } catch {
        return []
      }
    }),
  )
  return views.filter((v) => v.length > 0)
}

export interface ClientSession {
  client: Client
  /** The ephemeral client-only host (for benchmarks and diagnostics). */
  network: Network
  location: NetworkLocation
  close(): Promise<void>
}

/**
 * Starts an ephemeral client-only libp2p host and a client over it. Peers: the bootstrap list, the devnet's control
 * APIs on a devnet, else the Registry's active nodes (watched with direct heartbeats until they answer).
 */
export async function openClientSession(location: NetworkLocation): Promise<ClientSession> {
  configureCrashPoint(process.env[CRASH_AT_ENV] ?? '')
  const lan = location.devnet !== undefined || location.network?.allowPrivateAddresses === true
  const network = createNetwork(
    { pieceStore: createMemoryPieceStore() },
    {
      privateKey: await generateKeyPair('Ed25519'),
      listen: [],
      bootstrap: location.bootstrap,
      devnet: location.devnet !== undefined,
      allowPrivateAddresses: lan,
      mdns: false,
      serveStore: false,
    },
  )
  await network.start()
  // The bootstrap list is dialled in the background; record the known addresses now so the first request can dial.
  await seedAddresses(network, location.bootstrap)
  const registry =
    location.apis.length > 0 || location.network === undefined
      ? undefined
      : watchRegistryNodes(network, createChainReader(networkChain(location.network)))
  const client = createClient(
    {
      network,
      records: createFileRecordStore({ path: join(location.home, FILES_RECORD) }),
      peerViews: async (options) => {
        if (registry !== undefined) {
          // Off a devnet no control API answers: the Registry names the nodes, their heartbeats say they are alive.
          await registry.settle(options)
          return []
        }
        const views = await controlApiViews(location.apis, options)
        // Nodes restarted since devnet.json was written listen on new ports: learn them from the views.
        await seedAddresses(
          network,
          views.flat().flatMap((p) => p.multiaddrs.map((m) => (m.includes('/p2p/') ? m : `${m}/p2p/${p.peerId}`))),
        )
        return views
      },
    },
    {},
  )
  return {
    client,
    network,
    location,
    close: () => network.stop(),
  }
}
