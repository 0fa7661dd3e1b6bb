/**
 * Defect 7 of issue 16: a node measured intervals and local deadlines with the wall clock, so a wall-clock step (NTP,
 * a VM resume, an admin's `date -s`) put a deadline off by the size of the step, or fired it at once. Each test steps
 * `Date.now` by an hour (back or forward) while the monotonic clock (`performance.now`) moves as time really passes,
 * and checks the deadline keeps to the monotonic clock. Each fails on the wall-clock code.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import type { ChainReader } from '../../src/chain/index.ts'
import { createStorageNode, loadNodeOptions, type StorageNode } from '../../src/node/index.ts'
import { registryPeers } from '../../src/node/registry-peers.ts'
import { rejectHolder } from '../../src/node/repair/holder-check.ts'
import { RepairContext } from '../../src/node/repair/repair-context.ts'
import type { TrackedFile } from '../../src/node/repair/tracked-file.ts'
import { UploadReservations } from '../../src/node/upload-reservations.ts'
import { createMemoryPieceStore } from '../../src/storage/index.ts'
import { waitFor } from '../wait-for.ts'

const HOUR = 3_600_000

/**
 * Both clocks under the test's hand: `step(ms)` moves the wall clock only (an NTP step), `pass(ms)` moves both (time
 * passing); neither moves otherwise. With `frozen: false` both run as real time does (for tests that run a real node)
 * and `step` offsets the wall clock.
 */
function clocks(t: TestContext, frozen = true) {
  const realDateNow = Date.now.bind(Date)
  const realPerformanceNow = performance.now.bind(performance)
  let wallOffset = 0
  let monotonic = realPerformanceNow()
  const wallBase = realDateNow()
  t.mock.method(Date, 'now', () => (frozen ? wallBase : realDateNow()) + wallOffset)
  if (frozen) t.mock.method(performance, 'now', () => monotonic)
  return {
    step: (ms: number) => {
      wallOffset += ms
    },
    pass: (ms: number) => {
      wallOffset += ms
      monotonic += ms
    },
    realDateNow,
  }
}

