import { statfsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import { InvalidArgumentError, UnreachableError } from '../errors.ts'
import { createNetwork } from '../net/index.ts'
import { createFsPieceStore, type FsPieceStore, type PieceStore, writeFileDurable } from '../storage/index.ts'
import { type AcceptedManifests, readmitStoredManifest } from './accepted-manifests.ts'
import { AcceptedSlots } from './accepted-slots.ts'
import { registerBenchSink } from './bench-sink.ts'
import {
  type ChainService,
  type ChainServiceInit,
  createChainService,
  createPieceLeafCache,
  createSlotProver,
  SLOT_CACHE_DIR,
} from './chain-service/index.ts'
import { DEFAULT_PEER_SAVE_INTERVAL_MS, MAX_WATCHED_PEERS, PIECES_DIR, READY_FILE } from './constants.ts'
import { type ControlApi, createControlApi } from './control-api.ts'
import { createPieceCollector, type PieceCollector, type PieceCollectorEvent } from './gc/index.ts'
import type { AbortOptions, NodeInfo, NodeOptions, StorageNode } from './interface.ts'
import { monotonicNow } from './monotonic-clock.ts'
import { createNodeMetrics } from './node-metrics.ts'
import { defaultNodeOptions } from './node-options.ts'
import { loadOrCreatePeerKey } from './peer-key.ts'
import { registryAddresses } from './registry-addresses.ts'
import { type RegistryPeers, registryPeers } from './registry-peers.ts'
import { createRepairService, fileHealthReport, type RepairService, type RepairServiceInit } from './repair/index.ts'
import { readSavedPeers, type SavedPeer, savedPeerAddresses, writeSavedPeers } from './saved-peers.ts'
import { createSlotAcceptancePolicy } from './slot-acceptance.ts'
import { CAIRN_VERSION } from './version.ts'

/** What the chain service needs beyond `NodeOptions.chain`: the deployment read from its file, and the key. */
export type NodeChainConnection = Omit<
  ChainServiceInit,
  'dataDir' | 'rpcUrl' | 'pricePerByteEpoch' | 'stake' | 'watcher' | 'fakeProofs'
>

export interface StorageNodeInit {
  /** The node's data dir: peer.key, config.json, pieces/, peers.json, node.json. */
  dataDir: string
  /** Every setting (`loadNodeOptions`); default `defaultNodeOptions()`. */
  options?: NodeOptions
  /** How often the known peers are saved to peers.json. */
  peerSaveIntervalMs?: number
  /** The repair service's hooks (its settings are `options.repair`); `onSlotRepaired` is the chain seam. */
  repair?: Pick<RepairServiceInit, 'onProgress' | 'onSlotRepaired'>
  /**
   * The chain (Registry, Market): register, confirm, prove, watch, withdraw, at `options.chain.rpcUrl`, asking
   * `options.chain`'s price and stake. Absent: the node runs off chain.
   */
  chain?: NodeChainConnection
  /** The garbage collector's reports (a node on chain only; its settings are `options.gc`). */
  onGcEvent?: (event: PieceCollectorEvent) => void
}

/**
 * Creates a storage node: a disk piece store under the data dir, the libp2p network serving it, and the local
 * control API. `start()` writes `dataDir/node.json` (the node's peer ID, addresses and API URL); `stop()` removes it.
 *
 * @example
 * ```ts
 * const options = await loadNodeOptions(dataDir, { flags: { network: { devnet: true } } })
 * const node = createStorageNode({ dataDir, options })
 * const info = await node.start()
 * process.once('SIGTERM', () => node.stop())
 * ```
 */
export function createStorageNode(init: StorageNodeInit): StorageNode {
  return new DaemonStorageNode(init)
}

class DaemonStorageNode implements StorageNode {
  readonly #init: StorageNodeInit
  readonly #options: NodeOptions
  readonly #dataDir: string
  #peerId = ''
  #info: NodeInfo | undefined
  #store: FsPieceStore | undefined
  #network: ReturnType<typeof createNetwork> | undefined
  #api: ControlApi | undefined
  #repair: RepairService | undefined
  #chain: ChainService | undefined
  #gc: PieceCollector | undefined
  #saveTimer: NodeJS.Timeout | undefined
  #watchTimer: NodeJS.Timeout | undefined
  #savedPeers: SavedPeer[] = []
  readonly #watched = new Set<string>()
  #freeSpaceCache = { at: Number.NEGATIVE_INFINITY, value: 0 }

  constructor(init: StorageNodeInit) {
    this.#init = init
    this.#options = init.options ?? defaultNodeOptions()
    this.#dataDir = resolve(init.dataDir)
    if (init.chain !== undefined && this.#options.chain.rpcUrl === undefined) {
      throw new InvalidArgumentError('a node on the chain needs options.chain.rpcUrl')
    }
  }

  get peerId(): string {
    return this.#peerId
  }

  info(): NodeInfo {
    if (this.#info === undefined) throw new UnreachableError('the node is not started')
    return this.#info
  }

  async start(_options: AbortOptions = {}): Promise<NodeInfo> {
    const { network: net, storage, repair: repairOptions, limits, faults } = this.#options
    const privateKey = await loadOrCreatePeerKey(this.#dataDir)
    const store = createFsPieceStore({
      path: join(this.#dataDir, PIECES_DIR),
      ...(Number.isFinite(storage.quota) ? { quota: storage.quota } : {}),
    })
    await store.start()
    this.#store = store
    this.#savedPeers = await readSavedPeers(this.#dataDir)
    const metrics = createNodeMetrics(
      {
        pieceStore: store,
        peers: () => this.#network?.peers() ?? [],
        peerId: () => this.#network?.peerId ?? '',
        freeSpace: () => this.#freeSpace(),
      },
      { version: CAIRN_VERSION },
    )
    // The chain service (created below) takes over on chain every slot the repair service rebuilt onto this node.
    let claimSlot: ChainService['claimSlot'] | undefined
    const userRepaired = this.#init.repair?.onSlotRepaired
    const userRepairProgress = this.#init.repair?.onProgress
    // With a chain, only Registry-active (staked) nodes count as holders and repair targets, ranked by their
    // registered capacity; the Registry is read once the chain service exists (below).
    let registry: RegistryPeers | undefined
    // With a chain, a stored manifest is tracked only when this node accepted a slot of it or a staked repairer sent
    // it under its reservation (the consent policy, created below, answers).
    let manifests: AcceptedManifests | undefined
    const repair = createRepairService(
      { pieceStore: store, network: () => network },
      {
        ...repairOptions,
        ...(this.#init.chain === undefined
          ? {}
          : {
              isEligible: (peerId: string) => registry?.isStaked(peerId) === true,
              capacityOf: (peerId: string) => registry?.capacityOf(peerId),
              isAcceptedManifest: async (manifestCid: CID) => (await manifests?.has(manifestCid)) === true,
            }),
        holdFile: faults.repairHoldFile,
        dataDir: this.#dataDir,
        onProgress: (event) => {
          metrics.onRepairEvent(event)
          userRepairProgress?.(event)
        },
        onSlotRepaired: async (event) => {
          await userRepaired?.(event)
          await claimSlot?.({ manifestCid: event.manifestCid, slot: event.slot })
        },
      },
    )
    this.#repair = repair
    let served = faults.corruptServedPieces ? corruptingStore(repair.pieceStore) : repair.pieceStore
    // Test-only fault: a node faking its proofs keeps no piece at all.
    if (faults.fakeProofs) served = discardingStore(served)
    // Pieces received over the network are leaf-hashed as they are stored: a slot's tree needs no reread.
    const pieceLeaves = createPieceLeafCache()
    served = pieceLeaves.recording(served)
    const userChainEvent = this.#init.chain?.onEvent
    const chain =
      this.#init.chain === undefined
        ? undefined
        : createChainService(
            {
              // Proofs are built from this node's own disk only, never through the store that heals on read.
              pieceStore: store,
              peerId: () => this.#network?.peerId ?? '',
              // the announce addresses when the operator gave some, else what the host holds (relayed first behind a NAT)
              multiaddrs: () =>
                registryAddresses(this.#network?.multiaddrs() ?? [], {
                  announce: net.announce,
                  reachability: this.#network?.reachability().reachability ?? 'unknown',
                }),
              capacity: () => BigInt(Number.isFinite(storage.quota) ? storage.quota : 2 ** 50),
              healPiece: (cid, options) => repair.healPiece(cid, options),
              pieceLeaves,
            },
            {
              ...this.#init.chain,
              rpcUrl: this.#options.chain.rpcUrl ?? '',
              ...(this.#options.chain.fallbackRpcUrls === undefined
                ? {}
                : { fallbackRpcUrls: this.#options.chain.fallbackRpcUrls }),
              pricePerByteEpoch: this.#options.chain.pricePerByteEpoch,
              stake: this.#options.chain.stake,
              watcher: this.#options.chain.watcher,
              logBlockRange: this.#options.chain.logBlockRange,
              fakeProofs: faults.fakeProofs,
              dataDir: this.#dataDir,
              onEvent: (event) => {
                metrics.onChainEvent(event)
                userChainEvent?.(event)
              },
            },
          )
    if (chain !== undefined) claimSlot = (params, options) => chain.claimSlot(params, options)
    registry = chain === undefined ? undefined : registryPeers(chain.client)
    // Consent: pieces only from peers holding an upload reservation; a deal slot only with this node's signature.
    const slotAcceptance = createSlotAcceptancePolicy(
      {
        prover: createSlotProver({ pieceStore: store, pieceLeaves }, { cacheDir: join(this.#dataDir, SLOT_CACHE_DIR) }),
        chain: chain?.client,
        freeSpace: () => this.#freeSpace(),
        ...(registry === undefined
          ? {}
          : { isStaked: registry.isStaked, readmitManifest: readmitStoredManifest(store, repair) }),
      },
      { dataDir: this.#dataDir, skipHoldingCheck: faults.fakeProofs },
    )
    manifests = slotAcceptance.manifests
    // Only what the network serves is metered: the chain service's proof reads are not pieces served.
    const network = createNetwork(
      { pieceStore: metrics.meterPieceStore(served) },
      {
        privateKey,
        listen: net.listen,
        bootstrap: net.bootstrap,
        devnet: net.devnet,
        mdns: net.mdns,
        ...(net.announce.length > 0 ? { announce: net.announce } : {}),
        ...(net.iceServers.length > 0 ? { iceServers: net.iceServers } : {}),
        allowPrivateAddresses: net.allowPrivateAddresses || net.devnet,
        dataDir: this.#dataDir,
        ...(net.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: net.heartbeatIntervalMs }),
        version: CAIRN_VERSION,
        freeSpace: () => this.#freeSpace(),
        serveStore: true,
        maxBytesInFlightTotal: limits.maxBytesInFlightTotal,
        maxBytesInFlightPerPeer: limits.maxBytesInFlightPerPeer,
        // clients ask over libp2p what this node knows of a file's repair (`cairn status`)
        reportFileHealth: (manifestCid) => fileHealthReport(repair.file(manifestCid)),
        slotAcceptance,
        peerSources: [
          async () => savedPeerAddresses(this.#savedPeers),
          ...(registry === undefined ? [] : [registry.source]),
        ],
        // staked nodes rank first in the bounded peer view: gossiped fresh keys cannot displace them
        ...(registry === undefined ? {} : { peerView: { isStaked: registry.isStaked } }),
      },
    )
    await network.start()
    this.#network = network
    await registry?.source()
    await repair.start()
    if (chain !== undefined) {
      await chain.start()
      this.#chain = chain
      // The garbage collector works from the chain's book of deals: off chain nothing is ever deleted.
      const gc = createPieceCollector(
        {
          pieceStore: store,
          market: () => chain.marketView(),
          accepted: new AcceptedSlots(this.#dataDir),
          repair,
        },
        {
          dataDir: this.#dataDir,
          graceMs: this.#options.gc.graceMs,
          intervalMs: this.#options.gc.intervalMs,
          ...(this.#init.onGcEvent === undefined ? {} : { onEvent: this.#init.onGcEvent }),
        },
      )
      gc.start()
      this.#gc = gc
    }
    this.#watchPeers(this.#savedPeers.map((p) => p.peerId))
    if (faults.benchSink) await registerBenchSink(network.libp2p)
    this.#peerId = network.peerId
    const startedAt = Date.now()
    const startedMonotonic = monotonicNow()
    const api = createControlApi(
      {
        pieceStore: store,
        peers: () => network.peers(),
        health: () => ({
          peerId: network.peerId,
          version: CAIRN_VERSION,
          pid: process.pid,
          uptimeMs: Math.round(monotonicNow() - startedMonotonic),
          // the wall clock (ms since the Unix epoch), for an operator comparing clocks; nothing here is timed by it
          clockMs: Date.now(),
          multiaddrs: network.multiaddrs(),
          connectedPeers: network.libp2p.getPeers().length,
          dataDir: this.#dataDir,
          reachability: network.reachability(),
        }),
        metrics,
      },
      { port: net.apiPort },
    )
    const url = await api.start()
    this.#api = api
    this.#info = {
      peerId: network.peerId,
      pid: process.pid,
      multiaddrs: network.multiaddrs(),
      api: url,
      dataDir: this.#dataDir,
      startedAt,
      version: CAIRN_VERSION,
    }
    await writeFileDurable(join(this.#dataDir, READY_FILE), `${JSON.stringify(this.#info, null, 2)}\n`, 0o644)
    this.#watchTimer = setInterval(() => this.#watchPeers(network.libp2p.getPeers().map(String)), 2_000)
    this.#watchTimer.unref()
    this.#saveTimer = setInterval(() => {
      this.#savePeers().catch(() => {})
    }, this.#init.peerSaveIntervalMs ?? DEFAULT_PEER_SAVE_INTERVAL_MS)
    this.#saveTimer.unref()
    return this.#info
  }

  async stop(): Promise<void> {
    clearInterval(this.#saveTimer)
    clearInterval(this.#watchTimer)
    await rm(join(this.#dataDir, READY_FILE), { force: true }).catch(() => {})
    await this.#gc?.stop()
    await this.#chain?.stop()
    await this.#savePeers().catch(() => {})
    await this.#api?.stop()
    await this.#repair?.stop()
    await this.#network?.stop()
    await this.#store?.stop()
    this.#api = undefined
    this.#network = undefined
    this.#store = undefined
  }

  async #savePeers(): Promise<void> {
    const network = this.#network
    if (network === undefined) return
    const seen = await Promise.all(
      network
        .peers()
        .filter((p) => p.state !== 'dead')
        .map(async (p) => {
          if (p.multiaddrs.length > 0) return p
          // Heard of through gossip only: the host's peer store may still know where it listens.
          try {
            const known = await network.libp2p.peerStore.get(peerIdFromString(p.peerId))
            return { ...p, multiaddrs: known.addresses.map((a) => a.multiaddr.toString()) }
          } catch {
            return p
          }
        }),
    )
    this.#savedPeers = await writeSavedPeers(this.#dataDir, seen, this.#savedPeers)
  }

  /**
   * Exchanges direct heartbeats with remembered and connected peers (bounded). Presence gossip alone was seen not to
   * reach a node restarted with the same peer ID for minutes; direct heartbeats are answered both ways at once.
   */
  #watchPeers(peerIds: string[]): void {
    const network = this.#network
    if (network === undefined) return
    const fresh = peerIds.filter((id) => id !== network.peerId && !this.#watched.has(id))
    const room = MAX_WATCHED_PEERS - this.#watched.size
    const add = fresh.slice(0, Math.max(0, room))
    if (add.length === 0) return
    for (const id of add) this.#watched.add(id)
    network.watch(add)
  }

  /** Bytes this node can still take: the quota left, capped by the disk's free space (cached for 5 s). */
  #freeSpace(): number {
    const now = monotonicNow()
    if (now - this.#freeSpaceCache.at > 5_000) {
      let disk = Number.MAX_SAFE_INTEGER
      try {
        const stats = statfsSync(this.#dataDir)
        disk = stats.bavail * stats.bsize
      } catch {}
      const usage = this.#store?.usage()
      const left = usage === undefined ? disk : usage.quota - usage.bytes
      this.#freeSpaceCache = { at: now, value: Math.max(0, Math.min(disk, left)) }
    }
    return this.#freeSpaceCache.value
  }
}

/** Test-only fault: a store that acknowledges writes and keeps nothing. */
function discardingStore(store: PieceStore): PieceStore {
  return {
    put: async () => {},
    has: (cid, options) => store.has(cid, options),
    get: (cid, options) => store.get(cid, options),
    delete: (cid, options) => store.delete(cid, options),
    list: (options) => store.list(options),
    usage: () => store.usage(),
  }
}

/** Test-only fault: a store whose reads return the piece with its first byte flipped. */
function corruptingStore(store: PieceStore): PieceStore {
  return {
    put: (cid, bytes, options) => store.put(cid, bytes, options),
    has: (cid, options) => store.has(cid, options),
    delete: (cid, options) => store.delete(cid, options),
    list: (options) => store.list(options),
    usage: () => store.usage(),
    get: async (cid, options) => {
      const bytes = new Uint8Array(await store.get(cid, options))
      if (bytes.byteLength > 0) bytes[0] = bytes[0]! ^ 0xff
      return bytes
    },
  }
}
