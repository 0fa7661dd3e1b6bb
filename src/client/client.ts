import type { CID } from 'multiformats/cid'
import {
  AbortedError,
  type CairnError,
  InvalidArgumentError,
  InvalidCapabilityError,
  NotEnoughNodesError,
  NotEnoughPiecesError,
  UnreachableError,
} from '../errors.ts'
import { type AbortOptions, orderForPlacement, type PeerState, type PeerView } from '../node/index.ts'
import {
  createErasureCoder,
  DEFAULT_K,
  DEFAULT_N,
  decodeFile,
  decodeManifest,
  encodeFile,
  type Manifest,
  manifestPieceCid,
  type PieceRequest,
  parseCapability,
} from '../storage/index.ts'
import {
  DEFAULT_ENCODE_WORKERS,
  DEFAULT_GET_CONCURRENCY,
  DEFAULT_GET_HEDGE_MS,
  DEFAULT_PIECE_TIMEOUT_MS,
  DEFAULT_PROBE_TIMEOUT_MS,
  DEFAULT_PUT_CONCURRENCY,
  DEFAULT_PUT_MAX_IN_FLIGHT_BYTES,
  DEFAULT_SLOT_ATTEMPTS,
  MANIFEST_PROBE_WAVE,
} from './constants.ts'
import { createMemoryFileRecordStore } from './file-records.ts'
import type {
  Client,
  ClientNetwork,
  ClientProgressEvent,
  FileRecord,
  FileRecordStore,
  FileStatus,
  GetInit,
  PutInit,
  PutResult,
  SlotPlacement,
  SlotRepairStatus,
  SlotStatus,
} from './interface.ts'
import { mergePeerViews } from './peer-views.ts'

export interface ClientComponents {
  network: ClientNetwork
  /** The client's record of files put; in memory when absent. */
  records?: FileRecordStore
  /**
   * Other views of the storage peers (e.g. the detector states a node's control API reports), merged with the
   * network's own view. Faster than waiting for heartbeats right after the client starts.
   */
  peerViews?: (options: AbortOptions) => Promise<PeerView[][]>
}

export interface ClientInit {
  /** Pieces in flight at once during a put. */
  putConcurrency?: number
  /** Bytes of piece data in flight at once during a put. */
  putMaxInFlightBytes?: number
  /** Nodes tried for one slot (the first and its replacements) before the put fails. */
  slotAttempts?: number
  /** Segments decoded in parallel during a get. */
  getConcurrency?: number
  /** A get request slower than this (ms) is raced by a request to another slot. */
  hedgeAfterMs?: number
  pieceTimeoutMs?: number
  probeTimeoutMs?: number
  /** Default segment size of puts (the storage layer's default when absent). */
  segmentSize?: number
  /** Worker threads that encode segments during a put (default 0: the calling thread). */
  encodeWorkers?: number
}

/**
 * Creates the client: put, get and status of files, over any network that can store, fetch and list pieces.
 *
 * @example
 * ```ts
 * const client = createClient({ network }, {})
 * const { capability } = await client.put([bytes], { k: 1, n: 3 })
 * for await (const chunk of client.get(capability)) process.stdout.write(chunk)
 * ```
 */
export function createClient(components: ClientComponents, init: ClientInit = {}): Client {
  return new NetworkClient(components, init)
}

interface LocatedFile {
  manifest: Manifest
  manifestCid: CID
  /** Peers that confirmed holding each slot's first piece, fastest first. */
  holders: string[][]
  /** Round-trip time of each peer's has-pieces answer. */
  latency: Map<string, number>
  record: FileRecord | undefined
  views: PeerView[]
}

class NetworkClient implements Client {
  readonly #network: ClientNetwork
  readonly #records: FileRecordStore
  readonly #peerViews: ClientComponents['peerViews']
  readonly #putConcurrency: number
  readonly #putMaxInFlightBytes: number
  readonly #slotAttempts: number
  readonly #getConcurrency: number
  readonly #hedgeAfterMs: number
  readonly #pieceTimeoutMs: number
  readonly #probeTimeoutMs: number
  readonly #segmentSize: number | undefined
  readonly #encodeWorkers: number

