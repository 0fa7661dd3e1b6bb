/**
 * Phi-accrual failure detector (Hayashibara et al.; as in Cassandra and Akka). It keeps a window of heartbeat
 * inter-arrival times and reports phi = -log10(P(the next heartbeat arrives later than now)), with the intervals
 * modelled as a normal distribution whose mean is padded by an acceptable pause and whose deviation has a floor.
 * Phi grows continuously with silence: 1 means a 10% chance the peer is still alive and merely late, 8 means 1e-8.
 */
import { InvalidArgumentError } from '../errors.ts'
import {
  DEFAULT_ACCEPTABLE_PAUSE_RATIO,
  DEFAULT_MIN_STD_DEVIATION_RATIO,
  DEFAULT_PHI_WINDOW_SIZE,
  MAX_REPORTED_PHI,
} from './constants.ts'

export interface PhiAccrualDetectorInit {
  /** The interval the sender announced: seeds the estimate and scales the pause and deviation floor. */
  expectedIntervalMs: number
  /** Samples kept. Default 100. */
  windowSize?: number
  /** Silence tolerated on top of the mean, as a fraction of `expectedIntervalMs`. Default 1. */
  acceptablePauseRatio?: number
  /** Floor of the standard deviation, as a fraction of `expectedIntervalMs`. Default 0.25. */
  minStdDeviationRatio?: number
}

/**
 * One detector per peer.
 *
 * @example
 * ```ts
 * const detector = new PhiAccrualDetector({ expectedIntervalMs: 1000 })
 * detector.heartbeat(performance.now()) // a monotonic clock: a wall-clock step must not look like silence
 * detector.phi(performance.now() + 5000) // > 8: dead
 * ```
 */
export class PhiAccrualDetector {
  readonly expectedIntervalMs: number
  readonly #windowSize: number
  readonly #pauseMs: number
  readonly #minStdMs: number
  readonly #intervals: number[] = []
  #next = 0
  #sum = 0
  #sumSquares = 0
  #last: number | undefined

  constructor(init: PhiAccrualDetectorInit) {
    if (!(init.expectedIntervalMs > 0) || !Number.isFinite(init.expectedIntervalMs)) {
      throw new InvalidArgumentError(`expectedIntervalMs must be a positive number, got ${init.expectedIntervalMs}`)
    }
    this.expectedIntervalMs = init.expectedIntervalMs
    this.#windowSize = Math.max(2, init.windowSize ?? DEFAULT_PHI_WINDOW_SIZE)
    this.#pauseMs = (init.acceptablePauseRatio ?? DEFAULT_ACCEPTABLE_PAUSE_RATIO) * init.expectedIntervalMs
    this.#minStdMs = (init.minStdDeviationRatio ?? DEFAULT_MIN_STD_DEVIATION_RATIO) * init.expectedIntervalMs
    // seed with two samples around the expected interval, as Akka does, so phi is meaningful from the first beat
    const deviation = init.expectedIntervalMs / 4
    this.#add(init.expectedIntervalMs - deviation)
    this.#add(init.expectedIntervalMs + deviation)
  }

  #add(interval: number): void {
    if (this.#intervals.length < this.#windowSize) {
      this.#intervals.push(interval)
    } else {
      const old = this.#intervals[this.#next]!
      this.#sum -= old
      this.#sumSquares -= old * old
      this.#intervals[this.#next] = interval
      this.#next = (this.#next + 1) % this.#windowSize
    }
    this.#sum += interval
    this.#sumSquares += interval * interval
  }

  /** Records a heartbeat arriving at `nowMs` (a monotonic clock). */
  heartbeat(nowMs: number): void {
    if (this.#last !== undefined && nowMs > this.#last) this.#add(nowMs - this.#last)
    if (this.#last === undefined || nowMs > this.#last) this.#last = nowMs
  }

  /** Time of the last heartbeat, or undefined before the first. */
  get lastHeartbeatMs(): number | undefined {
    return this.#last
  }

  get meanMs(): number {
    return this.#sum / this.#intervals.length
  }

  get stdDeviationMs(): number {
    const n = this.#intervals.length
    const mean = this.#sum / n
    return Math.sqrt(Math.max(0, this.#sumSquares / n - mean * mean))
  }

  /** Suspicion at `nowMs`: 0 right after a heartbeat, growing with silence; capped at 100. */
  phi(nowMs: number): number {
    if (this.#last === undefined) return 0
    const elapsed = Math.max(0, nowMs - this.#last)
    const mean = this.meanMs + this.#pauseMs
    const std = Math.max(this.stdDeviationMs, this.#minStdMs)
    const y = (elapsed - mean) / std
    // logistic approximation of the normal CDF (Bowling et al. 2009), as Akka uses
    const e = Math.exp(-y * (1.5976 + 0.070566 * y * y))
    const phi = elapsed > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e))
    if (Number.isNaN(phi)) return MAX_REPORTED_PHI
    return Math.min(MAX_REPORTED_PHI, Math.max(0, phi))
  }
}
