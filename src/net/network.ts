/**
 * The Network: one libp2p host plus Cairn's discovery, heartbeat view, piece protocols and DHT provider records.
 */
import { type Libp2p, type PeerId, TypedEventEmitter } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { InvalidArgumentError, NotFoundError, ProtocolError } from '../errors.ts'
import type { AbortOptions, PieceStore } from '../storage/index.ts'
import {
  DEFAULT_CONTROL_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_BYTES_IN_FLIGHT_PER_PEER,
  DEFAULT_MAX_BYTES_IN_FLIGHT_TOTAL,
  DEFAULT_MAX_STREAMS_PER_PEER,
  DEFAULT_MIN_CONNECTIONS,
  DEFAULT_PHI_THRESHOLD,
  DEFAULT_RECONNECT_INTERVAL_MS,
  DEFAULT_TRANSFER_TIMEOUT_MS,
  DEFAULT_VERSION,
  DEVNET_HEARTBEAT_INTERVAL_MS,
  DEVNET_RECONNECT_INTERVAL_MS,
  MAX_HEARTBEAT_INTERVAL_MS,
  MIN_HEARTBEAT_INTERVAL_MS,
  PEER_STORE_SAVE_INTERVAL_MS,
} from './constants.ts'
import { askFileHealth } from './file-health-protocol.ts'
import { HeartbeatService } from './heartbeat-service.ts'
import type * as Net from './interface.ts'
import type { FileHealthReport, Network, NetworkEvents, NetworkInit, PeerView } from './interface.ts'
import { type CairnLibp2p, createCairnLibp2p } from './libp2p-host.ts'
import { PeerHealth, type PeerHealthEntry } from './peer-health.ts'
import { PeerLimits } from './peer-limits.ts'
import { PeerScores } from './peer-scores.ts'
import { loadPersistedPeers, type PersistedPeer, savePersistedPeers } from './peer-store-file.ts'
import { fetchPieceFromPeer, peerHasPieces, storePieceOnPeer } from './piece-protocol.ts'
import { ProvideQueue } from './provide-queue.ts'
import type { ReachabilityStatus } from './reachability-service.ts'
import { askSlotAcceptance } from './slot-acceptance-protocol.ts'
import { handleStoreProtocols } from './store-protocol-handlers.ts'

export class CairnNetwork extends TypedEventEmitter<NetworkEvents> implements Network {
  readonly peerId: string
  readonly #components: { pieceStore: PieceStore }
  readonly #init: NetworkInit
  readonly #devnet: boolean
  readonly #serveStore: boolean
  readonly #intervalMs: number
  readonly #health: PeerHealth
  readonly #scores: PeerScores
  readonly #limits: PeerLimits
  readonly #addresses = new Map<string, string[]>()
  readonly #pendingWatch = new Set<string>()
  #libp2p: CairnLibp2p | undefined
  #heartbeats: HeartbeatService | undefined
  #provides: ProvideQueue | undefined
  #persisted: PersistedPeer[] = []
  #timers: Array<ReturnType<typeof setInterval>> = []
  #shutdown = new AbortController()

