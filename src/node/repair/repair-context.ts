/**
 * What the parts of the repair service share: the node's own store and network, the settings, the tracked files and
 * the index of this node's pieces, the slot repairs in flight, the event log, the state saver and the shutdown signal.
 */
import type { PieceStore } from '../../storage/index.ts'
import type { PeerState } from '../index.ts'
import { monotonicNow } from '../monotonic-clock.ts'
import type { RepairEvent, RepairNetwork, RepairServiceComponents, RepairServiceInit } from './interface.ts'
import { RepairLog } from './repair-log.ts'
import { RepairStateSaver } from './repair-state-saver.ts'
import type { ActiveRepair, PieceLocation, TrackedFile } from './tracked-file.ts'

/** The repair service's shared state; each part (check, refresh, repair, heal, scrub) takes it as its first argument. */
export class RepairContext {
  /** The node's store itself (not the healing one the network serves). */
  readonly store: PieceStore
  readonly network: () => RepairNetwork
  readonly init: RepairServiceInit
  /** Tracked files by key (manifest CID text). */
  readonly files = new Map<string, TrackedFile>()
  /** Piece CID -> where it sits in a file this node holds a slot of. */
  readonly index = new Map<string, PieceLocation>()
  /** Slot repairs this node runs, by `${file key}:${slot}`. */
  readonly active = new Map<string, ActiveRepair>()
  readonly log: RepairLog
  readonly saver: RepairStateSaver
  /** Passed spot checks: `${file key}:${peer}:${slot's first piece}` -> when (ms). */
  readonly verified = new Map<string, number>()
  /** Peers that failed a spot check or served wrong bytes -> until when (ms) they count as no holder nor target. */
  readonly failedPeers = new Map<string, number>()
  /** Manifests being admitted (their `isAcceptedManifest` answer is awaited), by file key. */
  readonly admitting = new Set<string>()
  /** Aborted on stop; a new one on each start. */
  controller = new AbortController()
  started = false

  constructor(components: RepairServiceComponents, init: RepairServiceInit) {
    this.store = components.pieceStore
    this.network = components.network
    this.init = init
    this.log = new RepairLog(init.dataDir)
    this.saver = new RepairStateSaver(init.dataDir, () => this.files.values())
  }

  /** Reports an event (`onProgress`) and appends it to the log. */
  emit(event: RepairEvent): void {
    this.init.onProgress?.(event)
    this.log.append(event)
  }

  /** Saves the state soon. */
  queueSave(): void {
    this.saver.queue()
  }

  /** This node's peer ID ('' before the network exists). */
  me(): string {
    try {
      return this.network().peerId
    } catch {
      return ''
    }
  }

  /** What the failure detector says of each known peer (empty before the network exists). */
  peerStates(): Map<string, PeerState> {
    try {
      return new Map(
        this.network()
          .peers()
          .map((p) => [p.peerId, p.state]),
      )
    } catch {
      return new Map()
    }
  }

  /**
   * Whether `peerId` may hold a slot, serve a rebuild or receive one: eligible (`init.isEligible`, default every
   * peer) and not remembered as failed. This node always may.
   */
  trusts(peerId: string): boolean {
    if (peerId === this.me()) return true
    const until = this.failedPeers.get(peerId)
    if (until !== undefined) {
      if (until > monotonicNow()) return false
      this.failedPeers.delete(peerId)
    }
    return this.init.isEligible?.(peerId) ?? true
  }

  /** Options of a call that ends on stop, after `timeoutMs`, or when `extra` aborts. */
  deadline(timeoutMs: number, extra?: AbortSignal): { signal: AbortSignal } {
    const signals = [this.controller.signal, AbortSignal.timeout(timeoutMs)]
    if (extra !== undefined) signals.push(extra)
    return { signal: AbortSignal.any(signals) }
  }
}
