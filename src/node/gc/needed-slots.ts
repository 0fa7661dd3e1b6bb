/**
 * Which slots' pieces a node still needs (the mark rules of the garbage collector), from durable facts only: the
 * node's book of the Market (chain events), the slot acceptances it signed (files), and the files its repair service
 * tracks. A slot is needed
 * - while its deal runs, up to and including the epoch after its last (the last proof may still be due), when this
 *   node holds or is named for it (pending, active, or open after this node lost it);
 * - while this node's signed acceptance of it can still be used on chain (not expired on the chain's clock) and no
 *   deal used it yet (once a deal did, the deal's rule decides; the acceptance is spent once the slot is confirmed or
 *   the deal ended, and the collector then deletes its record);
 * - while the repair service tracks this node's copy of it and the file has a running deal (a slot rebuilt here that
 *   the node is taking over on chain).
 * Every key is the file's dag-cbor manifest CID text and the slot index, whatever codec the chain or a file named the
 * manifest with.
 */
import { CID } from 'multiformats/cid'
import { type AcceptedSlotRecord, acceptedSlotId } from '../accepted-slots.ts'
import type { MarketView } from '../chain-service/index.ts'

const DAG_CBOR_CODE = 0x71
const SHA2_256_CODE = 0x12

/** A slot whose pieces are kept. */
export interface NeededSlot {
  /** The manifest as a dag-cbor CID. */
  manifestCid: CID
  slot: number
}

/** The needed slots by key, and the acceptances a running deal of the book names (kept even once expired). */
export interface NeededSlots {
  slots: Map<string, NeededSlot>
  /** `acceptedSlotId`s of acceptances a deal of the book used. */
  usedAcceptances: Set<string>
  /** Those of them no longer needed to confirm (the slot is confirmed, or the deal ended). */
  spentAcceptances: Set<string>
  /** A reason to delete nothing this sweep (a slot of this node names no valid manifest). */
  problem?: string
}

/** The key of a slot: `<dag-cbor manifest CID>:<slot>`. */
export function neededSlotKey(manifestCid: CID, slot: number): string {
  return `${manifestCid.toString()}:${slot}`
}

/** The dag-cbor manifest CID of a text naming it in any codec, or undefined when it is not a sha2-256 CID. */
export function manifestCidOfText(text: string): CID | undefined {
  try {
    const cid = CID.parse(text)
    if (cid.multihash.code !== SHA2_256_CODE || cid.multihash.size !== 32) return undefined
    return CID.createV1(DAG_CBOR_CODE, cid.multihash)
  } catch {
    return undefined
  }
}

/**
 * The slots needed now (see the file's comment); acceptance expiries are compared with the chain's clock
 * (`view.chainTime`), as the Registry does.
 *
 * @example
 * ```ts
 * const { slots } = neededSlots(chain.marketView()!, await accepted.list(), repair.files())
 * ```
 */
export function neededSlots(
  view: MarketView,
  acceptances: readonly AcceptedSlotRecord[],
  repairFiles: ReadonlyArray<{ manifestCid: string; mySlots: number[] }>,
): NeededSlots {
  const slots = new Map<string, NeededSlot>()
  const usedAcceptances = new Set<string>()
  const spentAcceptances = new Set<string>()
  const need = (manifestCid: CID, slot: number) => slots.set(neededSlotKey(manifestCid, slot), { manifestCid, slot })
  const me = view.account.toLowerCase()
  const running = new Set<string>()
  let problem: string | undefined
  for (const deal of view.deals()) {
    if (view.epoch > deal.endEpoch) continue
    const manifestCid = manifestCidOfText(deal.manifestCid)
    if (manifestCid !== undefined) running.add(manifestCid.toString())
    for (const slot of deal.slots) {
      if (slot === undefined || slot.node.toLowerCase() !== me) continue
      if (manifestCid === undefined) {
        problem = `deal ${deal.dealId} names no valid manifest CID ("${deal.manifestCid.slice(0, 80)}") for slot ${slot.index} of this node`
        continue
      }
      need(manifestCid, slot.index)
    }
  }
  for (const deal of view.deals()) {
    for (const slot of deal.slots) {
      if (slot === undefined || slot.node.toLowerCase() !== me) continue
      const key = { client: deal.owner, manifestCid: deal.manifestCid, slotIndex: slot.index }
      const id = acceptedSlotId({ ...key, root: slot.root, size: slot.size })
      usedAcceptances.add(id)
      if (slot.state !== 'pending' || view.epoch > deal.endEpoch) spentAcceptances.add(id)
    }
  }
  for (const record of acceptances) {
    if (!(record.expiry > view.chainTime)) continue
    try {
      if (usedAcceptances.has(acceptedSlotId({ ...record, size: BigInt(record.size) }))) continue
    } catch {
      continue
    }
    const manifestCid = manifestCidOfText(record.manifestCid)
    if (manifestCid !== undefined && Number.isInteger(record.slotIndex)) need(manifestCid, record.slotIndex)
  }
  for (const file of repairFiles) {
    const manifestCid = manifestCidOfText(file.manifestCid)
    if (manifestCid === undefined || !running.has(manifestCid.toString())) continue
    for (const slot of file.mySlots) need(manifestCid, slot)
  }
  const out = { slots, usedAcceptances, spentAcceptances }
  return problem === undefined ? out : { ...out, problem }
}
