/**
 * The garbage collector of a storage node on chain: a mark and sweep over its piece store.
 *
 * Mark: the slots the node still needs (needed-slots.ts: running deals, live acceptances, tracked repairs), plus every
 * slot needed less than the grace period ago (remembered durably in gc-state.json with when it was last needed, so a
 * restart neither forgets a grace nor restarts it); each kept slot's manifest is read from this node's disk and
 * verified against its CID, and every piece of the slot, and the manifest piece, counts one reference. Sweep: a piece
 * no kept slot references is deleted once its file is older than the grace period (an upload in progress, or a slot
 * not yet accepted, is young). A piece several slots reference stays while any of them is kept.
 *
 * Nothing is deleted when the book of the Market was not read in this process yet or lately (an old book may miss a
 * top-up), or when a kept slot's manifest is not on disk or does not verify (its pieces cannot be told apart): the
 * sweep reports why. Before a file's pieces go, the repair service forgets the file, so that nothing rebuilds them.
 * Off chain there is no book, and no collector.
 */
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { NotFoundError } from '../../errors.ts'
import { decodeManifest, manifestPieceCid } from '../../storage/index.ts'
import { type AcceptedSlotKey, acceptedSlotId } from '../accepted-slots.ts'
import { SLOT_CACHE_DIR } from '../chain-service/index.ts'
import { readJsonState, writeJsonState } from '../json-state-file.ts'
import { monotonicNow } from '../monotonic-clock.ts'
import { DEFAULT_GC_GRACE_MS, DEFAULT_GC_INTERVAL_MS, DEFAULT_GC_MAX_BOOK_AGE_MS, GC_STATE_FILE } from './constants.ts'
import type { PieceCollector, PieceCollectorComponents, PieceCollectorInit, SweepReport } from './interface.ts'
import { manifestCidOfText, type NeededSlot, neededSlotKey, neededSlots } from './needed-slots.ts'

const GC_STATE_FORMAT = 1

/**
 * Creates the garbage collector of a node on chain.
 *
 * @example
 * ```ts
 * const gc = createPieceCollector({ pieceStore: store, market: () => chain.marketView(), accepted, repair },
 *   { dataDir, graceMs: 86_400_000, intervalMs: 3_600_000 })
 * gc.start()
 * ```
 */
export function createPieceCollector(components: PieceCollectorComponents, init: PieceCollectorInit): PieceCollector {
  return new NodePieceCollector(components, init)
}

const multihashKey = (cid: CID): string => Buffer.from(cid.multihash.bytes).toString('hex')

class NodePieceCollector implements PieceCollector {
  readonly #components: PieceCollectorComponents
  readonly #init: PieceCollectorInit
  readonly #grace: number
  readonly #controller = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #running: Promise<SweepReport> = Promise.resolve(emptyReport())

  constructor(components: PieceCollectorComponents, init: PieceCollectorInit) {
    this.#components = components
    this.#init = init
    this.#grace = init.graceMs ?? DEFAULT_GC_GRACE_MS
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.sweep({ signal: this.#controller.signal }).catch((error) => {
        if (!this.#controller.signal.aborted) this.#init.onEvent?.({ type: 'gc:error', message: String(error) })
      })
    }, this.#init.intervalMs ?? DEFAULT_GC_INTERVAL_MS)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#controller.abort()
    await this.#running.catch(() => {})
  }

  sweep(options: { signal?: AbortSignal } = {}): Promise<SweepReport> {
    const next = this.#running
      .catch(() => {})
      .then(() => this.#sweep(options.signal))
      .then((report) => {
        this.#init.onEvent?.({ type: 'gc:swept', ...report })
        return report
      })
    this.#running = next
    return next
  }

  #now(): number {
    return this.#init.now?.() ?? Date.now()
  }

