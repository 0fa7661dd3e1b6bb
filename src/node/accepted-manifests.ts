/**
 * Which stored manifests a node on chain lets its repair service track (issue 12, finding 4): any peer holding an
 * upload reservation can store a piece that decodes as a manifest, and a tracked manifest makes the node watch, probe
 * and repair its file. A manifest is accepted when
 * - this node signed an acceptance of a slot of it (`AcceptedSlots`, durable), or
 * - it arrived under a live upload reservation of a Registry-active staked node: a repairer rebuilding a lost slot
 *   onto this node reserves room first and sends the manifest before the slot's pieces. Such manifests are remembered
 *   durably (`repair-admitted.json`, bounded) so the repaired slot is still tracked after a restart.
 * A client's put stores the manifest before the node signs its acceptance (the node checks it holds the slot first):
 * the manifest is refused at store time and admitted when the acceptance is signed (`readmitStoredManifest`).
 */
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { manifestPieceCid, type PieceStore } from '../storage/index.ts'
import type { AcceptedSlots } from './accepted-slots.ts'
import { readJsonState, writeJsonState } from './json-state-file.ts'
import type { RepairService } from './repair/index.ts'
import type { UploadReservations } from './upload-reservations.ts'

/** The file of manifests admitted because a staked repairer sent them, in a node's data dir. */
export const REPAIR_ADMITTED_FILE = 'repair-admitted.json'
/** Most manifests remembered as sent by a staked repairer (the oldest are forgotten first). */
export const MAX_REPAIR_ADMITTED = 10_000

export interface AcceptedManifestsComponents {
  accepted: Pick<AcceptedSlots, 'list'>
  reservations: Pick<UploadReservations, 'storedUnder'>
  /** Whether a peer is a Registry-active staked node (`registryPeers(reader).isStaked`). */
  isStaked: (peerId: string) => boolean
}

export interface AcceptedManifestsInit {
  dataDir: string
  /** Default MAX_REPAIR_ADMITTED. */
  maxRepairAdmitted?: number
}

/** The manifests a node accepts, by multihash (the manifest's dag-cbor CID and its raw piece CID share it). */
export class AcceptedManifests {
  readonly #components: AcceptedManifestsComponents
  readonly #file: string
  readonly #max: number
  /** Manifests of slots this node accepted. */
  readonly #bySlot = new Set<string>()
  /** Manifests a staked repairer sent, oldest first (a Set keeps insertion order). */
  readonly #byRepair = new Set<string>()
  #loaded: Promise<void> | undefined
  #saving: Promise<void> = Promise.resolve()

  constructor(components: AcceptedManifestsComponents, init: AcceptedManifestsInit) {
    this.#components = components
    this.#file = join(init.dataDir, REPAIR_ADMITTED_FILE)
    this.#max = init.maxRepairAdmitted ?? MAX_REPAIR_ADMITTED
  }

  /** Notes the manifest of a slot acceptance this node signed. */
  noteAccepted(manifestCid: CID): void {
    this.#bySlot.add(multihashKey(manifestCid))
  }

  /** Whether the repair service may track the manifest (pass as `RepairServiceInit.isAcceptedManifest`). */
  async has(manifestCid: CID): Promise<boolean> {
    await (this.#loaded ??= this.#load())
    const key = multihashKey(manifestCid)
    if (this.#bySlot.has(key) || this.#byRepair.has(key)) return true
    const carriers = this.#components.reservations.storedUnder(manifestCid)
    if (!carriers.some((peer) => this.#components.isStaked(peer))) return false
    this.#byRepair.add(key)
    for (const old of this.#byRepair) {
      if (this.#byRepair.size <= this.#max) break
      this.#byRepair.delete(old)
    }
    const list = [...this.#byRepair]
    this.#saving = this.#saving.then(() => writeJsonState(this.#file, { manifests: list }))
    await this.#saving
    return true
  }

  async #load(): Promise<void> {
    for (const record of await this.#components.accepted.list()) {
      try {
        this.#bySlot.add(multihashKey(CID.parse(record.manifestCid)))
      } catch {}
    }
    const saved = await readJsonState(this.#file, (value) => {
      const manifests = (value as { manifests?: unknown } | null)?.manifests
      return Array.isArray(manifests) ? manifests.filter((m): m is string => typeof m === 'string') : undefined
    })
    for (const key of (saved ?? []).slice(-this.#max)) this.#byRepair.add(key)
  }
}

/**
 * Makes the repair service look again at a manifest already on disk (one it refused when it was stored, before this
 * node accepted a slot of it): the manifest piece is put again through the repair service's store, whose put is the
 * one way a manifest is admitted. Nothing happens when the file is tracked already or the manifest is not here.
 */
export function readmitStoredManifest(
  store: Pick<PieceStore, 'get'>,
  repair: Pick<RepairService, 'pieceStore' | 'file'>,
): (manifestCid: CID) => Promise<void> {
  return async (manifestCid) => {
    if (repair.file(manifestCid) !== undefined) return
    const pieceCid = manifestPieceCid(manifestCid)
    let bytes: Uint8Array
    try {
      bytes = await store.get(pieceCid)
    } catch {
      return
    }
    await repair.pieceStore.put(pieceCid, bytes)
  }
}

/** A CID's multihash as text. */
function multihashKey(cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('hex')
}