  constructor(components: { pieceStore: PieceStore }, init: NetworkInit) {
    super()
    if (init.privateKey?.type !== 'Ed25519') throw new InvalidArgumentError('the node key must be an Ed25519 key')
    this.#components = components
    this.#init = init
    this.#devnet = init.devnet ?? false
    this.#serveStore = init.serveStore ?? true
    this.#intervalMs =
      init.heartbeatIntervalMs ?? (this.#devnet ? DEVNET_HEARTBEAT_INTERVAL_MS : DEFAULT_HEARTBEAT_INTERVAL_MS)
    if (this.#intervalMs < MIN_HEARTBEAT_INTERVAL_MS || this.#intervalMs > MAX_HEARTBEAT_INTERVAL_MS) {
      throw new InvalidArgumentError(
        `heartbeatIntervalMs must be between ${MIN_HEARTBEAT_INTERVAL_MS} and ${MAX_HEARTBEAT_INTERVAL_MS}`,
      )
    }
    const threshold = init.phiThreshold ?? DEFAULT_PHI_THRESHOLD
    if (!(threshold > 0)) throw new InvalidArgumentError('phiThreshold must be positive')
    this.peerId = peerIdFromPrivateKey(init.privateKey).toString()
    const view = init.peerView ?? {}
    if (view.maxPeers !== undefined && !(Number.isInteger(view.maxPeers) && view.maxPeers > 0)) {
      throw new InvalidArgumentError(`peerView.maxPeers must be a positive integer (got ${view.maxPeers})`)
    }
    this.#health = new PeerHealth({
      phiThreshold: threshold,
      ...(view.maxPeers === undefined ? {} : { maxPeers: view.maxPeers }),
      ...(view.establishedAfterMs === undefined ? {} : { establishedAfterMs: view.establishedAfterMs }),
      ...(view.isStaked === undefined ? {} : { isStaked: view.isStaked }),
      // addresses are kept only for peers in the view: drop them with it, or churn of fresh keys grows the map
      onForget: (peer) => this.#addresses.delete(peer),
    })
    this.#scores = new PeerScores({
      ...(init.banDurationMs === undefined ? {} : { banDurationMs: init.banDurationMs }),
      onBan: (peer) => {
        // abort rather than hang up: a graceful close waits for every open stream of the misbehaving peer
        for (const connection of this.#libp2p?.getConnections(peerIdFromString(peer)) ?? []) {
          connection.abort(new ProtocolError(`peer ${peer} is banned for misbehaving`))
        }
      },
    })
    this.#limits = new PeerLimits({
      maxStreamsPerPeer: init.maxStreamsPerPeer ?? DEFAULT_MAX_STREAMS_PER_PEER,
      maxBytesPerPeer: init.maxBytesInFlightPerPeer ?? DEFAULT_MAX_BYTES_IN_FLIGHT_PER_PEER,
      maxBytesTotal: init.maxBytesInFlightTotal ?? DEFAULT_MAX_BYTES_IN_FLIGHT_TOTAL,
    })
  }

  get libp2p(): Libp2p {
    if (this.#libp2p === undefined) throw new InvalidArgumentError('the network is not started')
    return this.#libp2p
  }

  async start(): Promise<void> {
    if (this.#libp2p !== undefined) return
    this.#shutdown = new AbortController()
    const init = this.#init
    const banned = (peerId: PeerId) => this.#scores.isBanned(peerId.toString())
    const libp2p = await createCairnLibp2p({
      privateKey: init.privateKey,
      devnet: this.#devnet,
      serveStore: this.#serveStore,
      version: init.version ?? DEFAULT_VERSION,
      ...(init.listen === undefined ? {} : { listen: init.listen }),
      ...(init.bootstrap === undefined ? {} : { bootstrap: init.bootstrap }),
      ...(init.mdns === undefined ? {} : { mdns: init.mdns }),
      ...(init.announce === undefined ? {} : { announce: init.announce }),
      ...(init.iceServers === undefined ? {} : { iceServers: init.iceServers }),
      allowPrivateAddresses: init.allowPrivateAddresses ?? this.#devnet,
      onReachability: (status) => this.safeDispatchEvent('reachability', { detail: status }),
      connectionGater: {
        denyDialPeer: banned,
        denyInboundEncryptedConnection: banned,
        denyOutboundEncryptedConnection: banned,
        // the relay serves strangers: no reservation for a banned peer, nor while this node cannot be reached itself
        denyInboundRelayReservation: (peerId) => banned(peerId) || this.reachability().reachability === 'private',
        denyOutboundRelayedConnection: (source) => banned(source),
      },
    })
    this.#libp2p = libp2p
    libp2p.addEventListener('peer:update', (event) => {
      const id = event.detail.peer.id.toString()
      if (this.#health.get(id) !== undefined) {
        this.#addresses.set(
          id,
          event.detail.peer.addresses.map((address) => address.multiaddr.toString()),
        )
      }
    })
    // mDNS, bootstrap and the DHT report peers; libp2p 3 no longer dials them by itself
    libp2p.addEventListener('peer:discovery', (event) => {
      const id = event.detail.id
      if (id.equals(libp2p.peerId) || this.#scores.isBanned(id.toString())) return
      if (libp2p.getConnections().length >= DEFAULT_MIN_CONNECTIONS || libp2p.getConnections(id).length > 0) return
      libp2p
        .dial(id, { signal: AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(DEFAULT_CONTROL_TIMEOUT_MS)]) })
        .catch(() => {})
    })
    if (this.#serveStore) {
      this.#provides = new ProvideQueue({ libp2p, signal: this.#shutdown.signal })
      const components = { pieceStore: this.#components.pieceStore, limits: this.#limits, scores: this.#scores }
      await handleStoreProtocols(libp2p, { ...components, onStored: (cid) => this.#provides?.add(cid) }, init)
    }
    await libp2p.start()
    this.#heartbeats = new HeartbeatService({
      libp2p,
      privateKey: init.privateKey,
      health: this.#health,
      intervalMs: this.#intervalMs,
      controlTimeoutMs: init.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS,
      storage: this.#serveStore,
      version: init.version ?? DEFAULT_VERSION,
      ...(init.freeSpace === undefined ? {} : { freeSpace: init.freeSpace }),
      onChange: (change) => {
        if (change.previous === undefined) this.#rememberAddresses(change.entry.peerId)
        this.safeDispatchEvent('peer:state', { detail: this.#view(change.entry, performance.now()) })
      },
    })
    await this.#heartbeats.start()
    this.#heartbeats.watch([...this.#pendingWatch])
    this.#pendingWatch.clear()

    if (init.dataDir !== undefined) {
      this.#persisted = await loadPersistedPeers(init.dataDir)
      for (const peer of this.#persisted) await this.#merge(peer.id, peer.addrs)
      this.#timers.push(setInterval(() => void this.#savePeers(), PEER_STORE_SAVE_INTERVAL_MS))
    }
    const reconnectMs = this.#devnet ? DEVNET_RECONNECT_INTERVAL_MS : DEFAULT_RECONNECT_INTERVAL_MS
    this.#timers.push(setInterval(() => void this.#reconnect(), reconnectMs))
    void this.#reconnect()
    if (this.#serveStore) void this.#provideStored()
  }

  async stop(): Promise<void> {
    const libp2p = this.#libp2p
    if (libp2p === undefined) return
    this.#shutdown.abort()
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    await this.#heartbeats?.stop()
    if (this.#init.dataDir !== undefined) await this.#savePeers()
    await libp2p.stop()
    this.#libp2p = undefined
    this.#heartbeats = undefined
    this.#provides = undefined
  }

  reachability(): ReachabilityStatus {
    const service = this.#libp2p?.services.reachability
    if (service !== undefined) return service.status()
    // devnet hosts and clients run no probe: a devnet is reachable by construction, a client only dials out
    return { reachability: this.#devnet ? 'public' : 'unknown', relays: [], relayAddresses: [] }
  }

  multiaddrs(): string[] {
    return this.#libp2p?.getMultiaddrs().map((address) => address.toString()) ?? []
  }

  #clientInit() {
    return {
      libp2p: this.libp2p,
      scores: this.#scores,
      transferTimeoutMs: this.#init.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS,
      controlTimeoutMs: this.#init.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS,
    }
  }

  async storePiece(peer: string, cid: CID, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    await storePieceOnPeer(this.#clientInit(), peer, cid, bytes, options)
  }

  async fetchPiece(peer: string, cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    return await fetchPieceFromPeer(this.#clientInit(), peer, cid, options)
  }

  async hasPieces(peer: string, cids: CID[], options: AbortOptions = {}): Promise<boolean[]> {
    return await peerHasPieces(this.#clientInit(), peer, cids, options)
  }

  async fileHealth(peer: string, manifestCid: CID, options: AbortOptions = {}): Promise<FileHealthReport> {
    return await askFileHealth(this.#clientInit(), peer, manifestCid, options)
  }

  slotAcceptance(peer: string, request: Net.SlotAcceptanceRequest, options: AbortOptions = {}) {
    return askSlotAcceptance(this.#clientInit(), peer, request, options)
  }

  async provide(cid: CID, options: AbortOptions = {}): Promise<void> {
    await this.libp2p.contentRouting.provide(cid, options.signal === undefined ? {} : { signal: options.signal })
  }

  async *findProviders(cid: CID, options: AbortOptions = {}): AsyncIterable<string> {
    const seen = new Set<string>()
    const routing = this.libp2p.contentRouting
    try {
      for await (const provider of routing.findProviders(
        cid,
        options.signal === undefined ? {} : { signal: options.signal },
      )) {
        const id = provider.id.toString()
        if (seen.has(id)) continue
        seen.add(id)
        yield id
      }
    } catch (error) {
      // kad-dht throws NotFound when nothing is known; an empty result is the answer then
      if (!(error instanceof Error && error.name === 'NotFoundError')) throw error
    }
  }

  peers(): PeerView[] {
    const now = performance.now()
    return [...this.#health.entries()].map((entry) => this.#view(entry, now))
  }

  watch(peerIds: string[]): void {
    for (const id of peerIds) {
      try {
        peerIdFromString(id)
      } catch (cause) {
        throw new InvalidArgumentError(`not a peer ID: ${id}`, { cause })
      }
    }
    if (this.#heartbeats === undefined) for (const id of peerIds) this.#pendingWatch.add(id)
    else this.#heartbeats.watch(peerIds)
  }

  unwatch(peerIds: string[]): void {
    for (const id of peerIds) this.#pendingWatch.delete(id)
    this.#heartbeats?.unwatch(peerIds)
  }

  /** Misbehaviour score of `peer` (0 clean, -100 banned). */
  score(peer: string): number {
    return this.#scores.score(peer)
  }

  #view(entry: PeerHealthEntry, now: number): PeerView {
    const phi = entry.detector.phi(now)
    const view: PeerView = {
      peerId: entry.peerId,
      state: this.#health.stateFor(phi),
      lastSeenMs: Math.max(0, Math.round(now - (entry.detector.lastHeartbeatMs ?? now))),
      phi: Math.round(phi * 100) / 100,
      multiaddrs: this.#addressesOf(entry.peerId),
      version: entry.version,
      score: this.#scores.score(entry.peerId),
    }
    if (entry.freeSpace !== undefined) view.freeSpace = entry.freeSpace
    return view
  }

  #addressesOf(peerId: string): string[] {
    const cached = this.#addresses.get(peerId)
    if (cached !== undefined && cached.length > 0) return cached
    const libp2p = this.#libp2p
    if (libp2p === undefined) return cached ?? []
    try {
      return libp2p.getConnections(peerIdFromString(peerId)).map((c) => c.remoteAddr.toString())
    } catch {
      return []
    }
  }

  #rememberAddresses(peerId: string): void {
    const libp2p = this.#libp2p
    if (libp2p === undefined) return
    libp2p.peerStore
      .get(peerIdFromString(peerId))
      .then((peer) => {
        this.#addresses.set(
          peerId,
          peer.addresses.map((address) => address.multiaddr.toString()),
        )
      })
      .catch(() => {})
  }

  async #merge(id: string, addrs: string[]): Promise<PeerId | undefined> {
    const libp2p = this.#libp2p
    if (libp2p === undefined || id === this.peerId) return undefined
    try {
      const peerId = peerIdFromString(id)
      const multiaddrs = addrs.map((a) => multiaddr(a))
      if (multiaddrs.length > 0) await libp2p.peerStore.merge(peerId, { multiaddrs })
      return peerId
    } catch {
      return undefined
    }
  }

  /** Keeps the node connected: dials persisted, sourced (registry) and known peers while below the target. */
  async #reconnect(): Promise<void> {
    const libp2p = this.#libp2p
    if (libp2p === undefined || this.#shutdown.signal.aborted) return
    const candidates: Array<PeerId | ReturnType<typeof multiaddr>> = []
    const connected = new Set(libp2p.getPeers().map((p) => p.toString()))
    for (const source of this.#init.peerSources ?? []) {
      try {
        for (const address of await source()) {
          try {
            const ma = multiaddr(address)
            const id = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
            if (id === undefined) candidates.push(ma)
            // a connected peer needs no address (a peer-store write per address per round was an idle node's cost)
            else if (!connected.has(id)) {
              const peerId = await this.#merge(id, [address])
              if (peerId !== undefined) candidates.push(peerId)
            }
          } catch {
            // a malformed address from a source is skipped
          }
        }
      } catch {
        // a failing source (registry unreachable) is retried next round
      }
    }
    if (connected.size >= DEFAULT_MIN_CONNECTIONS && candidates.length === 0) return
    for (const peer of this.#persisted) {
      if (!connected.has(peer.id) && peer.id !== this.peerId) {
        try {
          candidates.push(peerIdFromString(peer.id))
        } catch {}
      }
    }
    if (connected.size < DEFAULT_MIN_CONNECTIONS) {
      for (const peer of await libp2p.peerStore.all({ filters: [(p) => p.addresses.length > 0] }).catch(() => [])) {
        if (!connected.has(peer.id.toString())) candidates.push(peer.id)
        if (candidates.length > DEFAULT_MIN_CONNECTIONS * 4) break
      }
    }
    const signal = AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(DEFAULT_CONTROL_TIMEOUT_MS)])
    const seen = new Set<string>()
    const dials: Array<Promise<unknown>> = []
    for (const candidate of candidates) {
      const key = candidate.toString()
      if (seen.has(key) || connected.has(key)) continue
      seen.add(key)
      dials.push(libp2p.dial(candidate, { signal }).catch(() => {}))
      if (dials.length >= DEFAULT_MIN_CONNECTIONS * 2) break
    }
    await Promise.all(dials)
  }

  async #savePeers(): Promise<void> {
    const libp2p = this.#libp2p
    const dataDir = this.#init.dataDir
    if (libp2p === undefined || dataDir === undefined) return
    try {
      const all = await libp2p.peerStore.all({ filters: [(p) => p.addresses.length > 0] })
      const storage = (id: string) => {
        const state = this.#health.get(id)?.state
        return state === 'alive' ? 0 : state === 'suspect' ? 1 : state === undefined ? 2 : 3
      }
      const peers = all
        .map((peer) => ({ id: peer.id.toString(), addrs: peer.addresses.map((a) => a.multiaddr.toString()) }))
        .filter((peer) => peer.id !== this.peerId)
        .sort((a, b) => storage(a.id) - storage(b.id))
      // keep peers we knew before but have not seen this run (they may come back), after the fresh ones
      const known = new Set(peers.map((p) => p.id))
      for (const peer of this.#persisted) if (!known.has(peer.id)) peers.push(peer)
      await savePersistedPeers(dataDir, peers)
    } catch {
      // persistence is best effort; the next round retries
    }
  }

  /** Re-announces every stored piece in the DHT after a start (records live in the other nodes' memory). */
  async #provideStored(): Promise<void> {
    const signal = this.#shutdown.signal
    try {
      for await (const cid of this.#components.pieceStore.list({ signal })) {
        if (signal.aborted) return
        await this.#provides?.addAndWait(cid)
      }
    } catch (error) {
      if (!(error instanceof NotFoundError)) return
    }
  }
}