  /** The clock of the book's age: a wall-clock step must not make an old book look fresh (nor a fresh one old). */
  #monotonicNow(): number {
    return this.#init.monotonicNow?.() ?? this.#init.now?.() ?? monotonicNow()
  }

  async #sweep(signal: AbortSignal | undefined): Promise<SweepReport> {
    const { pieceStore, market, accepted, repair } = this.#components
    const report = emptyReport()
    const now = this.#now()
    const view = market()
    if (view === undefined) return { ...report, skipped: 'the book of the Market was not read yet' }
    const age = this.#monotonicNow() - view.readAt
    if (age > (this.#init.maxBookAgeMs ?? DEFAULT_GC_MAX_BOOK_AGE_MS)) {
      return { ...report, skipped: `the book of the Market was last read ${Math.round(age / 1000)} s ago` }
    }
    const acceptances = await accepted.list()
    const needed = neededSlots(view, acceptances, repair.files())
    if (needed.problem !== undefined) return { ...report, skipped: needed.problem }
    const kept = await this.#withGrace(needed.slots, now)
    report.slotsKept = kept.size
    // Mark: every piece of a kept slot, and its manifest, by multihash (a piece of two kept slots counts twice).
    const references = new Map<string, number>()
    const refer = (cid: CID) => references.set(multihashKey(cid), (references.get(multihashKey(cid)) ?? 0) + 1)
    for (const { manifestCid, slot } of kept.values()) {
      signal?.throwIfAborted()
      const pieces = await this.#slotPieces(manifestCid, slot)
      if (typeof pieces === 'string') return { ...report, skipped: pieces }
      for (const cid of pieces) refer(cid)
    }
    report.referenced = references.size
    // Sweep: unreferenced pieces older than the grace period.
    const doomed: CID[] = []
    for await (const cid of pieceStore.list(signal === undefined ? {} : { signal })) {
      report.scanned++
      if (references.has(multihashKey(cid))) continue
      const found = await pieceStore.stat(cid)
      if (found === undefined) continue
      if (now - found.storedAt < this.#grace) report.young++
      else doomed.push(cid)
    }
    const spared = this.#forgetFiles(doomed, references, report)
    for (const cid of doomed) {
      signal?.throwIfAborted()
      if (spared.has(multihashKey(cid))) continue
      // looked at again just before: a piece stored again meanwhile is young again
      const found = await pieceStore.stat(cid)
      if (found === undefined || this.#now() - found.storedAt < this.#grace) continue
      await pieceStore.delete(cid)
      report.deleted++
      report.bytesFreed += found.bytes
    }
    await this.#dropSlotCaches(kept, now)
    // An acceptance goes once spent (its slot confirmed or its deal ended), or a grace period after it expired unused.
    for (const record of acceptances) {
      let key: AcceptedSlotKey
      try {
        key = { ...record, size: BigInt(record.size) }
      } catch {
        continue
      }
      const id = acceptedSlotId(key)
      const expired = record.expiry + this.#grace / 1000 < view.chainTime && !needed.usedAcceptances.has(id)
      if (expired || needed.spentAcceptances.has(id)) await accepted.remove(key)
    }
    return report
  }

  /**
   * The slots needed now and those needed less than the grace period ago, after recording durably (before anything
   * is deleted) that the ones needed now were needed now.
   */
  async #withGrace(now: Map<string, NeededSlot>, nowMs: number): Promise<Map<string, NeededSlot>> {
    const path = join(this.#init.dataDir, GC_STATE_FILE)
    const saved = await readJsonState(path, (value) => {
      const state = value as { format?: unknown; slots?: unknown }
      if (state?.format !== GC_STATE_FORMAT || typeof state.slots !== 'object' || state.slots === null) return undefined
      return state.slots as Record<string, unknown>
    })
    const kept = new Map(now)
    const slots: Record<string, number> = {}
    for (const [key, at] of Object.entries(saved ?? {})) {
      if (typeof at !== 'number' || !(nowMs - at < this.#grace)) continue
      const split = key.lastIndexOf(':')
      const manifestCid = manifestCidOfText(key.slice(0, split))
      const slot = Number(key.slice(split + 1))
      if (manifestCid === undefined || !Number.isInteger(slot) || slot < 0) continue
      slots[key] = at
      kept.set(neededSlotKey(manifestCid, slot), { manifestCid, slot })
    }
    for (const key of now.keys()) slots[key] = nowMs
    await writeJsonState(path, { format: GC_STATE_FORMAT, slots })
    return kept
  }

  /** The manifest piece and the slot's pieces, or why they cannot be told (the manifest is missing or does not verify). */
  async #slotPieces(manifestCid: CID, slot: number): Promise<CID[] | string> {
    const pieceCid = manifestPieceCid(manifestCid)
    let bytes: Uint8Array
    try {
      bytes = await this.#components.pieceStore.get(pieceCid)
    } catch (error) {
      if (error instanceof NotFoundError) return `the manifest ${manifestCid} of kept slot ${slot} is not on this node`
      return `the manifest ${manifestCid} of kept slot ${slot} cannot be read: ${(error as Error).message}`
    }
    try {
      const manifest = decodeManifest(bytes, manifestCid)
      if (slot >= manifest.n) return [pieceCid]
      return [pieceCid, ...manifest.segments.map((segment) => segment.pieces[slot]!)]
    } catch (error) {
      return `the manifest ${manifestCid} of kept slot ${slot} does not decode: ${(error as Error).message}`
    }
  }

  /**
   * The repair service forgets each tracked file whose manifest piece is about to go; a file it cannot forget now (a
   * slot repair of it runs) keeps its manifest this sweep. Returns the multihashes spared.
   */
  #forgetFiles(doomed: CID[], references: Map<string, number>, report: SweepReport): Set<string> {
    const doomedKeys = new Set(doomed.map(multihashKey))
    const spared = new Set<string>()
    for (const file of this.#components.repair.files()) {
      const manifestCid = manifestCidOfText(file.manifestCid)
      if (manifestCid === undefined) continue
      const key = multihashKey(manifestCid)
      if (references.has(key) || !doomedKeys.has(key)) continue
      if (this.#components.repair.forget(manifestCid)) report.forgotten++
      else spared.add(key)
    }
    return spared
  }

  /** Deletes the proof caches (slots/<manifest>-<slot>.levels) of slots no longer kept. */
  async #dropSlotCaches(kept: Map<string, NeededSlot>, now: number): Promise<void> {
    const dir = join(this.#init.dataDir, SLOT_CACHE_DIR)
    const names = await readdir(dir).catch(() => [] as string[])
    for (const name of names) {
      const match = /^(.+)-(\d+)\.(levels|leaves)$/.exec(name)
      const manifestCid = match === null ? undefined : manifestCidOfText(match[1]!)
      if (manifestCid === undefined || kept.has(neededSlotKey(manifestCid, Number(match![2])))) continue
      const file = join(dir, name)
      const found = await stat(file).catch(() => undefined)
      if (found !== undefined && now - found.mtimeMs >= this.#grace) await rm(file, { force: true })
    }
  }
}

function emptyReport(): SweepReport {
  return { scanned: 0, slotsKept: 0, referenced: 0, young: 0, deleted: 0, bytesFreed: 0, forgotten: 0 }
}
