/**
 * A slot repair: a lost slot rebuilt from any k other slots onto a live node that holds none of the file (another /24
 * when one exists). The manifest is sent first and segment 0 last, so the new node counts as the slot's holder only
 * once it has every piece.
 */
import { access } from 'node:fs/promises'
import { reserveUpload } from '../../net/index.ts'
import { abortableSleep, manifestPieceCid } from '../../storage/index.ts'
import { monotonicNow } from '../monotonic-clock.ts'
import {
  DEFAULT_REPAIR_CONCURRENCY,
  DEFAULT_REPAIR_FALLBACK_MS,
  DEFAULT_REPAIR_MAX_REPAIRS_PER_FILE,
  DEFAULT_REPAIR_PERIOD_MS,
  DEFAULT_REPAIR_PIECE_TIMEOUT_MS,
  REPAIR_RESERVATION_SECONDS,
} from './constants.ts'
import { refreshPlacement } from './placement-refresh.ts'
import type { RepairContext } from './repair-context.ts'
import { repairInFlight } from './repair-in-flight.ts'
import { errorText } from './repair-log.ts'
import { chooseRepairTarget } from './repair-placement.ts'
import { rebuildSlotPiece } from './slot-piece-rebuild.ts'
import type { ActiveRepair, TrackedFile } from './tracked-file.ts'

/**
 * Rebuilds lost `slot` of `file` onto a new node, unless a fresh look finds it held or already being repaired. No
 * target: retried after the fallback wait. A failed target is not chosen again for the file; the error is rethrown.
 */
