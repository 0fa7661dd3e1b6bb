import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import type { CID } from 'multiformats/cid'
import { ProvideQueue } from '../../src/net/provide-queue.ts'
import { pieceCid } from '../../src/storage/index.ts'

/** A content router that records when each announcement starts and finishes after `durationMs`. */
function fakeRouting(durationMs = 0) {
  const started: Array<{ cid: string; at: number }> = []
  let running = 0
  let maxRunning = 0
  const libp2p = {
    contentRouting: {
      provide: async (cid: CID, options: { signal?: AbortSignal } = {}) => {
        started.push({ cid: cid.toString(), at: performance.now() })
        running++
        maxRunning = Math.max(maxRunning, running)
        try {
          await new Promise((resolve) => setTimeout(resolve, durationMs))
          options.signal?.throwIfAborted()
        } finally {
          running--
        }
      },
    },
  }
  return { libp2p: libp2p as never, started, maxRunning: () => maxRunning }
}

const cids = (count: number) => Array.from({ length: count }, () => pieceCid(randomBytes(64)))

describe('provide queue', () => {
  test('announcements start at least intervalMs apart, newest first, and each is announced once', async (t) => {
    const controller = new AbortController()
    t.after(() => controller.abort())
    const routing = fakeRouting()
    const queue = new ProvideQueue({ libp2p: routing.libp2p, signal: controller.signal, intervalMs: 60 })
    const [first, ...rest] = cids(4)
    // An idle queue announces at once; the rest are queued in the same turn, so they all wait behind its pacing
    // however slow the machine is (awaiting the first before adding let a loaded machine start rest[0] at once).
    const firstDone = queue.addAndWait(first!)
    for (const cid of rest) queue.add(cid)
    queue.add(rest[0]!) // a duplicate while waiting is not queued twice
    await firstDone
    while (queue.pending > 0 || routing.started.length < 4) await new Promise((resolve) => setTimeout(resolve, 10))
    await new Promise((resolve) => setTimeout(resolve, 150)) // room for a wrong extra announcement to show
    assert.deepEqual(
      routing.started.map((s) => s.cid),
      [first, rest[2], rest[1], rest[0]].map(String),
    )
    for (let i = 1; i < routing.started.length; i++) {
      const gap = routing.started[i]!.at - routing.started[i - 1]!.at
      // Node's timers run on the kernel's coarse monotonic clock, which can be one tick (up to 10 ms) behind
      // performance.now(); pacing within that tick is still pacing.
      assert.ok(gap >= 48, `announcement ${i} started ${gap.toFixed(1)} ms after the previous one`)
    }
  })

  test('at most `concurrency` announcements run at once; without pacing a backlog drains at that width', async (t) => {
    const controller = new AbortController()
    t.after(() => controller.abort())
    const routing = fakeRouting(30)
    const queue = new ProvideQueue({ libp2p: routing.libp2p, signal: controller.signal, intervalMs: 0, concurrency: 2 })
    const all = cids(6)
    await Promise.all(all.map((cid) => queue.addAndWait(cid)))
    assert.equal(routing.started.length, 6)
    assert.equal(routing.maxRunning(), 2)
    assert.equal(queue.pending, 0)
  })

  test('a full queue drops new CIDs (their waiters resolve) and a stopped queue announces nothing more', async () => {
    const controller = new AbortController()
    const routing = fakeRouting(20)
    const queue = new ProvideQueue({
      libp2p: routing.libp2p,
      signal: controller.signal,
      intervalMs: 10_000,
      maxPending: 1,
    })
    const [a, b, c] = cids(3)
    queue.add(a!) // starts at once
    queue.add(b!) // waits for the interval
    await queue.addAndWait(c!) // dropped: resolves without an announcement
    assert.deepEqual(
      routing.started.map((s) => s.cid),
      [String(a)],
    )
    controller.abort()
    const waited = queue.addAndWait(b!)
    await waited
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(
      routing.started.map((s) => s.cid),
      [String(a)],
    )
  })
})
