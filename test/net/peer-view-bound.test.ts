/**
 * Finding 3 of issue 12 (peer view): gossiped presence of fresh keys is free; it used to fill the 10,000-peer view
 * with an O(n) scan per insert and to evict the peers heard from longest ago, established ones included. The view is
 * now bounded with O(1) eviction, and newcomers displace only peers of their own rank or below: staked (an injected
 * predicate), then established (heard from for a while), then fresh.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DEFAULT_ESTABLISHED_AFTER_MS, type Heartbeat, MAX_TRACKED_PEERS } from '../../src/net/index.ts'
import { PeerHealth } from '../../src/net/peer-health.ts'
import { connect, startNode, stopAll, type TestNode, waitFor } from './fixtures/hosts.ts'

const beat = (peerId: string, sequence: number): Heartbeat => ({
  peerId,
  bootId: '0000000000000001',
  sequence,
  intervalMs: 2000,
  storage: true,
  version: 'v',
})

describe('the bounded peer view', () => {
  test('a burst of fresh keys does not displace established peers (unit, full 10,000-peer view)', () => {
    const health = new PeerHealth({ phiThreshold: 8 })
    const established = Array.from({ length: MAX_TRACKED_PEERS }, (_, i) => `established-${i}`)
    for (const id of established) health.record(beat(id, 1), 0)
    const later = DEFAULT_ESTABLISHED_AFTER_MS + 1000
    for (const id of established) health.record(beat(id, 2), later)
    // a Sybil gossips presence for 10,000 fresh keys right after
    for (let i = 0; i < MAX_TRACKED_PEERS; i++) health.record(beat(`fresh-${i}`, 1), later + 500)
    const kept = established.filter((id) => health.get(id) !== undefined).length
    assert.equal(kept, MAX_TRACKED_PEERS, `${MAX_TRACKED_PEERS - kept} established peers were displaced`)
    assert.equal([...health.entries()].length, MAX_TRACKED_PEERS, 'the view stays bounded')
  })

  test('inserting into a full view costs O(1): no scan per insert (unit)', () => {
    const health = new PeerHealth({ phiThreshold: 8 })
    const fill = performance.now()
    for (let i = 0; i < MAX_TRACKED_PEERS; i++) health.record(beat(`first-${i}`, 1), i)
    const fillMs = performance.now() - fill
    const churn = performance.now()
    for (let i = 0; i < MAX_TRACKED_PEERS; i++) health.record(beat(`second-${i}`, 1), MAX_TRACKED_PEERS + i)
    const churnMs = performance.now() - churn
    assert.equal([...health.entries()].length, MAX_TRACKED_PEERS)
    assert.ok(health.get(`second-${MAX_TRACKED_PEERS - 1}`) !== undefined, 'the newest fresh key is tracked')
    assert.equal(health.get('first-0'), undefined, 'the fresh key heard from longest ago was evicted')
    assert.ok(
      churnMs < Math.max(5 * fillMs, 50),
      `10,000 inserts into a full view took ${churnMs.toFixed(0)} ms, filling it took ${fillMs.toFixed(0)} ms`,
    )
  })

  test('staked peers come first: unstaked peers, even established, never displace them (unit)', () => {
    const staked = new Set(['s1', 's2'])
    const health = new PeerHealth({ phiThreshold: 8, maxPeers: 3, isStaked: (id) => staked.has(id) })
    health.record(beat('s1', 1), 0)
    health.record(beat('s2', 1), 0)
    health.record(beat('u1', 1), 0)
    health.record(beat('u1', 2), DEFAULT_ESTABLISHED_AFTER_MS + 1) // u1 is now established but unstaked
    health.record(beat('u2', 1), DEFAULT_ESTABLISHED_AFTER_MS + 2) // a fresh unstaked key: refused, u1 ranks higher
    assert.deepEqual([...health.entries()].map((e) => e.peerId).sort(), ['s1', 's2', 'u1'])
    staked.add('s3')
    health.record(beat('s3', 1), DEFAULT_ESTABLISHED_AFTER_MS + 3) // a staked newcomer displaces the unstaked peer
    assert.deepEqual([...health.entries()].map((e) => e.peerId).sort(), ['s1', 's2', 's3'])
    health.record(beat('u3', 1), DEFAULT_ESTABLISHED_AFTER_MS + 4)
    assert.equal(health.get('u3'), undefined, 'a view full of staked peers refuses unstaked newcomers')
  })

  test('over real hosts: presence gossip of fresh keys cannot push a staked peer out of a full view', async (t) => {
    const nodes: TestNode[] = []
    t.after(() => stopAll(nodes))
    const staked = await startNode()
    nodes.push(staked)
    const stakedId = staked.network.peerId
    const viewer = await startNode({ peerView: { maxPeers: 2, isStaked: (id) => id === stakedId } })
    nodes.push(viewer)
    await connect(staked.network, viewer.network)
    await waitFor(() => viewer.network.peers().some((p) => p.peerId === stakedId), 10_000, 'the staked peer')
    for (let i = 0; i < 3; i++) {
      const sybil = await startNode()
      nodes.push(sybil)
      await connect(sybil.network, viewer.network)
    }
    const sybils = nodes.slice(2).map((n) => n.network.peerId)
    await waitFor(
      () => viewer.network.peers().some((p) => sybils.includes(p.peerId)),
      10_000,
      'a sybil to take the free slot',
    )
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const seen = viewer.network.peers().map((p) => p.peerId)
    assert.equal(seen.length, 2, `view: ${seen.join(', ')}`)
    assert.ok(seen.includes(stakedId), 'the staked peer is still in the view')
  })
})