export async function repairSlot(context: RepairContext, file: TrackedFile, slot: number): Promise<void> {
  const key = `${file.key}:${slot}`
  const network = context.network()
  const me = network.peerId
  // Look again right before acting: another repairer may have finished meanwhile.
  await refreshPlacement(context, file, true)
  if (file.holders[slot] !== null || context.active.has(key)) return
  const all = network.peers()
  const peers = all.filter((p) => context.trusts(p.peerId))
  const views = new Map(all.map((p) => [p.peerId, p]))
  const everyHolder = new Set([me, ...file.holdersOf.flat(), ...file.failedTargets])
  for (const a of context.active.values()) everyHolder.add(a.target)
  const liveHolders = file.holders
    .filter((h): h is string => h !== null)
    .map((h) =>
      h === me ? { peerId: me, multiaddrs: network.multiaddrs() } : (views.get(h) ?? { peerId: h, multiaddrs: [] }),
    )
  const fallback = context.init.fallbackMs ?? DEFAULT_REPAIR_FALLBACK_MS
  const outside = peers.filter((p) => p.state === 'alive' && !everyHolder.has(p.peerId)).map((p) => p.peerId)
  const inFlight = await repairInFlight(context, file, slot, outside, fallback)
  if (inFlight !== undefined) {
    file.retryAfter.set(slot, monotonicNow() + fallback)
    context.emit({ type: 'repair:waiting', manifestCid: file.key, slot, target: inFlight })
    return
  }
  const target = chooseRepairTarget(peers, liveHolders, everyHolder, {
    key,
    ...(context.init.capacityOf === undefined ? {} : { capacityOf: context.init.capacityOf }),
  })
  if (target === undefined) {
    file.retryAfter.set(slot, monotonicNow() + fallback)
    context.emit({
      type: 'repair:failed',
      manifestCid: file.key,
      slot,
      target: null,
      error: 'no live node outside the file is known to take the slot: start more nodes',
    })
    return
  }
  const budget = repairBudgetWait(context, file)
  if (budget !== undefined) {
    file.retryAfter.set(slot, monotonicNow() + budget.waitMs)
    context.emit({ type: 'repair:failed', manifestCid: file.key, slot, target: null, error: budget.error })
    return
  }
  file.repairStarts.push(monotonicNow())
  const segments = file.manifest.segments
  const active: ActiveRepair = { target: target.peerId, done: 0, pieces: segments.length, startedAt: Date.now() }
  context.active.set(key, active)
  const started = performance.now()
  let bytes = 0
  context.emit({ type: 'repair:start', manifestCid: file.key, slot, target: target.peerId, pieces: segments.length })
  try {
    const timeout = context.init.pieceTimeoutMs ?? DEFAULT_REPAIR_PIECE_TIMEOUT_MS
    // The target takes pieces only under a reservation: room for the manifest and the whole slot.
    if (network.slotAcceptance !== undefined) {
      const bytes = file.manifestBytes.byteLength + file.manifest.slots[slot]!.size
      await reserveUpload(
        { slotAcceptance: network.slotAcceptance.bind(network) },
        target.peerId,
        { bytes, seconds: REPAIR_RESERVATION_SECONDS },
        context.deadline(timeout),
      )
    }
    await network.storePiece(
      target.peerId,
      manifestPieceCid(file.manifestCid),
      file.manifestBytes,
      context.deadline(timeout),
    )
    // Segment 0 last: nodes find a slot's holder by its first piece, so the target counts only once complete.
    const order = [...segments.keys()].slice(1).concat(0)
    let next = 0
    const worker = async () => {
      while (next < order.length) {
        const segment = order[next++]!
        if (segment === 0) await waitForHoldFile(context.init.holdFile, context.controller.signal)
        const piece = await rebuildSlotPiece(context, file, segment, slot)
        await network.storePiece(target.peerId, segments[segment]!.pieces[slot]!, piece, context.deadline(timeout))
        bytes += piece.byteLength
        active.done++
        context.init.onProgress?.({
          type: 'repair:progress',
          manifestCid: file.key,
          slot,
          target: target.peerId,
          done: active.done,
          pieces: active.pieces,
        })
      }
    }
    const concurrency = Math.max(1, context.init.concurrency ?? DEFAULT_REPAIR_CONCURRENCY)
    await Promise.all(Array.from({ length: Math.min(concurrency, order.length) }, worker))
    file.holders[slot] = target.peerId
    file.holdersOf[slot]!.push(target.peerId)
    file.lostSince.delete(slot)
    network.watch([target.peerId])
    context.queueSave()
    context.emit({
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
    file.retryAfter.set(slot, monotonicNow() + Math.min(fallback, 5_000))
    context.emit({ type: 'repair:failed', manifestCid: file.key, slot, target: target.peerId, error: errorText(err) })
    throw err
  } finally {
    context.active.delete(key)
  }
}

/**
 * Undefined when `file` may start one more slot repair in this period, else how long until it may and why not: one
 * file starts at most `maxRepairsPerFile` repairs per `repairPeriodMs`, whatever its manifest says.
 */
function repairBudgetWait(context: RepairContext, file: TrackedFile): { waitMs: number; error: string } | undefined {
  const max = context.init.maxRepairsPerFile ?? DEFAULT_REPAIR_MAX_REPAIRS_PER_FILE
  const period = context.init.repairPeriodMs ?? DEFAULT_REPAIR_PERIOD_MS
  const now = monotonicNow()
  file.repairStarts = file.repairStarts.filter((at) => now - at < period)
  if (file.repairStarts.length < max) return undefined
  return {
    waitMs: file.repairStarts[0]! + period - now,
    error: `this file started ${file.repairStarts.length} slot repairs in the last ${Math.round(period / 60_000)} min, the most allowed (repair option maxRepairsPerFile)`,
  }
}

/**
 * The `faults.repairHoldFile` switch: a slot repair stores every piece but the slot's first, then waits until this
 * file exists (or the repair is stopped), so a test can watch a repair in progress for as long as it needs.
 */
async function waitForHoldFile(path: string | undefined, signal: AbortSignal): Promise<void> {
  if (path === undefined || path === '') return
  while (!signal.aborted) {
    try {
      await access(path)
      return
    } catch {
      await abortableSleep(200, signal)
    }
  }
}
