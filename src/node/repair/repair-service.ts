/**
 * The repair service of a storage node: self-healing without the file's owner.
 *
 * - Files: a node learns a file when its manifest is stored on it (the manifest bytes reach every slot holder), and
 *   remembers it in `dataDir/repair.json`.
 * - Placement: the node asks the file's known holders (and, while a slot has no live holder, every live peer) which
 *   slots' first pieces they hold (has-pieces), and watches the holders (direct heartbeats).
 * - Lost slot: no live node holds it. The live holders rank themselves by sha-256 of (manifest CID, peer ID); the first
 *   rebuilds the slot from any k other slots onto a live node that holds none of the file (another /24 when one
 *   exists), the others act only if the slot is still lost after `rank x fallbackMs`. The manifest is sent first and
 *   segment 0 last, so the new node counts as the slot's holder only once it has every piece.
 * - Damaged piece: a read (a client's fetch, a challenge) of a piece of this node's slots that is missing or corrupt
 *   on disk is rebuilt from the other holders, rewritten and served; a periodic scrub finds the ones nobody reads.
 */
import { appendFile, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { CorruptDataError, NotEnoughPiecesError, NotFoundError } from '../../errors.ts'
import type { FileHealthReport } from '../../net/index.ts'
import {
  createErasureCoder,
  decodeManifest,
  type ErasureCoder,
  MAX_MANIFEST_SIZE,
  type Manifest,
  type PieceStore,
  slotPieces,
} from '../../storage/index.ts'
import type { AbortOptions, PeerState } from '../index.ts'
import {
  DEFAULT_REPAIR_ADOPT_TIMEOUT_MS,
  DEFAULT_REPAIR_CHECK_INTERVAL_MS,
  DEFAULT_REPAIR_CONCURRENCY,
  DEFAULT_REPAIR_CONFIRM_MS,
  DEFAULT_REPAIR_FALLBACK_MS,
  DEFAULT_REPAIR_PIECE_TIMEOUT_MS,
  DEFAULT_REPAIR_PLACEMENT_REFRESH_MS,
  DEFAULT_REPAIR_SCRUB_INTERVAL_MS,
  DEFAULT_REPAIR_SCRUB_READS,
  REPAIR_LOG_FILE,
  REPAIR_LOG_MAX_BYTES,
} from './constants.ts'
import type {
  RepairEvent,
  RepairFileView,
  RepairNetwork,
  RepairService,
  RepairServiceComponents,
  RepairServiceInit,
  RepairSlotView,
} from './interface.ts'
import { assignSlots, chooseRepairTarget, repairerOrder } from './repair-placement.ts'
import { type RepairFileRecord, readRepairState, writeRepairState } from './repair-state-file.ts'

const DAG_CBOR_CODE = 0x71
const PROBE_TIMEOUT_MS = 10_000
const LOST_REFRESH_MS = 3_000

interface TrackedFile {
  key: string
  manifestCid: CID
  manifest: Manifest
  manifestBytes: Uint8Array
  coder: ErasureCoder | undefined
  mySlots: Set<number>
  holders: Array<string | null>
  holdersOf: string[][]
  refreshedAt: number
  lostSince: Map<number, number>
  retryAfter: Map<number, number>
  failedTargets: Set<string>
  adoptingSince: number | undefined
  scrubCursor: number
}

interface ActiveRepair {
  target: string
  done: number
  pieces: number
  /** ms since the epoch */
  startedAt: number
}

/**
 * Creates the repair service of a storage node. Serve `service.pieceStore` on the network (it heals damaged pieces on
 * read and registers manifests), then `start()` it once the network runs.
 *
 * @example
 * ```ts
 * const repair = createRepairService({ pieceStore: store, network: () => network }, {
 *   dataDir,
 *   onSlotRepaired: ({ manifestCid, slot }) => chain.repairSlot(manifestCid, slot),
 * })
 * const network = createNetwork({ pieceStore: repair.pieceStore }, networkInit)
 * await network.start()
 * await repair.start()
 * ```
 */
export function createRepairService(components: RepairServiceComponents, init: RepairServiceInit = {}): RepairService {
  return new NodeRepairService(components, init)
}

/**
 * Repair settings from the environment (`CAIRN_REPAIR_CHECK_MS`, `_FALLBACK_MS`, `_CONFIRM_MS`, `_SCRUB_MS`,
 * `_PIECE_DELAY_MS`).
 */
export function repairInitFromEnv(env: Record<string, string | undefined>): Partial<RepairServiceInit> {
  const out: Partial<RepairServiceInit> = {}
  const read = (name: string): number | undefined => {
    const value = Number(env[name])
    return env[name] !== undefined && Number.isFinite(value) && value > 0 ? value : undefined
  }
  const check = read('CAIRN_REPAIR_CHECK_MS')
  const fallback = read('CAIRN_REPAIR_FALLBACK_MS')
  const confirm = read('CAIRN_REPAIR_CONFIRM_MS')
  const scrub = read('CAIRN_REPAIR_SCRUB_MS')
  const pieceDelay = read('CAIRN_REPAIR_PIECE_DELAY_MS')
  if (check !== undefined) out.checkIntervalMs = check
  if (fallback !== undefined) out.fallbackMs = fallback
  if (confirm !== undefined) out.confirmMs = confirm
  if (scrub !== undefined) out.scrubIntervalMs = scrub
  if (pieceDelay !== undefined) out.pieceDelayMs = pieceDelay
  return out
}

class NodeRepairService implements RepairService {
  readonly pieceStore: PieceStore
  readonly #store: PieceStore
  readonly #network: () => RepairNetwork
  readonly #init: RepairServiceInit
  readonly #files = new Map<string, TrackedFile>()
  /** Piece CID -> where it sits in a file this node holds a slot of. */
  readonly #index = new Map<string, { key: string; segment: number; slot: number }>()
  readonly #active = new Map<string, ActiveRepair>()
  readonly #healing = new Map<string, Promise<Uint8Array>>()
  #controller = new AbortController()
  #checkTimer: NodeJS.Timeout | undefined
  #scrubTimer: NodeJS.Timeout | undefined
  #checking: Promise<void> | undefined
  #scrubbing: Promise<void> | undefined
  #log: Promise<void> = Promise.resolve()
  #started = false
  #saveQueued = false

  constructor(components: RepairServiceComponents, init: RepairServiceInit) {
    this.#store = components.pieceStore
    this.#network = components.network
    this.#init = init
    const store = components.pieceStore
    this.pieceStore = {
      put: async (cid, bytes, options) => {
        await store.put(cid, bytes, options)
        if (cid.code === raw.code && looksLikeManifest(bytes)) this.#onManifestStored(cid, bytes)
      },
      get: async (cid, options) => {
        try {
          return await store.get(cid, options)
        } catch (err) {
          if (!(err instanceof CorruptDataError || err instanceof NotFoundError)) throw err
          if (!this.#index.has(cid.toString()) || !this.#started) throw err
          try {
            return await this.healPiece(cid, options)
          } catch {
            throw err
          }
        }
      },
      has: (cid, options) => store.has(cid, options),
      delete: (cid, options) => store.delete(cid, options),
      list: (options) => store.list(options),
      usage: () => store.usage(),
    }
  }

  async start(_options: AbortOptions = {}): Promise<void> {
    this.#controller = new AbortController()
    this.#started = true
    const records = this.#init.dataDir === undefined ? [] : await readRepairState(this.#init.dataDir)
    for (const record of records) {
      try {
        const manifestCid = CID.parse(record.manifestCid)
        const bytes = await this.#store.get(CID.createV1(raw.code, manifestCid.multihash))
        this.#track(manifestCid, decodeManifest(bytes, manifestCid), bytes, record)
      } catch {}
    }
    const every = this.#init.checkIntervalMs ?? DEFAULT_REPAIR_CHECK_INTERVAL_MS
    this.#checkTimer = setInterval(() => {
      this.check().catch(() => {})
    }, every)
    this.#checkTimer.unref()
    this.#scrubTimer = setInterval(() => {
      this.scrub().catch(() => {})
    }, this.#init.scrubIntervalMs ?? DEFAULT_REPAIR_SCRUB_INTERVAL_MS)
    this.#scrubTimer.unref()
  }

  async stop(): Promise<void> {
    this.#started = false
    clearInterval(this.#checkTimer)
    clearInterval(this.#scrubTimer)
    this.#controller.abort()
    await Promise.allSettled([this.#checking, this.#scrubbing])
    await this.#save().catch(() => {})
    await this.#log
  }

  files(): RepairFileView[] {
    const states = this.#peerStates()
    const me = this.#me()
    return [...this.#files.values()].map((file) => this.#view(file, states, me))
  }

  file(manifestCid: CID): RepairFileView | undefined {
    const file = this.#files.get(CID.createV1(DAG_CBOR_CODE, manifestCid.multihash).toString())
    return file === undefined ? undefined : this.#view(file, this.#peerStates(), this.#me())
  }

  #view(file: TrackedFile, states: Map<string, PeerState>, me: string): RepairFileView {
    const slots: RepairSlotView[] = file.holders.map((peerId, slot) => {
      const active = this.#active.get(`${file.key}:${slot}`)
      const state = peerId === null ? 'lost' : peerId === me ? 'self' : (states.get(peerId) ?? 'suspect')
      return { slot, peerId, state, ...(active === undefined ? {} : { repair: { ...active } }) }
    })
    const slotsAlive = slots.filter((s) => s.state === 'self' || s.state === 'alive').length
    return {
      manifestCid: file.key,
      k: file.manifest.k,
      n: file.manifest.n,
      segments: file.manifest.segments.length,
      mySlots: [...file.mySlots].sort((a, b) => a - b),
      slotsAlive,
      readable: slotsAlive >= file.manifest.k,
      slots,
      adopting: file.adoptingSince !== undefined,
    }
  }

  async check(): Promise<void> {
    if (this.#checking !== undefined) return await this.#checking
    this.#checking = this.#checkAll().finally(() => {
      this.#checking = undefined
    })
    return await this.#checking
  }

  async scrub(): Promise<void> {
    if (this.#scrubbing !== undefined) return await this.#scrubbing
    this.#scrubbing = this.#scrubAll().finally(() => {
      this.#scrubbing = undefined
    })
    return await this.#scrubbing
  }

  async healPiece(cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    const id = cid.toString()
    const running = this.#healing.get(id)
    if (running !== undefined) return await running
    const heal = this.#heal(cid, options).finally(() => this.#healing.delete(id))
    this.#healing.set(id, heal)
    return await heal
  }

  async #heal(cid: CID, options: AbortOptions): Promise<Uint8Array> {
    const id = cid.toString()
    const where = this.#index.get(id)
    const file = where === undefined ? undefined : this.#files.get(where.key)
    if (where === undefined || file === undefined) throw new NotFoundError(`piece ${id} is in no file this node holds`)
    try {
      const bytes = await this.#rebuild(file, where.segment, where.slot, { local: false, ...options })
      await this.#store.put(cid, bytes, options)
      this.#emit({
        type: 'repair:piece-healed',
        manifestCid: file.key,
        cid: id,
        segment: where.segment,
        slot: where.slot,
        reason: 'missing or corrupt on disk',
      })
      return bytes
    } catch (err) {
      this.#emit({ type: 'repair:piece-failed', manifestCid: file.key, cid: id, error: message(err) })
      throw err
    }
  }

  #onManifestStored(cid: CID, bytes: Uint8Array): void {
    const manifestCid = CID.createV1(DAG_CBOR_CODE, cid.multihash)
    if (this.#files.has(manifestCid.toString())) return
    let manifest: Manifest
    try {
      manifest = decodeManifest(bytes, manifestCid)
    } catch {
      return // an ordinary piece that happened to start like a CBOR map
    }
    this.#track(manifestCid, manifest, bytes, undefined)
    const file = this.#files.get(manifestCid.toString())!
    // A manifest stored before any piece of the file: a repairer is sending this node a slot (a put sends it last).
    void Promise.all(manifest.segments[0]!.pieces.map((p) => this.#store.has(p).catch(() => false))).then((held) => {
      if (!held.some(Boolean)) file.adoptingSince = Date.now()
      this.#emit({
        type: 'repair:file-known',
        manifestCid: file.key,
        slots: held.flatMap((h, slot) => (h ? [slot] : [])),
        adopting: file.adoptingSince !== undefined,
      })
      this.#queueSave()
    })
  }

  #track(manifestCid: CID, manifest: Manifest, bytes: Uint8Array, record: RepairFileRecord | undefined): void {
    const key = manifestCid.toString()
    const file: TrackedFile = {
      key,
      manifestCid,
      manifest,
      manifestBytes: bytes,
      coder: manifest.k > 1 ? createErasureCoder({ k: manifest.k, n: manifest.n }) : undefined,
      mySlots: new Set(record?.mySlots ?? []),
      holders: manifest.slots.map((_, slot) => record?.holders[slot] ?? null),
      holdersOf: manifest.slots.map(() => []),
      refreshedAt: 0,
      lostSince: new Map(),
      retryAfter: new Map(),
      failedTargets: new Set(),
      adoptingSince: record?.adoptingSince,
      scrubCursor: 0,
    }
    this.#files.set(key, file)
    this.#indexSlots(file)
  }

  #indexSlots(file: TrackedFile): void {
    for (const slot of file.mySlots) {
      file.manifest.segments.forEach((segment, index) => {
        this.#index.set(segment.pieces[slot]!.toString(), { key: file.key, segment: index, slot })
      })
    }
  }

  async #checkAll(): Promise<void> {
    if (!this.#started) return
    for (const file of this.#files.values()) {
      if (!this.#started) return
      try {
        await this.#checkFile(file)
      } catch {}
    }
  }

  async #checkFile(file: TrackedFile): Promise<void> {
    const now = Date.now()
    const me = this.#me()
    if (file.adoptingSince !== undefined) await this.#checkAdoption(file, now)
    const states = this.#peerStates()
    const holderDied = file.holders.some((h) => h !== null && h !== me && states.get(h) === 'dead')
    const slotLost = file.holders.some((h) => h === null)
    const refreshMs = this.#init.placementRefreshMs ?? DEFAULT_REPAIR_PLACEMENT_REFRESH_MS
    // While a slot stays lost, ask around every few seconds (not every round): the repairer asks again before acting.
    const lostDue = slotLost && now - file.refreshedAt >= LOST_REFRESH_MS
    if (file.refreshedAt === 0 || holderDied || lostDue || now - file.refreshedAt > refreshMs) {
      await this.#refresh(file, holderDied || slotLost || file.refreshedAt === 0)
    }
    const lost = file.holders.flatMap((h, slot) => (h === null ? [slot] : []))
    for (const slot of file.lostSince.keys()) if (!lost.includes(slot)) file.lostSince.delete(slot)
    if (lost.length === 0 || !file.mySlots.size) return
    const live = file.holders.filter((h): h is string => h !== null)
    const rank = repairerOrder(file.key, live).indexOf(me)
    if (rank < 0) return
    const confirm = this.#init.confirmMs ?? DEFAULT_REPAIR_CONFIRM_MS
    const fallback = this.#init.fallbackMs ?? DEFAULT_REPAIR_FALLBACK_MS
    for (const slot of lost) {
      const since = file.lostSince.get(slot)
      if (since === undefined) {
        file.lostSince.set(slot, now)
        this.#emit({ type: 'repair:slot-lost', manifestCid: file.key, slot, lastHolder: file.holders[slot]!, rank })
        continue
      }
      const key = `${file.key}:${slot}`
      if (this.#active.has(key) || (file.retryAfter.get(slot) ?? 0) > now) continue
      if (now - since < confirm + rank * fallback) continue
      this.#repairSlot(file, slot).catch(() => {})
    }
  }

  /** Asks who holds each slot's first piece; `wide` asks every live peer, else only the known holders. */
  async #refresh(file: TrackedFile, wide: boolean): Promise<void> {
    const network = this.#network()
    const me = network.peerId
    const first = file.manifest.segments[0]!.pieces
    const states = this.#peerStates()
    const known = file.holders.filter((h): h is string => h !== null && h !== me)
    const others = wide
      ? network
          .peers()
          .filter((p) => p.state !== 'dead')
          .map((p) => p.peerId)
      : []
    const candidates = [...new Set([...known, ...others])].filter((p) => p !== me && states.get(p) !== 'dead')
    const holdersOf: string[][] = first.map(() => [])
    const mine = await Promise.all(first.map((cid) => this.#store.has(cid).catch(() => false)))
    mine.forEach((has, slot) => {
      if (has || file.mySlots.has(slot)) holdersOf[slot]!.push(me)
    })
    const answered = new Set<string>([me])
    await Promise.all(
      candidates.map(async (peer) => {
        try {
          const answer = await network.hasPieces(peer, first, this.#signal(PROBE_TIMEOUT_MS))
          answered.add(peer)
          answer.forEach((has, slot) => {
            if (has) holdersOf[slot]!.push(peer)
          })
        } catch {}
      }),
    )
    // Peers outside this round (not asked) keep their slot while the detector still sees them alive.
    const live = (peer: string) => answered.has(peer) || (!candidates.includes(peer) && states.get(peer) === 'alive')
    file.holdersOf = holdersOf
    const previous = file.holders
    file.holders = assignSlots(
      holdersOf.map((list, slot) =>
        previous[slot] != null && !list.includes(previous[slot]) && live(previous[slot])
          ? [...list, previous[slot]]
          : list,
      ),
      previous,
      live,
    )
    file.refreshedAt = Date.now()
    const before = [...file.mySlots].join()
    file.mySlots = new Set(file.holders.flatMap((h, slot) => (h === me ? [slot] : [])))
    for (const slot of previous.keys()) if (previous[slot] === me && file.holders[slot] !== me) file.mySlots.add(slot)
    if ([...file.mySlots].join() !== before) {
      this.#indexSlots(file)
      this.#queueSave()
    }
    const watch = file.holders.filter((h): h is string => h !== null && h !== me)
    if (watch.length > 0) network.watch(watch)
  }

  async #checkAdoption(file: TrackedFile, now: number): Promise<void> {
    if (now - file.adoptingSince! > (this.#init.adoptTimeoutMs ?? DEFAULT_REPAIR_ADOPT_TIMEOUT_MS)) {
      file.adoptingSince = undefined
      this.#queueSave()
      return
    }
    const first = file.manifest.segments[0]!.pieces
    for (let slot = 0; slot < file.manifest.n; slot++) {
      if (!(await this.#store.has(first[slot]!).catch(() => false))) continue
      const held = await Promise.all(slotPieces(file.manifest, slot).map((c) => this.#store.has(c).catch(() => false)))
      if (!held.every(Boolean)) continue
      file.adoptingSince = undefined
      file.mySlots.add(slot)
      file.holders[slot] = this.#me()
      this.#indexSlots(file)
      this.#queueSave()
      const event = { manifestCid: file.key, slot, newHolder: this.#me() }
      this.#emit({ type: 'repair:adopted', ...event })
      try {
        await this.#init.onSlotRepaired?.(event)
      } catch {}
      return
    }
  }

  async #repairSlot(file: TrackedFile, slot: number): Promise<void> {
    const key = `${file.key}:${slot}`
    const network = this.#network()
    const me = network.peerId
    // Look again right before acting: another repairer may have finished meanwhile.
    await this.#refresh(file, true)
    if (file.holders[slot] !== null || this.#active.has(key)) return
    const peers = network.peers()
    const views = new Map(peers.map((p) => [p.peerId, p]))
    const everyHolder = new Set([me, ...file.holdersOf.flat(), ...file.failedTargets])
    for (const a of this.#active.values()) everyHolder.add(a.target)
    const liveHolders = file.holders
      .filter((h): h is string => h !== null)
      .map((h) =>
        h === me ? { peerId: me, multiaddrs: network.multiaddrs() } : (views.get(h) ?? { peerId: h, multiaddrs: [] }),
      )
    const target = chooseRepairTarget(peers, liveHolders, everyHolder)
    const fallback = this.#init.fallbackMs ?? DEFAULT_REPAIR_FALLBACK_MS
    if (target === undefined) {
      file.retryAfter.set(slot, Date.now() + fallback)
      this.#emit({
        type: 'repair:failed',
        manifestCid: file.key,
        slot,
        target: null,
        error: 'no live node outside the file is known to take the slot: start more nodes',
      })
      return
    }
    const segments = file.manifest.segments
    const active: ActiveRepair = { target: target.peerId, done: 0, pieces: segments.length, startedAt: Date.now() }
    this.#active.set(key, active)
    const started = performance.now()
    let bytes = 0
    this.#emit({ type: 'repair:start', manifestCid: file.key, slot, target: target.peerId, pieces: segments.length })
    try {
      const timeout = this.#init.pieceTimeoutMs ?? DEFAULT_REPAIR_PIECE_TIMEOUT_MS
      await network.storePiece(
        target.peerId,
        CID.createV1(raw.code, file.manifestCid.multihash),
        file.manifestBytes,
        this.#signal(timeout),
      )
      // Segment 0 last: nodes find a slot's holder by its first piece, so the target counts only once complete.
      const order = [...segments.keys()].slice(1).concat(0)
      let next = 0
      // Wakes workers pausing between pieces (pieceDelayMs) once the last piece is stored.
      const finished = new AbortController()
      const pause = AbortSignal.any([this.#controller.signal, finished.signal])
      const worker = async () => {
        while (next < order.length) {
          const segment = order[next++]!
          const piece = await this.#rebuild(file, segment, slot, { local: true })
          await network.storePiece(target.peerId, segments[segment]!.pieces[slot]!, piece, this.#signal(timeout))
          bytes += piece.byteLength
          active.done++
          this.#init.onProgress?.({
            type: 'repair:progress',
            manifestCid: file.key,
            slot,
            target: target.peerId,
            done: active.done,
            pieces: active.pieces,
          })
          if (active.done === active.pieces) finished.abort()
          const delay = this.#init.pieceDelayMs ?? 0
          if (delay > 0 && next < order.length) await sleep(delay, pause)
        }
      }
      const concurrency = Math.max(1, this.#init.concurrency ?? DEFAULT_REPAIR_CONCURRENCY)
      await Promise.all(Array.from({ length: Math.min(concurrency, order.length) }, worker))
      file.holders[slot] = target.peerId
      file.holdersOf[slot]!.push(target.peerId)
      file.lostSince.delete(slot)
      network.watch([target.peerId])
      this.#queueSave()
      this.#emit({
        type: 'repair:done',
        manifestCid: file.key,
        slot,
        target: target.peerId,
        pieces: segments.length,
        bytes,
        ms: Math.round(performance.now() - started),
      })
    } catch (err) {
      file.failedTargets.add(target.peerId)
      file.retryAfter.set(slot, Date.now() + Math.min(fallback, 5_000))
      this.#emit({ type: 'repair:failed', manifestCid: file.key, slot, target: target.peerId, error: message(err) })
      throw err
    } finally {
      this.#active.delete(key)
    }
  }

  /**
   * Piece `slot` of `segment`: a copy of the same CID (k = 1), else Reed-Solomon from k other slots (this node's own
   * pieces first, then the other holders, in parallel).
   */
  async #rebuild(
    file: TrackedFile,
    segment: number,
    slot: number,
    options: AbortOptions & { local: boolean },
  ): Promise<Uint8Array> {
    const network = this.#network()
    const me = network.peerId
    const timeout = this.#init.pieceTimeoutMs ?? DEFAULT_REPAIR_PIECE_TIMEOUT_MS
    const pieces = file.manifest.segments[segment]!.pieces
    const wanted = pieces[slot]!
    const sourcesOf = (index: number): string[] =>
      [...new Set([file.holders[index], ...(file.holdersOf[index] ?? [])])].filter(
        (p): p is string => p !== null && p !== undefined,
      )
    const fetchFrom = async (index: number): Promise<Uint8Array> => {
      const cid = pieces[index]!
      let last: unknown = new NotFoundError(`no holder of slot ${index} is known`)
      for (const peer of sourcesOf(index)) {
        try {
          if (peer === me) {
            if (index === slot && !options.local) continue
            return await this.#store.get(cid, options)
          }
          const signal = this.#signal(timeout, options.signal)
          return await network.fetchPiece(peer, cid, signal)
        } catch (err) {
          last = err
        }
      }
      throw last
    }
    for (let index = 0; index < pieces.length; index++) {
      if (index === slot || !pieces[index]!.equals(wanted)) continue
      try {
        return await fetchFrom(index)
      } catch {}
    }
    if (file.coder === undefined) {
      throw new NotEnoughPiecesError(`no live holder has a copy of piece ${slot} of segment ${segment}`)
    }
    const shards: Array<Uint8Array | undefined> = pieces.map(() => undefined)
    const { k } = file.manifest
    // Own slots first (no network), then the others.
    const queue = [...pieces.keys()]
      .filter((i) => i !== slot)
      .sort((a, b) => Number(!file.mySlots.has(a)) - Number(!file.mySlots.has(b)))
    let have = 0
    while (have < k && queue.length > 0) {
      const batch = queue.splice(0, k - have)
      const got = await Promise.allSettled(batch.map((i) => fetchFrom(i)))
      got.forEach((result, j) => {
        if (result.status === 'fulfilled') {
          shards[batch[j]!] = result.value
          have++
        }
      })
      if (options.signal?.aborted === true || this.#controller.signal.aborted) break
    }
    if (have < k) {
      throw new NotEnoughPiecesError(
        `piece ${slot} of segment ${segment} needs ${k} other slots and only ${have} answered`,
      )
    }
    return file.coder.reconstruct(shards)[slot]!
  }

  async #scrubAll(): Promise<void> {
    if (!this.#started) return
    let reads = this.#init.scrubReads ?? DEFAULT_REPAIR_SCRUB_READS
    for (const file of this.#files.values()) {
      for (const slot of file.mySlots) {
        for (const cid of slotPieces(file.manifest, slot)) {
          if (!this.#started) return
          if (await this.#store.has(cid).catch(() => true)) continue
          await this.healPiece(cid).catch(() => {})
        }
      }
      // Read back a few pieces (rotating) so corruption nobody reads is found too.
      const mine = [...file.mySlots].flatMap((slot) => slotPieces(file.manifest, slot))
      while (reads > 0 && mine.length > 0 && this.#started) {
        const cid = mine[file.scrubCursor++ % mine.length]!
        reads--
        try {
          await this.#store.get(cid)
        } catch (err) {
          if (err instanceof CorruptDataError || err instanceof NotFoundError) await this.healPiece(cid).catch(() => {})
        }
        if (file.scrubCursor % mine.length === 0) break
      }
    }
  }

  #emit(event: RepairEvent): void {
    this.#init.onProgress?.(event)
    const dir = this.#init.dataDir
    if (dir === undefined) return
    const line = `${JSON.stringify({ at: Date.now(), ...event })}\n`
    const path = join(dir, REPAIR_LOG_FILE)
    this.#log = this.#log.then(async () => {
      try {
        if (((await stat(path).catch(() => undefined))?.size ?? 0) > REPAIR_LOG_MAX_BYTES) {
          await rename(path, `${path}.1`)
        }
        await appendFile(path, line)
      } catch {}
    })
  }

  #queueSave(): void {
    if (this.#saveQueued || this.#init.dataDir === undefined) return
    this.#saveQueued = true
    setTimeout(() => {
      this.#saveQueued = false
      this.#save().catch(() => {})
    }, 200).unref()
  }

  async #save(): Promise<void> {
    if (this.#init.dataDir === undefined) return
    const records: RepairFileRecord[] = [...this.#files.values()].map((f) => ({
      manifestCid: f.key,
      mySlots: [...f.mySlots],
      holders: f.holders,
      ...(f.adoptingSince === undefined ? {} : { adoptingSince: f.adoptingSince }),
    }))
    await writeRepairState(this.#init.dataDir, records)
  }

  #me(): string {
    try {
      return this.#network().peerId
    } catch {
      return ''
    }
  }

  #peerStates(): Map<string, PeerState> {
    try {
      return new Map(
        this.#network()
          .peers()
          .map((p) => [p.peerId, p.state]),
      )
    } catch {
      return new Map()
    }
  }

  #signal(timeoutMs: number, extra?: AbortSignal): { signal: AbortSignal } {
    const signals = [this.#controller.signal, AbortSignal.timeout(timeoutMs)]
    if (extra !== undefined) signals.push(extra)
    return { signal: AbortSignal.any(signals) }
  }
}

/**
 * What this node tells a client asking over `/cairn/file-health/1.0.0` (undefined: the file is unknown here).
 *
 * @example
 * ```ts
 * createNetwork({ pieceStore }, { ...init, reportFileHealth: (cid) => fileHealthReport(repair.file(cid)) })
 * ```
 */
export function fileHealthReport(view: RepairFileView | undefined): FileHealthReport | undefined {
  if (view === undefined) return undefined
  return {
    known: true,
    mySlots: view.mySlots.filter((slot) => slot < view.n),
    lost: view.slots.filter((s) => s.state === 'lost').map((s) => s.slot),
    repairs: view.slots.flatMap((s) =>
      s.repair === undefined
        ? []
        : [
            {
              slot: s.slot,
              target: s.repair.target,
              done: s.repair.done,
              pieces: s.repair.pieces,
              startedAt: s.repair.startedAt,
            },
          ],
    ),
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

/** A DAG-CBOR map (the manifest) small enough to be one; pieces are ciphertext and rarely pass this. */
function looksLikeManifest(bytes: Uint8Array): boolean {
  const first = bytes[0]
  return bytes.byteLength <= MAX_MANIFEST_SIZE && first !== undefined && first >= 0xa0 && first <= 0xbf
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