  constructor(components: ClientComponents, init: ClientInit) {
    this.#network = components.network
    this.#records = components.records ?? createMemoryFileRecordStore()
    this.#peerViews = components.peerViews
    this.#putConcurrency = init.putConcurrency ?? DEFAULT_PUT_CONCURRENCY
    this.#putMaxInFlightBytes = init.putMaxInFlightBytes ?? DEFAULT_PUT_MAX_IN_FLIGHT_BYTES
    this.#slotAttempts = init.slotAttempts ?? DEFAULT_SLOT_ATTEMPTS
    this.#getConcurrency = init.getConcurrency ?? DEFAULT_GET_CONCURRENCY
    this.#hedgeAfterMs = init.hedgeAfterMs ?? DEFAULT_GET_HEDGE_MS
    this.#pieceTimeoutMs = init.pieceTimeoutMs ?? DEFAULT_PIECE_TIMEOUT_MS
    this.#probeTimeoutMs = init.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS
    this.#segmentSize = init.segmentSize
    this.#encodeWorkers = init.encodeWorkers ?? DEFAULT_ENCODE_WORKERS
  }

  async nodes(options: AbortOptions = {}): Promise<PeerView[]> {
    const extra = this.#peerViews === undefined ? [] : await this.#peerViews(options)
    return mergePeerViews([this.#network.peers(), ...extra]).filter((p) => p.peerId !== this.#network.peerId)
  }

  async put(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    init: PutInit = {},
    options: AbortOptions = {},
  ): Promise<PutResult> {
    const k = init.k ?? DEFAULT_K
    const n = init.n ?? DEFAULT_N
    if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k || n > 255) {
      throw new InvalidArgumentError(`invalid redundancy k=${k}, n=${n}: need whole numbers with 1 <= k <= n <= 255`)
    }
    const alive = (await this.nodes(options)).filter((p) => p.state === 'alive')
    const live = alive.filter((p) => init.eligible === undefined || init.eligible(p.peerId))
    if (live.length < n && alive.length >= n) {
      throw new NotEnoughNodesError(
        `only ${live.length} of the ${alive.length} live nodes take this deal (active in the Registry, price within --max-price) but --n ${n} needs ${n}: raise --max-price or lower --n`,
        { details: { live: live.length, alive: alive.length, n } },
      )
    }
    if (live.length < n) {
      throw new NotEnoughNodesError(
        `only ${live.length} live node${live.length === 1 ? ' is' : 's are'} known but --n ${n} needs ${n} distinct nodes: start more nodes or lower --n`,
        { details: { live: live.length, n } },
      )
    }
    const upload = new SlotUpload(this.#network, orderForPlacement(live), n, {
      attempts: this.#slotAttempts,
      timeoutMs: this.#pieceTimeoutMs,
      onProgress: init.onProgress,
      signal: options.signal,
    })
    init.onProgress?.({ type: 'put:placement', slots: upload.placement() })

    const segmentSize = init.segmentSize ?? this.#segmentSize
    const encoded = encodeFile(
      source,
      {
        k,
        n,
        workers: this.#encodeWorkers,
        ...(segmentSize === undefined ? {} : { segmentSize }),
        ...(init.metadata === undefined ? {} : { metadata: init.metadata }),
        onProgress: (event) => {
          if (event.type === 'segment-encoded') init.onProgress?.({ type: 'put:read', bytes: event.plaintextBytes })
        },
      },
      upload.signalOption(),
    )
    // Surface an encoder failure even if the piece loop below stops first.
    encoded.done.catch(() => {})
    try {
      const inFlight = new Set<Promise<void>>()
      let bytesInFlight = 0
      for await (const piece of encoded.pieces) {
        while (
          inFlight.size > 0 &&
          (inFlight.size >= this.#putConcurrency || bytesInFlight + piece.bytes.byteLength > this.#putMaxInFlightBytes)
        ) {
          await Promise.race(inFlight)
        }
        upload.throwIfFailed()
        bytesInFlight += piece.bytes.byteLength
        const task = upload.storeEncodedPiece(piece).finally(() => {
          bytesInFlight -= piece.bytes.byteLength
          inFlight.delete(task)
        })
        inFlight.add(task)
      }
      await Promise.all(inFlight)
      upload.throwIfFailed()
      const file = await encoded.done
      init.onProgress?.({ type: 'put:manifest', manifestCid: file.manifestCid.toString() })
      await upload.finish(file.manifest, file.manifestCid, file.manifestBytes)
      const result: PutResult = {
        capability: file.capability,
        manifestCid: file.manifestCid.toString(),
        size: file.size,
        k,
        n,
        slots: upload.placement(),
        commitments: file.manifest.slots.map((slot) => ({
          root: `0x${Buffer.from(slot.root).toString('hex')}`,
          size: slot.size,
        })),
      }
      const { commitments: _commitments, ...recorded } = result
      await this.#records.add({
        ...recorded,
        ...(init.metadata?.name === undefined ? {} : { name: init.metadata.name }),
        storedAt: Date.now(),
      })
      return result
    } catch (err) {
      upload.abort(err)
      throw upload.failure() ?? err
    }
  }

  async *get(capability: string, init: GetInit = {}, options: AbortOptions = {}): AsyncGenerator<Uint8Array> {
    const parsed = parseCapability(capability)
    if (parsed.key === undefined) {
      throw new InvalidCapabilityError(
        'this capability has no file key (it can verify, not read): ask for the full cairn:<cid>#<key> capability',
      )
    }
    const located = await this.#locate(parsed.manifestCid, init.prefer ?? [], options)
    const { manifest } = located
    const preferred = new Set(init.prefer ?? [])
    const rank = (peer: string): number => (preferred.has(peer) ? -1 : (located.latency.get(peer) ?? 1e9))
    init.onProgress?.({
      type: 'get:manifest',
      size: manifest.size,
      k: manifest.k,
      n: manifest.n,
      holders: new Set(located.holders.flat()).size,
    })
    const slotOrder = [...manifest.slots.keys()]
      .filter((slot) => (located.holders[slot]?.length ?? 0) > 0)
      .sort((a, b) => rank(located.holders[a]![0]!) - rank(located.holders[b]![0]!))
    const corrupt = new Set<string>()
    const network = this.#network
    const timeoutMs = this.#pieceTimeoutMs
    const fetchPiece = async (request: PieceRequest, { signal }: { signal: AbortSignal }): Promise<Uint8Array> => {
      const candidates = holdersForPiece(located, request).sort((a, b) => rank(a) - rank(b))
      let lastError: unknown
      for (const peer of candidates) {
        if (corrupt.has(peer)) continue
        try {
          return await network.fetchPiece(peer, request.cid, {
            signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
          })
        } catch (err) {
          if (signal.aborted) throw err
          lastError = err
          if ((err as CairnError).code === 'ERR_CORRUPT_DATA') {
            corrupt.add(peer)
            init.onProgress?.({
              type: 'get:corrupt',
              peerId: peer,
              cid: request.cid.toString(),
              segment: request.segment,
              slot: request.slot,
            })
          } else {
            init.onProgress?.({ type: 'get:fallback', peerId: peer, cid: request.cid.toString(), error: message(err) })
          }
        }
      }
      throw new NotEnoughPiecesError(
        `no holder of slot ${request.slot} served piece ${request.cid} of segment ${request.segment}`,
        { cause: lastError },
      )
    }
    const total = init.length ?? Math.max(0, manifest.size - (init.offset ?? 0))
    let bytes = 0
    try {
      for await (const chunk of decodeFile(
        manifest,
        parsed.key,
        fetchPiece,
        {
          ...(init.offset === undefined ? {} : { offset: init.offset }),
          ...(init.length === undefined ? {} : { length: init.length }),
          concurrency: this.#getConcurrency,
          hedgeAfter: this.#hedgeAfterMs,
          slotOrder,
        },
        options,
      )) {
        bytes += chunk.byteLength
        init.onProgress?.({ type: 'get:bytes', bytes, total })
        yield chunk
      }
    } catch (err) {
      if (err instanceof NotEnoughPiecesError) {
        const alive = located.holders.filter((h) => h.length > 0).length
        throw new NotEnoughPiecesError(
          `the file cannot be read: ${alive} of its ${manifest.n} slots have a reachable holder and ${manifest.k} are needed (${err.message})`,
          { cause: err },
        )
      }
      throw err
    }
  }

  async status(capability: string, options: AbortOptions = {}): Promise<FileStatus> {
    const parsed = parseCapability(capability)
    const located = await this.#locate(parsed.manifestCid, [], options)
    const { manifest, record, views } = located
    // Ask the file's holders (the nodes that repair it) what repairs they run, while the pieces are counted.
    const repairsAsked = this.#repairs(located, options)
    const stateOf = new Map(views.map((v) => [v.peerId, v.state]))
    const assigned = new Set<string>()
    const placed: Array<{ peerId: string | null; state: PeerState; reached: boolean }> = []
    for (let slot = 0; slot < manifest.n; slot++) {
      const found = located.holders[slot] ?? []
      const recorded = record?.slots.find((s) => s.index === slot)?.peerId
      // The recorded placement is the truth when there is one (even if that node is down); otherwise the holder
      // found by asking around (for k = 1 every copy looks alike, so distinct holders are assigned in turn).
      // A recorded holder that no longer answers may have been replaced by a repair: a live node, recorded for no
      // other slot, that holds the slot now is shown instead.
      const recordedElsewhere = new Set(record?.slots.filter((s) => s.index !== slot).map((s) => s.peerId) ?? [])
      const takenOver =
        recorded !== undefined && !found.includes(recorded)
          ? found.find((p) => !assigned.has(p) && !recordedElsewhere.has(p))
          : undefined
      const peerId = takenOver ?? recorded ?? found.find((p) => !assigned.has(p)) ?? null
      if (peerId !== null) assigned.add(peerId)
      let state: PeerState = peerId === null ? 'dead' : (stateOf.get(peerId) ?? 'dead')
      const reached = peerId !== null && found.includes(peerId)
      if (reached && state === 'dead') state = 'suspect'
      else if (!reached && state === 'alive') state = 'suspect' // the detectors have not noticed yet, but it does not answer us
      placed.push({ peerId, state, reached })
    }
    const pieces = manifest.segments.length
    // Per slot and segment: does a reachable holder of the slot have that piece? The slot's own holder first, then
    // the other nodes that hold the slot's first piece fill in what it misses.
    const present: boolean[][] = []
    const held: number[] = []
    await Promise.all(
      placed.map(async ({ peerId, reached }, slot) => {
        const cids = manifest.segments.map((s) => s.pieces[slot]!)
        const have = cids.map(() => false)
        let own = 0
        if (reached && peerId !== null) {
          const answer = await this.#piecesHeld(peerId, cids, options)
          answer?.forEach((h, i) => {
            if (h) have[i] = true
          })
          own = answer?.filter(Boolean).length ?? 0
        }
        for (const other of located.holders[slot] ?? []) {
          if (other === peerId || have.every(Boolean)) continue
          const answer = await this.#piecesHeld(other, cids, options)
          answer?.forEach((h, i) => {
            if (h) have[i] = true
          })
        }
        present[slot] = have
        held[slot] = own
      }),
    )
    let segmentsReadable = 0
    for (let index = 0; index < manifest.segments.length; index++) {
      // Slots, not distinct CIDs: erasure pieces of a tiny segment can be byte-equal yet sit at different indices.
      const slotsWithPiece = present.filter((have) => have?.[index] === true).length
      if (slotsWithPiece >= manifest.k) segmentsReadable++
    }
    const repairs = await repairsAsked
    const slots: SlotStatus[] = placed.map(({ peerId, state }, index) => {
      const repair = repairs.find((r) => r.slot === index)
      return { index, peerId, state, held: held[index] ?? 0, pieces, ...(repair === undefined ? {} : { repair }) }
    })
    if (options.signal?.aborted === true) throw new AbortedError('the operation was cancelled')
    return {
      capability: capability.trim(),
      manifestCid: located.manifestCid.toString(),
      size: manifest.size,
      k: manifest.k,
      n: manifest.n,
      readable: segmentsReadable === pieces,
      slotsAlive: slots.filter((s) => s.state === 'alive' && s.held === s.pieces).length,
      segments: pieces,
      segmentsReadable,
      repairs,
      slots,
    }
  }

  /** The slot repairs the file's holders report running (most advanced first per slot; by slot). */
  async #repairs(located: LocatedFile, options: AbortOptions): Promise<SlotRepairStatus[]> {
    const ask = this.#network.fileHealth
    if (ask === undefined) return []
    const peers = unique(located.holders.flat())
    const out: SlotRepairStatus[] = []
    await Promise.all(
      peers.map(async (peer) => {
        try {
          const report = await ask.call(this.#network, peer, located.manifestCid, this.#probeSignal(options))
          for (const r of report.repairs) {
            if (r.slot >= located.manifest.n || r.target === peer) continue
            out.push({ slot: r.slot, from: peer, to: r.target, done: r.done, pieces: r.pieces, startedAt: r.startedAt })
          }
        } catch {
          // a node that cannot answer (older version, gone) simply reports nothing
        }
      }),
    )
    out.sort((a, b) => a.slot - b.slot || b.done - a.done || a.from.localeCompare(b.from))
    return out.filter((r, i) => i === 0 || out[i - 1]!.slot !== r.slot)
  }

  /** Which of `cids` `peer` holds (asked 1024 at a time); undefined when it could not be asked. */
  async #piecesHeld(peer: string, cids: CID[], options: AbortOptions): Promise<boolean[] | undefined> {
    const out: boolean[] = []
    try {
      for (let i = 0; i < cids.length; i += 1024) {
        out.push(...(await this.#network.hasPieces(peer, cids.slice(i, i + 1024), this.#probeSignal(options))))
      }
    } catch {
      return undefined
    }
    return out
  }

  #probeSignal(options: AbortOptions, timeoutMs = this.#probeTimeoutMs): { signal: AbortSignal } {
    const timeout = AbortSignal.timeout(timeoutMs)
    return { signal: options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]) }
  }

  /** Finds the manifest and which peers hold each slot: recorded holders, preferred peers and live nodes. */
  async #locate(manifestCid: CID, prefer: string[], options: AbortOptions): Promise<LocatedFile> {
    const record = await this.#records.find(manifestCid.toString())
    const views = await this.nodes(options)
    const candidates = unique([
      ...prefer,
      ...(record?.slots.map((s) => s.peerId) ?? []),
      ...views.filter((v) => v.state !== 'dead').map((v) => v.peerId),
    ]).filter((p) => p !== this.#network.peerId)
    const providers = this.#network.findProviders
    if (candidates.length === 0 && providers !== undefined) {
      try {
        for await (const peer of providers.call(
          this.#network,
          manifestPieceCid(manifestCid),
          this.#probeSignal(options),
        )) {
          candidates.push(peer)
        }
      } catch {}
    }
    if (candidates.length === 0) {
      throw new UnreachableError('no storage node is known: start a devnet or pass --devnet DIR / --bootstrap ADDR')
    }
    const manifest = await this.#fetchManifest(manifestCid, candidates, options)
    const firstPieces = manifest.segments[0]!.pieces
    const latency = new Map<string, number>()
    const holders: string[][] = firstPieces.map(() => [])
    await Promise.all(
      candidates.map(async (peer) => {
        const started = performance.now()
        try {
          const answer = await this.#network.hasPieces(peer, firstPieces, this.#probeSignal(options))
          latency.set(peer, performance.now() - started)
          answer.forEach((has, slot) => {
            if (has) holders[slot]!.push(peer)
          })
        } catch {}
      }),
    )
    if (options.signal?.aborted === true) throw new AbortedError('the operation was cancelled')
    for (const list of holders) list.sort((a, b) => (latency.get(a) ?? 1e9) - (latency.get(b) ?? 1e9))
    return { manifest, manifestCid, holders, latency, record, views }
  }

  async #fetchManifest(manifestCid: CID, candidates: string[], options: AbortOptions): Promise<Manifest> {
    const cid = manifestPieceCid(manifestCid)
    let lastError: unknown
    // Every candidate is asked at once whether it holds the manifest, so dead or slow nodes do not use up the time of
    // the live ones; probes that failed are asked once more with a longer wait (a loaded node is slow, not gone).
    // The manifest is then fetched from one holder at a time, fastest answer first.
    const probe = async (peers: string[], timeoutMs: number) => {
      const holders: string[] = []
      const failed: string[] = []
      await Promise.all(
        peers.map(async (peer) => {
          try {
            const has = await this.#network.hasPieces(peer, [cid], this.#probeSignal(options, timeoutMs))
            if (has[0] === true) holders.push(peer)
          } catch (err) {
            lastError = err
            failed.push(peer)
          }
        }),
      )
      if (options.signal?.aborted === true) throw new AbortedError('the operation was cancelled')
      return { holders, failed }
    }
    let holders: string[] = []
    const failed: string[] = []
    // In waves (recorded holders come first), so a large network is not asked all at once.
    for (let i = 0; i < candidates.length && holders.length === 0; i += MANIFEST_PROBE_WAVE) {
      const wave = await probe(candidates.slice(i, i + MANIFEST_PROBE_WAVE), this.#probeTimeoutMs)
      holders = wave.holders
      failed.push(...wave.failed)
    }
    if (holders.length === 0 && failed.length > 0) {
      holders = (await probe(failed.slice(0, MANIFEST_PROBE_WAVE), 4 * this.#probeTimeoutMs)).holders
    }
    for (const peer of holders) {
      try {
        const bytes = await this.#network.fetchPiece(peer, cid, {
          signal: AbortSignal.any([
            AbortSignal.timeout(this.#pieceTimeoutMs),
            ...(options.signal === undefined ? [] : [options.signal]),
          ]),
        })
        return decodeManifest(bytes, manifestCid)
      } catch (err) {
        if (options.signal?.aborted === true) throw new AbortedError('the operation was cancelled')
        lastError = err
      }
    }
    throw new UnreachableError(
      `none of the ${candidates.length} reachable nodes holds the manifest ${manifestCid}: the file is unknown here or all its holders are down`,
      { cause: lastError },
    )
  }
}

