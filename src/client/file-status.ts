/** The status of a file: who holds each slot, how much of it they hold, whether it reads whole, running repairs. */
import type { CID } from 'multiformats/cid'
import { AbortedError } from '../errors.ts'
import type { AbortOptions, PeerState } from '../node/index.ts'
import { parseCapability } from '../storage/index.ts'
import { type ClientContext, probeSignal } from './client-context.ts'
import type { FileStatus, SlotRepairStatus, SlotStatus } from './interface.ts'
import { type LocatedFile, locateFile } from './locate-file.ts'

/**
 * The status of the file of `capability` (a read capability or a verify-only one): each slot's holder and its state,
 * the pieces each holder confirmed, the segments that reachable nodes can serve, and the repairs the holders run.
 *
 * @example
 * ```ts
 * const { readable, slots } = await fileStatus(context, capability, options)
 * ```
 */
export async function fileStatus(
  context: ClientContext,
  capability: string,
  options: AbortOptions = {},
): Promise<FileStatus> {
  const parsed = parseCapability(capability)
  const located = await locateFile(context, parsed.manifestCid, [], options)
  const { manifest, record, views } = located
  // Ask the file's holders (the nodes that repair it) what repairs they run, while the pieces are counted.
  const repairsAsked = slotRepairs(context, located, options)
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
        const answer = await piecesHeld(context, peerId, cids, options)
        answer?.forEach((h, i) => {
          if (h) have[i] = true
        })
        own = answer?.filter(Boolean).length ?? 0
      }
      for (const other of located.holders[slot] ?? []) {
        if (other === peerId || have.every(Boolean)) continue
        const answer = await piecesHeld(context, other, cids, options)
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
  const slotsAlive = slots.filter((s) => s.state === 'alive' && s.held === s.pieces).length
  const blocked = repairBlocked(
    views.filter((v) => v.state === 'alive').map((v) => v.peerId),
    new Set([...placed.map((p) => p.peerId), ...located.holders.flat()]),
    { lost: manifest.n - slotsAlive, repairing: repairs.length },
  )
  return {
    capability: capability.trim(),
    manifestCid: located.manifestCid.toString(),
    size: manifest.size,
    k: manifest.k,
    n: manifest.n,
    readable: segmentsReadable === pieces,
    slotsAlive,
    segments: pieces,
    segmentsReadable,
    repairs,
    ...(blocked === undefined ? {} : { repairBlocked: blocked }),
    slots,
  }
}

/**
 * Why no node can take over a lost slot: repair needs a live node that holds no slot of the file yet (one slot per
 * distinct node). `live` are the live storage nodes, `holders` every node holding (or recorded for) a slot.
 */
export function repairBlocked(
  live: string[],
  holders: Set<string | null>,
  slots: { lost: number; repairing: number },
): string | undefined {
  if (slots.lost === 0 || slots.repairing > 0) return undefined
  const spares = live.filter((peer) => !holders.has(peer))
  if (spares.length > 0) return undefined
  return `no eligible node: all ${live.length} live node${live.length === 1 ? '' : 's'} already hold a slot of this file and each slot needs a node of its own; start another node (the file stays readable while k slots are alive)`
}

/** The slot repairs the file's holders report running (most advanced first per slot; by slot). */
async function slotRepairs(
  context: ClientContext,
  located: LocatedFile,
  options: AbortOptions,
): Promise<SlotRepairStatus[]> {
  const ask = context.network.fileHealth
  if (ask === undefined) return []
  const peers = [...new Set(located.holders.flat())]
  const out: SlotRepairStatus[] = []
  await Promise.all(
    peers.map(async (peer) => {
      try {
        const report = await ask.call(context.network, peer, located.manifestCid, probeSignal(context, options))
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
async function piecesHeld(
  context: ClientContext,
  peer: string,
  cids: CID[],
  options: AbortOptions,
): Promise<boolean[] | undefined> {
  const out: boolean[] = []
  try {
    for (let i = 0; i < cids.length; i += 1024) {
      out.push(...(await context.network.hasPieces(peer, cids.slice(i, i + 1024), probeSignal(context, options))))
    }
  } catch {
    return undefined
  }
  return out
}