describe('node intervals and deadlines keep to the monotonic clock (defect 7)', () => {
  it('an upload reservation lives its seconds: a step forward does not expire it, a step back does not extend it', (t) => {
    const clock = clocks(t)
    const reservations = new UploadReservations({ freeSpace: () => 1_000_000 })
    const answer = reservations.reserve('peer-a', 1_000, 60)
    assert.equal(answer.granted, true)
    // the answer's expiry leaves the node: on the wall clock
    if (answer.granted) assert.ok(Math.abs(answer.expiresAt - (Date.now() + 60_000)) < 1_000)
    clock.step(HOUR)
    assert.equal(reservations.reservedBy('peer-a'), 1_000, 'a wall-clock step forward of an hour expired it')
    clock.step(-2 * HOUR)
    clock.pass(59_000)
    assert.equal(reservations.reservedBy('peer-a'), 1_000)
    clock.pass(2_000)
    assert.equal(reservations.reservedBy('peer-a'), 0, 'a wall-clock step back of an hour kept it past its 60 s')
  })

  it('a holder rejected by the repair service is trusted again after failedPeerMs, whatever the wall clock does', (t) => {
    const clock = clocks(t)
    const context = new RepairContext(
      { pieceStore: createMemoryPieceStore(), network: () => ({ peerId: 'me' }) as never },
      { failedPeerMs: 30_000 },
    )
    const file = { key: 'bafy-file' } as TrackedFile
    rejectHolder(context, file, 'peer-b', 0, 'served wrong bytes')
    assert.equal(context.trusts('peer-b'), false)
    clock.step(HOUR)
    assert.equal(context.trusts('peer-b'), false, 'a wall-clock step forward ended the back-off at once')
    clock.step(-2 * HOUR)
    clock.pass(31_000)
    assert.equal(
      context.trusts('peer-b'),
      true,
      'a wall-clock step back of an hour made the back-off last an hour more',
    )
  })

  it('the Registry view is read again after its refresh interval after a step back of an hour', async (t) => {
    const clock = clocks(t)
    const reads = { count: 0 }
    const reader = {
      contracts: { registry: '0x0000000000000000000000000000000000000001' },
      readContract: async () => {
        reads.count++
        return []
      },
    } as unknown as ChainReader
    const registry = registryPeers(reader)
    await registry.source()
    assert.equal(reads.count, 1)
    await registry.source()
    assert.equal(reads.count, 1, 'a fresh view is not read again')
    clock.step(-HOUR)
    clock.pass(31_000)
    await registry.source()
    assert.equal(reads.count, 2, 'after a step back of an hour the view was not refreshed after 30 s')
    clock.step(2 * HOUR)
    await registry.source()
    assert.equal(reads.count, 2, 'a step forward made a fresh view stale')
  })

  it("a node's /health uptime keeps counting up when its wall clock steps back an hour; clockMs shows the step", async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cairn-monotonic-'))
    let node: StorageNode | undefined
    t.after(async () => {
      await node?.stop().catch(() => {})
      await rm(dataDir, { recursive: true, force: true })
    })
    const options = await loadNodeOptions(dataDir, {
      flags: { network: { devnet: true, mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'], apiPort: 0 } },
    })
    node = createStorageNode({ dataDir, options })
    const info = await node.start()
    const health = async () =>
      (await (await fetch(`${info.api}/health`)).json()) as { uptimeMs: number; clockMs: number }
    const before = await health()
    assert.ok(before.uptimeMs >= 0)
    const clock = clocks(t, false)
    clock.step(-HOUR)
    const after = await health()
    assert.ok(after.uptimeMs >= before.uptimeMs, `uptime fell from ${before.uptimeMs} to ${after.uptimeMs} ms`)
    assert.ok(after.uptimeMs < 60_000, `uptime ${after.uptimeMs} ms`)
    assert.ok(Math.abs(after.clockMs - (clock.realDateNow() - HOUR)) < 10_000, 'clockMs is the stepped wall clock')
    // the start time the node published stays a wall-clock time (node.json)
    assert.ok(Math.abs(info.startedAt - clock.realDateNow()) < 60_000)
  })

  it('a peer heartbeating through a step back of an hour of the wall clock is never declared dead', async (t) => {
    const dirs = await Promise.all([0, 1].map(() => mkdtemp(join(tmpdir(), 'cairn-monotonic-peer-'))))
    const nodes: StorageNode[] = []
    t.after(async () => {
      for (const node of nodes.reverse()) await node.stop().catch(() => {})
      for (const dir of dirs) await rm(dir, { recursive: true, force: true })
    })
    const start = async (dataDir: string, bootstrap: string[]) => {
      const options = await loadNodeOptions(dataDir, {
        flags: {
          network: {
            devnet: true,
            mdns: false,
            listen: ['/ip4/127.0.0.1/tcp/0'],
            apiPort: 0,
            heartbeatIntervalMs: 200,
            bootstrap,
          },
        },
      })
      const node = createStorageNode({ dataDir, options })
      nodes.push(node)
      return node.start()
    }
    const first = await start(dirs[0]!, [])
    const second = await start(
      dirs[1]!,
      first.multiaddrs.filter((m) => m.includes('/tcp/') && !m.includes('/ws')),
    )
    const views: string[] = []
    const stateOfFirst = async () => {
      const peers = (await (await fetch(`${second.api}/peers`)).json()) as Array<{ peerId: string; state: string }>
      const state = peers.find((p) => p.peerId === first.peerId)?.state ?? 'absent'
      views.push(state)
      return state
    }
    await waitFor(async () => (await stateOfFirst()) === 'alive', 20_000, 'the first node seen alive')
    const clock = clocks(t, false)
    clock.step(-HOUR)
    const seen = views.length
    // 25 looks, about 3 s (15 heartbeat intervals): a detector on the wall clock would see an hour of silence at once
    await waitFor(async () => (await stateOfFirst()) === 'dead' || views.length - seen >= 25, 30_000, 'views')
    assert.deepEqual(
      views.slice(seen).filter((state) => state !== 'alive'),
      [],
      'the peer was not seen alive throughout',
    )
  })

  it('a wall-clock timestamp read from disk becomes a monotonic time of the same age', async (t) => {
    const { monotonicFromWall, wallFromMonotonic } = await import('../../src/node/monotonic-clock.ts')
    const clock = clocks(t)
    const savedAt = Date.now() - 40_000
    const since = monotonicFromWall(savedAt)
    assert.equal(performance.now() - since, 40_000)
    clock.step(-HOUR)
    assert.equal(performance.now() - since, 40_000, 'the step does not change its age')
    // written back, it is its age before the wall clock's now
    assert.equal(wallFromMonotonic(since), Date.now() - 40_000)
    // a timestamp in the future (written before a step back) counts as now, not as a deadline an hour away
    assert.equal(monotonicFromWall(Date.now() + HOUR), performance.now())
  })
})
