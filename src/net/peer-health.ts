/**
 * The heartbeat view: one phi-accrual detector per storage peer, fed by verified heartbeats from any path
 * (direct exchange or presence gossip), deduplicated by the sender's (boot ID, sequence): never by its clock, so a
 * clock that steps back cannot silence a live node. A new boot ID (a restart) is accepted at once; a heartbeat of a
 * boot the peer has since left (a replay) is ignored.
 */
import {
  DEFAULT_FORGET_DEAD_AFTER_MS,
  MAX_HEARTBEAT_INTERVAL_MS,
  MAX_REMEMBERED_BOOTS,
  MAX_TRACKED_PEERS,
  MIN_HEARTBEAT_INTERVAL_MS,
  SUSPECT_PHI_RATIO,
} from './constants.ts'
import type { Heartbeat } from './heartbeat-message.ts'
import type { PeerState } from './interface.ts'
import { PhiAccrualDetector } from './phi-accrual-detector.ts'

export interface PeerHealthEntry {
  peerId: string
  state: PeerState
  detector: PhiAccrualDetector
  /** Boot of the newest heartbeat accepted. */
  bootId: string
  /** Sequence of the newest heartbeat accepted within `bootId` (replays and duplicates are ignored). */
  lastSequence: number
  /** Boots the peer has left, newest last (at most MAX_REMEMBERED_BOOTS): their heartbeats are replays. */
  previousBoots: string[]
  freeSpace?: number
  version: string
}

export interface PeerHealthInit {
  phiThreshold: number
  forgetDeadAfterMs?: number
}

export interface StateChange {
  entry: PeerHealthEntry
  previous: PeerState | undefined
}

/**
 * Tracks storage peers' liveness.
 *
 * @example
 * ```ts
 * const health = new PeerHealth({ phiThreshold: 8 })
 * health.record(heartbeat, performance.now())
 * for (const change of health.evaluate(performance.now())) console.log(change.entry.state)
 * ```
 */
export class PeerHealth {
  readonly #entries = new Map<string, PeerHealthEntry>()
  readonly #threshold: number
  readonly #forgetAfterMs: number

  constructor(init: PeerHealthInit) {
    this.#threshold = init.phiThreshold
    this.#forgetAfterMs = init.forgetDeadAfterMs ?? DEFAULT_FORGET_DEAD_AFTER_MS
  }

  stateFor(phi: number): PeerState {
    if (phi >= this.#threshold) return 'dead'
    if (phi >= this.#threshold * SUSPECT_PHI_RATIO) return 'suspect'
    return 'alive'
  }

  /**
   * Feeds a verified heartbeat received at `nowMs` (monotonic). Returns the state change it caused, if any
   * (a new peer, or a suspect/dead peer coming back).
   */
  record(heartbeat: Heartbeat, nowMs: number): StateChange | undefined {
    const interval = Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.max(MIN_HEARTBEAT_INTERVAL_MS, heartbeat.intervalMs))
    let entry = this.#entries.get(heartbeat.peerId)
    if (entry !== undefined && !isNewer(entry, heartbeat)) return undefined
    if (entry === undefined && this.#entries.size >= MAX_TRACKED_PEERS) this.#evictOne()
    const previous = entry?.state
    if (entry === undefined) {
      entry = {
        peerId: heartbeat.peerId,
        state: 'alive',
        detector: new PhiAccrualDetector({ expectedIntervalMs: interval }),
        bootId: heartbeat.bootId,
        lastSequence: heartbeat.sequence,
        previousBoots: [],
        version: heartbeat.version,
      }
      this.#entries.set(heartbeat.peerId, entry)
    } else if (entry.detector.expectedIntervalMs !== interval) {
      // the sender changed its interval (or restarted with another config): start the estimate afresh
      entry.detector = new PhiAccrualDetector({ expectedIntervalMs: interval })
    }
    const last = entry.detector.lastHeartbeatMs
    // two paths may deliver heartbeats close together; intervals far below the announced one would skew the estimate
    if (last === undefined || nowMs - last >= interval / 4 || previous !== 'alive') entry.detector.heartbeat(nowMs)
    if (entry.bootId !== heartbeat.bootId) {
      entry.previousBoots.push(entry.bootId)
      if (entry.previousBoots.length > MAX_REMEMBERED_BOOTS) entry.previousBoots.shift()
      entry.bootId = heartbeat.bootId
    }
    entry.lastSequence = heartbeat.sequence
    entry.version = heartbeat.version
    if (heartbeat.freeSpace === undefined) delete entry.freeSpace
    else entry.freeSpace = heartbeat.freeSpace
    entry.state = this.stateFor(entry.detector.phi(nowMs))
    return previous === entry.state ? undefined : { entry, previous }
  }

  /** Recomputes every peer's state at `nowMs`; returns the transitions. Forgets peers dead for too long. */
  evaluate(nowMs: number): StateChange[] {
    const changes: StateChange[] = []
    for (const entry of this.#entries.values()) {
      const state = this.stateFor(entry.detector.phi(nowMs))
      if (state !== entry.state) {
        const previous = entry.state
        entry.state = state
        changes.push({ entry, previous })
      }
      const last = entry.detector.lastHeartbeatMs ?? nowMs
      if (state === 'dead' && nowMs - last > this.#forgetAfterMs) this.#entries.delete(entry.peerId)
    }
    return changes
  }

  get(peerId: string): PeerHealthEntry | undefined {
    return this.#entries.get(peerId)
  }

  entries(): IterableIterator<PeerHealthEntry> {
    return this.#entries.values()
  }

  delete(peerId: string): void {
    this.#entries.delete(peerId)
  }

  #evictOne(): void {
    let oldest: PeerHealthEntry | undefined
    for (const entry of this.#entries.values()) {
      if (oldest === undefined || (entry.detector.lastHeartbeatMs ?? 0) < (oldest.detector.lastHeartbeatMs ?? 0)) {
        oldest = entry
      }
    }
    if (oldest !== undefined) this.#entries.delete(oldest.peerId)
  }
}

/** True when `heartbeat` comes after the newest one accepted from its peer: later in the same boot, or a new boot. */
function isNewer(entry: PeerHealthEntry, heartbeat: Heartbeat): boolean {
  if (heartbeat.bootId === entry.bootId) return heartbeat.sequence > entry.lastSequence
  return !entry.previousBoots.includes(heartbeat.bootId)
}
