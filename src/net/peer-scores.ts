/**
 * Misbehaviour scores for the piece protocol. A peer starts at 0; garbage, oversize frames and wrong bytes subtract
 * points; the score drifts back toward 0 over time. At BAN_SCORE the peer is banned for a while: its connections are
 * closed and the connection gater refuses it.
 */
import { BAN_SCORE, DEFAULT_BAN_DURATION_MS, SCORE_RECOVERY_PER_MINUTE } from './constants.ts'

interface ScoreEntry {
  score: number
  updatedMs: number
  bannedUntilMs: number
}

export interface PeerScoresInit {
  banDurationMs?: number
  /** Called once when a peer crosses the ban score. */
  onBan?: (peerId: string) => void
  now?: () => number
}

/**
 * @example
 * ```ts
 * const scores = new PeerScores({ onBan: (peer) => void libp2p.hangUp(peerIdFromString(peer)) })
 * scores.penalize(peer, 25)
 * scores.isBanned(peer)
 * ```
 */
export class PeerScores {
  readonly #entries = new Map<string, ScoreEntry>()
  readonly #banDurationMs: number
  readonly #onBan: ((peerId: string) => void) | undefined
  readonly #now: () => number

  constructor(init: PeerScoresInit = {}) {
    this.#banDurationMs = init.banDurationMs ?? DEFAULT_BAN_DURATION_MS
    this.#onBan = init.onBan
    this.#now = init.now ?? Date.now
  }

  #current(peerId: string): ScoreEntry | undefined {
    const entry = this.#entries.get(peerId)
    if (entry === undefined) return undefined
    const now = this.#now()
    // recover in whole minutes so a burst of penalties adds up exactly
    const minutes = Math.floor((now - entry.updatedMs) / 60_000)
    if (minutes > 0) {
      entry.score = Math.min(0, entry.score + minutes * SCORE_RECOVERY_PER_MINUTE)
      entry.updatedMs += minutes * 60_000
    }
    if (entry.score === 0 && entry.bannedUntilMs <= now) {
      this.#entries.delete(peerId)
      return undefined
    }
    return entry
  }

  score(peerId: string): number {
    return Math.round(this.#current(peerId)?.score ?? 0)
  }

  isBanned(peerId: string): boolean {
    return (this.#current(peerId)?.bannedUntilMs ?? 0) > this.#now()
  }

  /** Subtracts `points`; bans the peer when its score reaches BAN_SCORE. */
  penalize(peerId: string, points: number): void {
    if (!(points > 0)) return
    const now = this.#now()
    const entry = this.#current(peerId) ?? { score: 0, updatedMs: now, bannedUntilMs: 0 }
    entry.score -= points
    this.#entries.set(peerId, entry)
    if (entry.score <= BAN_SCORE && entry.bannedUntilMs <= now) {
      entry.bannedUntilMs = now + this.#banDurationMs
      this.#onBan?.(peerId)
    }
  }
}