/** Holders of a piece: those of its slot, plus those of every slot whose piece has the same CID (replication). */
function holdersForPiece(located: LocatedFile, request: PieceRequest): string[] {
  const segment = located.manifest.segments[request.segment]
  const first = located.manifest.segments[0]!.pieces
  const out = new Set(located.holders[request.slot] ?? [])
  if (segment !== undefined) {
    segment.pieces.forEach((cid, slot) => {
      if (slot !== request.slot && cid.equals(request.cid) && first[slot]!.equals(first[request.slot]!)) {
        for (const peer of located.holders[slot] ?? []) out.add(peer)
      }
    })
  }
  return [...out]
}

interface SlotUploadInit {
  attempts: number
  timeoutMs: number
  onProgress: ((event: ClientProgressEvent) => void) | undefined
  signal: AbortSignal | undefined
}

/**
 * The slots of one put: which node holds each slot, which pieces it acknowledged, and moving a slot to a spare node
 * when its node fails (the pieces it had acknowledged are then rebuilt from the other slots and sent again).
 */
class SlotUpload {
  readonly #network: ClientNetwork
  readonly #holders: string[]
  readonly #spares: string[]
  readonly #attemptsLeft: number[]
  readonly #retryWait: Array<Promise<void> | undefined> = []
  /** `#acked[slot]`: segment -> the peer that acknowledged that piece. */
  readonly #acked: Array<Map<number, string>>
  readonly #init: SlotUploadInit
  readonly #controller = new AbortController()
  readonly #signal: AbortSignal
  #failure: Error | undefined

