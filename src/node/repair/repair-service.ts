/**
 * The repair service of a storage node: self-healing without the file's owner.
 *
 * - Files: a node learns a file when its manifest is stored on it (the manifest bytes reach every slot holder) and is
 *   admitted: accepted by this node (`isAcceptedManifest`), within the bounds on slots and tracked files; it remembers
 *   it in `dataDir/repair.json` (file-tracking.ts, manifest-admission.ts, repair-state-saver.ts).
 * - Placement: the node asks the file's known holders (and, while a slot has no live holder, every live peer) which
 *   slots' first pieces they hold (has-pieces), counts a claim only from an eligible peer that passes a spot check of a
 *   random piece, and watches the holders (direct heartbeats) (placement-refresh.ts, holder-check.ts).
 * - Lost slot: no live node holds it. The live holders rank themselves by sha-256 of (manifest CID, peer ID); the first
 *   rebuilds the slot from any k other slots onto a live eligible node that holds none of the file (another /24 when
 *   one exists, then the largest Registry capacity), at most `maxRepairsPerFile` per period; the others act only if the slot is still lost after `rank x fallbackMs`. The manifest is sent first and
 *   segment 0 last, so the new node counts as the slot's holder only once it has every piece (file-check.ts,
 *   slot-repair.ts, slot-adoption.ts).
 * - Damaged piece: a read (a client's fetch, a challenge) of a piece of this node's slots that is missing or corrupt
 *   on disk is rebuilt from the other holders, rewritten and served; a periodic scrub finds the ones nobody reads
 *   (healing-piece-store.ts, piece-heal.ts, piece-scrub.ts).
 */
import type { CID } from 'multiformats/cid'
import type { PieceStore } from '../../storage/index.ts'
import type { AbortOptions } from '../index.ts'
import { DEFAULT_REPAIR_CHECK_INTERVAL_MS, DEFAULT_REPAIR_SCRUB_INTERVAL_MS } from './constants.ts'
import { checkFiles } from './file-check.ts'
import { registerStoredManifest, trackFile, untrackFile } from './file-tracking.ts'
import { createHealingPieceStore } from './healing-piece-store.ts'
import type { RepairFileView, RepairService, RepairServiceComponents, RepairServiceInit } from './interface.ts'
import { manifestRefusal } from './manifest-admission.ts'
import { createPieceHealer, type PieceHealer } from './piece-heal.ts'
import { scrubFiles } from './piece-scrub.ts'
import { RepairContext } from './repair-context.ts'
import { repairFileView } from './repair-file-view.ts'
import { restoreTrackedFiles } from './repair-state-saver.ts'
import { trackedFileKey } from './tracked-file.ts'

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

class NodeRepairService implements RepairService {
  readonly pieceStore: PieceStore
  readonly #context: RepairContext
  readonly #heal: PieceHealer
  #checkTimer: NodeJS.Timeout | undefined
  #scrubTimer: NodeJS.Timeout | undefined
  #checking: Promise<void> | undefined
  #scrubbing: Promise<void> | undefined

  constructor(components: RepairServiceComponents, init: RepairServiceInit) {
    const context = new RepairContext(components, init)
    this.#context = context
    this.#heal = createPieceHealer(context)
    this.pieceStore = createHealingPieceStore(components.pieceStore, {
      onManifestStored: (cid, bytes) => registerStoredManifest(context, cid, bytes),
      canHeal: (cid) => context.index.has(cid.toString()) && context.started,
      heal: (cid, options) => this.healPiece(cid, options),
    })
  }

  async start(_options: AbortOptions = {}): Promise<void> {
    const context = this.#context
    context.controller = new AbortController()
    context.started = true
    for (const restored of await restoreTrackedFiles(context.init.dataDir, context.store)) {
      const { manifestCid, manifest, bytes, record } = restored
      const adopting = record.adoptingSince !== undefined && record.mySlots.length === 0
      const refusal = await manifestRefusal(context, manifestCid, manifest, bytes, adopting)
      if (refusal === undefined) trackFile(context, manifestCid, manifest, bytes, record)
      else context.emit({ type: 'repair:file-ignored', manifestCid: manifestCid.toString(), reason: refusal })
    }
    this.#checkTimer = setInterval(() => {
      this.check().catch(() => {})
    }, context.init.checkIntervalMs ?? DEFAULT_REPAIR_CHECK_INTERVAL_MS)
    this.#checkTimer.unref()
    this.#scrubTimer = setInterval(() => {
      this.scrub().catch(() => {})
    }, context.init.scrubIntervalMs ?? DEFAULT_REPAIR_SCRUB_INTERVAL_MS)
    this.#scrubTimer.unref()
  }

  async stop(): Promise<void> {
    const context = this.#context
    context.started = false
    clearInterval(this.#checkTimer)
    clearInterval(this.#scrubTimer)
    context.controller.abort()
    await Promise.allSettled([this.#checking, this.#scrubbing])
    await context.saver.save().catch(() => {})
    await context.log.flushed()
  }

  files(): RepairFileView[] {
    const context = this.#context
    const states = context.peerStates()
    const me = context.me()
    return [...context.files.values()].map((file) => repairFileView(file, states, me, context.active))
  }

  file(manifestCid: CID): RepairFileView | undefined {
    const context = this.#context
    const file = context.files.get(trackedFileKey(manifestCid))
    return file === undefined ? undefined : repairFileView(file, context.peerStates(), context.me(), context.active)
  }

  forget(manifestCid: CID): boolean {
    const context = this.#context
    const file = context.files.get(trackedFileKey(manifestCid))
    if (file === undefined) return false
    for (const key of context.active.keys()) if (key.startsWith(`${file.key}:`)) return false
    untrackFile(context, file)
    return true
  }

  async check(): Promise<void> {
    if (this.#checking !== undefined) return await this.#checking
    this.#checking = checkFiles(this.#context).finally(() => {
      this.#checking = undefined
    })
    return await this.#checking
  }

  async scrub(): Promise<void> {
    if (this.#scrubbing !== undefined) return await this.#scrubbing
    this.#scrubbing = scrubFiles(this.#context, (cid, options) => this.healPiece(cid, options)).finally(() => {
      this.#scrubbing = undefined
    })
    return await this.#scrubbing
  }

  async healPiece(cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    return await this.#heal(cid, options)
  }
}
