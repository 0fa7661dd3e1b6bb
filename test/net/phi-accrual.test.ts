import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { DEFAULT_PHI_THRESHOLD, PhiAccrualDetector, SUSPECT_PHI_RATIO } from '../../src/net/index.ts'
import { PeerHealth } from '../../src/net/peer-health.ts'

const THRESHOLD = DEFAULT_PHI_THRESHOLD

/** Feeds heartbeats at the given intervals; returns the detector and the time of the last heartbeat. */
function feed(intervalMs: number, jitters: number[]): { detector: PhiAccrualDetector; last: number; peak: number } {
  const detector = new PhiAccrualDetector({ expectedIntervalMs: intervalMs })
  let now = 1_000_000
  detector.heartbeat(now)
  let peak = 0
  for (const jitter of jitters) {
    const next = now + intervalMs * (1 + jitter)
    // the worst moment for a live peer: just before its next heartbeat lands
    peak = Math.max(peak, detector.phi(next - 1))
    now = next
    detector.heartbeat(now)
  }
  return { detector, last: now, peak }
}

/** First time (ms after `last`, in steps of 10 ms) at which phi reaches the threshold. */
function crossing(detector: PhiAccrualDetector, last: number, limitMs: number): number {
  for (let elapsed = 0; elapsed <= limitMs; elapsed += 10) {
    if (detector.phi(last + elapsed) >= THRESHOLD) return elapsed
  }
  return Number.POSITIVE_INFINITY
}

const jitter = fc.double({ min: -0.5, max: 0.5, noNaN: true })
const interval = fc.integer({ min: 100, max: 5000 })

describe('phi-accrual failure detector', () => {
  test('a live peer whose heartbeats jitter up to +-50% never reaches suspect, let alone the threshold', () => {
    fc.assert(
      fc.property(interval, fc.array(jitter, { minLength: 1, maxLength: 300 }), (intervalMs, jitters) => {
        const { peak } = feed(intervalMs, jitters)
        assert.ok(peak < THRESHOLD * SUSPECT_PHI_RATIO, `peak phi ${peak} for interval ${intervalMs}`)
      }),
      { numRuns: 300 },
    )
  })

  test('after silence, phi crosses the threshold within 4.7 intervals (under 10 s at the 2 s default)', () => {
    fc.assert(
      fc.property(interval, fc.array(jitter, { minLength: 0, maxLength: 300 }), (intervalMs, jitters) => {
        const { detector, last } = feed(intervalMs, jitters)
        const crossed = crossing(detector, last, 10 * intervalMs)
        assert.ok(crossed <= 4.7 * intervalMs, `crossed after ${crossed} ms at interval ${intervalMs}`)
        // and never before a heartbeat could merely be late (1.5 intervals)
        assert.ok(crossed > 1.5 * intervalMs, `crossed too early: ${crossed} ms at interval ${intervalMs}`)
      }),
      { numRuns: 300 },
    )
    const { detector, last } = feed(
      2000,
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 0.5 : -0.5)),
    )
    assert.ok(crossing(detector, last, 20_000) < 10_000)
  })

  test('phi is 0 right after a heartbeat and grows monotonically with silence', () => {
    const { detector, last } = feed(1000, [0, 0.1, -0.1, 0.2, -0.2])
    assert.equal(detector.phi(last), 0)
    let previous = 0
    for (let elapsed = 0; elapsed < 10_000; elapsed += 100) {
      const phi = detector.phi(last + elapsed)
      assert.ok(phi >= previous, `phi fell from ${previous} to ${phi} at ${elapsed} ms`)
      previous = phi
    }
    assert.equal(previous, 100) // capped, never Infinity
  })

  test('a configurable threshold: a lower one declares death sooner', () => {
    const { detector, last } = feed(1000, [0, 0, 0, 0])
    const health = new PeerHealth({ phiThreshold: 2 })
    let at = 0
    while (health.stateFor(detector.phi(last + at)) !== 'dead') at += 10
    assert.ok(at < crossing(detector, last, 20_000), 'threshold 2 fires before threshold 8')
  })

  test('PeerHealth ignores replayed heartbeats and reports transitions alive -> suspect -> dead -> alive', () => {
    const health = new PeerHealth({ phiThreshold: THRESHOLD })
    const beat = (sequence: number) => ({
      peerId: 'p',
      bootId: '00000000000000aa',
      sequence,
      intervalMs: 1000,
      storage: true,
      version: '1',
    })
    assert.equal(health.record(beat(1), 0)?.entry.state, 'alive')
    assert.equal(health.record(beat(2), 1000), undefined)
    assert.equal(health.record(beat(2), 1500), undefined, 'a duplicate sequence is ignored')
    assert.equal(health.get('p')?.detector.lastHeartbeatMs, 1000)
    const states: string[] = []
    for (let now = 1000; now < 10_000; now += 100) {
      for (const change of health.evaluate(now)) states.push(change.entry.state)
    }
    assert.deepEqual(states, ['suspect', 'dead'])
    assert.equal(health.record(beat(3), 10_000)?.entry.state, 'alive')
  })
})