  constructor(network: ClientNetwork, ordered: PeerView[], n: number, init: SlotUploadInit) {
    this.#network = network
    this.#holders = ordered.slice(0, n).map((p) => p.peerId)
    this.#spares = ordered.slice(n).map((p) => p.peerId)
    this.#attemptsLeft = this.#holders.map(() => init.attempts - 1)
    this.#acked = this.#holders.map(() => new Map())
    this.#init = init
    this.#signal =
      init.signal === undefined ? this.#controller.signal : AbortSignal.any([init.signal, this.#controller.signal])
  }

  placement(): SlotPlacement[] {
    return this.#holders.map((peerId, index) => ({ index, peerId }))
  }

  signalOption(): { signal: AbortSignal } {
    return { signal: this.#signal }
  }

  failure(): Error | undefined {
    return this.#failure
  }

  throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#signal.aborted) throw new AbortedError('the put was cancelled', { cause: this.#signal.reason })
  }

  abort(err: unknown): void {
    this.#failure ??= err instanceof Error ? err : new Error(String(err))
    this.#controller.abort(err)
  }

  /** Stores piece `slot` of `segment` on the slot's node, moving the slot on failure. Never rejects. */
  async storeEncodedPiece(piece: { segment: number; slot: number; cid: CID; bytes: Uint8Array }): Promise<void> {
    try {
      while (true) {
        const peer = this.#holders[piece.slot]!
        try {
          await this.#store(peer, piece.cid, piece.bytes)
          if (this.#holders[piece.slot] === peer) {
            this.#acked[piece.slot]!.set(piece.segment, peer)
            this.#init.onProgress?.({
              type: 'put:piece',
              segment: piece.segment,
              slot: piece.slot,
              peerId: peer,
              bytes: piece.bytes.byteLength,
            })
            return
          }
          // The slot moved while this piece was in flight: send it to the new node.
        } catch (err) {
          this.throwIfFailed()
          await this.#moveSlot(piece.slot, peer, err)
        }
      }
    } catch (err) {
      this.abort(err)
    }
  }

  /** After the encoder is done: rebuild what moved slots miss, then store the manifest on every slot's node. */
  async finish(manifest: Manifest, manifestCid: CID, manifestBytes: Uint8Array): Promise<void> {
    const manifestCidRaw = manifestPieceCid(manifestCid)
    const coder = manifest.k > 1 ? createErasureCoder({ k: manifest.k, n: manifest.n }) : undefined
    await Promise.all(
      this.#holders.map(async (_, slot) => {
        while (true) {
          const peer = this.#holders[slot]!
          try {
            for (let segment = 0; segment < manifest.segments.length; segment++) {
              if (this.#acked[slot]!.get(segment) === peer) continue
              const bytes = await this.#rebuild(manifest, segment, slot, coder)
              await this.#store(peer, manifest.segments[segment]!.pieces[slot]!, bytes)
              this.#acked[slot]!.set(segment, peer)
            }
            await this.#store(peer, manifestCidRaw, manifestBytes)
            return
          } catch (err) {
            this.throwIfFailed()
            if (err instanceof NotEnoughPiecesError) throw err
            await this.#moveSlot(slot, peer, err)
          }
        }
      }),
    )
  }

  async #store(peer: string, cid: CID, bytes: Uint8Array): Promise<void> {
    this.throwIfFailed()
    await this.#network.storePiece(peer, cid, bytes, {
      signal: AbortSignal.any([this.#signal, AbortSignal.timeout(this.#init.timeoutMs)]),
    })
  }

  /**
   * After `failed` could not store a piece of `slot`: moves the slot to a spare node, or, when no spare is left,
   * lets the caller retry the same node (a transient failure). Throws when the slot is out of attempts.
   */
  async #moveSlot(slot: number, failed: string, err: unknown): Promise<void> {
    if (this.#holders[slot] !== failed) return // another piece of this slot already moved it
    const pending = this.#retryWait[slot]
    if (pending !== undefined) return await pending // pieces failing together count as one failure
    const left = this.#attemptsLeft[slot]!
    if (left <= 0 || err instanceof InvalidArgumentError) {
      throw new NotEnoughNodesError(
        `node ${failed} failed to store slot ${slot} (${message(err)}) and the slot ran out of retries: check the node or lower --n`,
        { cause: err },
      )
    }
    this.#attemptsLeft[slot] = left - 1
    const next = this.#spares.shift()
    if (next === undefined) {
      this.#init.onProgress?.({ type: 'put:retry', slot, from: failed, to: failed, error: message(err) })
      const wait = new Promise<void>((resolve) => setTimeout(resolve, 1_000))
      this.#retryWait[slot] = wait
      await wait
      this.#retryWait[slot] = undefined
      return
    }
    this.#holders[slot] = next
    this.#init.onProgress?.({ type: 'put:retry', slot, from: failed, to: next, error: message(err) })
  }

  /** Piece `slot` of `segment`, from a copy (same CID on another slot) or rebuilt from k other slots. */
  async #rebuild(
    manifest: Manifest,
    segment: number,
    slot: number,
    coder: ReturnType<typeof createErasureCoder> | undefined,
  ): Promise<Uint8Array> {
    const pieces = manifest.segments[segment]!.pieces
    const wanted = pieces[slot]!
    const sources = this.#holders
      .map((peer, index) => ({ peer, index }))
      .filter(({ peer, index }) => index !== slot && this.#acked[index]!.get(segment) === peer)
    for (const { peer, index } of sources) {
      if (!pieces[index]!.equals(wanted)) continue
      try {
        return await this.#network.fetchPiece(peer, wanted, this.#fetchSignal())
      } catch {}
    }
    if (coder !== undefined) {
      const shards: Array<Uint8Array | undefined> = pieces.map(() => undefined)
      let have = 0
      for (const { peer, index } of sources) {
        if (have >= manifest.k) break
        try {
          shards[index] = await this.#network.fetchPiece(peer, pieces[index]!, this.#fetchSignal())
          have++
        } catch {}
      }
      if (have >= manifest.k) {
        const rebuilt = coder.reconstruct(shards)[slot]
        if (rebuilt !== undefined) return rebuilt
      }
    }
    throw new NotEnoughPiecesError(
      `piece ${slot} of segment ${segment} was lost with a failed node and could not be rebuilt from the other slots`,
    )
  }

  #fetchSignal(): { signal: AbortSignal } {
    return { signal: AbortSignal.any([this.#signal, AbortSignal.timeout(this.#init.timeoutMs)]) }
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)]
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
