/**
 * The heartbeat view: one phi-accrual detector per storage peer, fed by verified heartbeats from any path
 * (direct exchange or presence gossip), deduplicated by the sender's (boot ID, sequence): never by its clock, so a
 * clock that steps back cannot silence a live node. A new boot ID (a restart) is accepted at once; a heartbeat of a
 * boot the peer has since left (a replay) is ignored.
 *
 * The view is bounded (`maxPeers`, default 10,000) with O(1) eviction. Peers are ranked: staked (the injected
 * `isStaked` predicate, e.g. Registry-active nodes), then established (heard from for `establishedAfterMs`), then
 * fresh. A newcomer displaces only the least recently heard peer of the lowest rank present, and only if that rank
 * is not above its own: gossiped presence of fresh keys cannot push out established or staked peers.
 */
import {
  DEFAULT_ESTABLISHED_AFTER_MS,
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
import { RankedBoundedMap } from './ranked-bounded-map.ts'

const RANK_FRESH = 0
const RANK_ESTABLISHED = 1
const RANK_STAKED = 2

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
  /** When this node first accepted a heartbeat from the peer (its monotonic clock). */
  firstHeardMs: number
}

export interface PeerHealthInit {
  phiThreshold: number
  forgetDeadAfterMs?: number
  /** Most peers tracked. Default MAX_TRACKED_PEERS (10,000). */
  maxPeers?: number
  /** A peer heard from for this long ranks above fresh keys. Default DEFAULT_ESTABLISHED_AFTER_MS (10 min). */
  establishedAfterMs?: number
  /** Peers that rank first (e.g. staked, Registry-active nodes); called on every accepted heartbeat: keep it O(1). */
  isStaked?: (peerId: string) => boolean
  /** Called when a peer leaves the view (evicted or forgotten), so callers can drop what they keep about it. */
  onForget?: (peerId: string) => void
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
  readonly #entries: RankedBoundedMap<PeerHealthEntry>
  readonly #threshold: number
  readonly #forgetAfterMs: number
  readonly #establishedAfterMs: number
  readonly #isStaked: ((peerId: string) => boolean) | undefined
  readonly #onForget: ((peerId: string) => void) | undefined

  constructor(init: PeerHealthInit) {
    this.#threshold = init.phiThreshold
    this.#forgetAfterMs = init.forgetDeadAfterMs ?? DEFAULT_FORGET_DEAD_AFTER_MS
    this.#entries = new RankedBoundedMap(init.maxPeers ?? MAX_TRACKED_PEERS, RANK_STAKED + 1)
    this.#establishedAfterMs = init.establishedAfterMs ?? DEFAULT_ESTABLISHED_AFTER_MS
    this.#isStaked = init.isStaked
    this.#onForget = init.onForget
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
        firstHeardMs: nowMs,
      }
      const { inserted, evicted } = this.#entries.insert(entry.peerId, entry, this.#rank(entry, nowMs))
      if (evicted !== undefined) this.#onForget?.(evicted)
      // the view is full of peers that outrank this one: it is not tracked (its next heartbeat tries again)
      if (!inserted) return undefined
    } else {
      this.#entries.touch(entry.peerId, this.#rank(entry, nowMs))
      // the sender changed its interval (or restarted with another config): start the estimate afresh
      if (entry.detector.expectedIntervalMs !== interval) {
        entry.detector = new PhiAccrualDetector({ expectedIntervalMs: interval })
      }
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
      if (state === 'dead' && nowMs - last > this.#forgetAfterMs) this.delete(entry.peerId)
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
    if (this.#entries.delete(peerId)) this.#onForget?.(peerId)
  }

  #rank(entry: PeerHealthEntry, nowMs: number): number {
    if (this.#isStaked?.(entry.peerId) === true) return RANK_STAKED
    return nowMs - entry.firstHeardMs >= this.#establishedAfterMs ? RANK_ESTABLISHED : RANK_FRESH
  }
}

/** True when `heartbeat` comes after the newest one accepted from its peer: later in the same boot, or a new boot. */
function isNewer(entry: PeerHealthEntry, heartbeat: Heartbeat): boolean {
  if (heartbeat.bootId === entry.bootId) return heartbeat.sequence > entry.lastSequence
  return !entry.previousBoots.includes(heartbeat.bootId)
}
