import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { type Client, createClient, createFileRecordStore, FILES_RECORD } from '../client/index.ts'
import { DEFAULT_DEVNET_DIR, type DevnetState, readDevnetState } from '../devnet/index.ts'
import { createNetwork, type Network } from '../net/index.ts'
import { controlRequest, type PeerView } from '../node/index.ts'
import { createMemoryPieceStore } from '../storage/index.ts'
import type { ParsedCommandLine } from './command-line.ts'

/** Where a client command finds the network. */
export interface NetworkLocation {
  /** The devnet folder, when the network is a local devnet. */
  devnetDir?: string
  devnet?: DevnetState
  bootstrap: string[]
  /** Control API URLs of nodes the client may ask for peer views. */
  apis: string[]
  /** Folder of the client's own state (its record of files put). */
  home: string
}

/**
 * Resolves `--devnet DIR` / `CAIRN_DEVNET` / `--bootstrap ADDR` into the network to use. Without any of them, the
 * default devnet folder (.cairn-devnet) is tried.
 */
export async function locateNetwork(values: ParsedCommandLine['values']): Promise<NetworkLocation> {
  const bootstrap = (values.bootstrap as string[] | undefined) ?? []
  const explicit = (values.devnet as string | undefined) ?? process.env.CAIRN_DEVNET
  if (bootstrap.length > 0 && explicit === undefined) {
    return { bootstrap, apis: [], home: process.env.CAIRN_HOME ?? join(homedir(), '.cairn') }
  }
  const devnetDir = resolve(explicit ?? DEFAULT_DEVNET_DIR)
  const devnet = await readDevnetState(devnetDir)
  return {
    devnetDir,
    devnet,
    bootstrap: [...bootstrap, ...devnet.nodes.flatMap((n) => n.multiaddrs)],
    apis: devnet.nodes.map((n) => n.api),
    home: process.env.CAIRN_HOME ?? join(devnetDir, 'client'),
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

/** Starts an ephemeral client-only libp2p host and a client over it. */
export async function openClientSession(location: NetworkLocation): Promise<ClientSession> {
  const network = createNetwork(
    { pieceStore: createMemoryPieceStore() },
    {
      privateKey: await generateKeyPair('Ed25519'),
      listen: [],
      bootstrap: location.bootstrap,
      devnet: location.devnet !== undefined,
      mdns: false,
      serveStore: false,
    },
  )
  await network.start()
  // The bootstrap list is dialled in the background; record the known addresses now so the first request can dial.
  await seedAddresses(network, location.bootstrap)
  const client = createClient(
    {
      network,
      records: createFileRecordStore({ path: join(location.home, FILES_RECORD) }),
      peerViews: async (options) => {
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

/** Adds `/p2p/`-terminated addresses to the host's peer store (invalid ones are skipped). */
async function seedAddresses(network: Network, addrs: string[]): Promise<void> {
  const byPeer = new Map<string, string[]>()
  for (const addr of addrs) {
    const id = /\/p2p\/([^/]+)$/.exec(addr)?.[1]
    if (id === undefined) continue
    byPeer.set(id, [...(byPeer.get(id) ?? []), addr.slice(0, -`/p2p/${id}`.length)])
  }
  for (const [id, list] of byPeer) {
    try {
      await network.libp2p.peerStore.merge(peerIdFromString(id), { multiaddrs: list.map((a) => multiaddr(a)) })
    } catch {}
  }
}
