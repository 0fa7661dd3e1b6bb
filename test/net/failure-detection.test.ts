import assert from 'node:assert/strict'
import { test } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerView } from '../../src/net/index.ts'
import { connect, startNode, stopAll, waitFor } from './fixtures/hosts.ts'
import { spawnHost } from './fixtures/spawn-host.ts'

test('a host killed with SIGKILL is marked dead within 10 s; live hosts stay alive', async (t) => {
  // the real-network default interval (2 s), not the devnet's 1 s
  const heartbeatIntervalMs = 2000
  const watcher = await startNode({ heartbeatIntervalMs })
  const live = await startNode({ heartbeatIntervalMs })
  const victim = await spawnHost({ heartbeatIntervalMs })
  t.after(async () => {
    if (victim.child.exitCode === null) victim.child.kill('SIGKILL')
    await stopAll([watcher, live])
  })
  await watcher.network.libp2p.dial(multiaddr(victim.multiaddrs[0]!))
  await connect(watcher.network, live.network)
  watcher.network.watch([victim.peerId, live.network.peerId])

  const events: PeerView[] = []
  watcher.network.addEventListener('peer:state', (event) => events.push(event.detail))
  await waitFor(
    () => watcher.network.peers().filter((p) => p.state === 'alive').length === 2,
    15_000,
    'both peers alive',
  )
  const victimView = watcher.network.peers().find((p) => p.peerId === victim.peerId)
  assert.equal(victimView?.freeSpace, 5_000_000)
  assert.equal(victimView?.version, 'child-1')
  assert.ok((victimView?.multiaddrs.length ?? 0) > 0)

  // let a few heartbeats pass so the detector learns the interval, then kill
  await new Promise((resolve) => setTimeout(resolve, 3 * heartbeatIntervalMs))
  const killedAt = performance.now()
  victim.child.kill('SIGKILL')
  await waitFor(
    () => events.some((e) => e.peerId === victim.peerId && e.state === 'dead'),
    12_000,
    'a peer:state event marking the killed host dead',
  )
  const detectedMs = performance.now() - killedAt
  assert.ok(detectedMs < 10_000, `dead after ${Math.round(detectedMs)} ms`)
  assert.equal(watcher.network.peers().find((p) => p.peerId === victim.peerId)?.state, 'dead')
  assert.equal(watcher.network.peers().find((p) => p.peerId === live.network.peerId)?.state, 'alive')
  assert.ok(
    !events.some((e) => e.peerId === live.network.peerId && e.state !== 'alive'),
    'the live peer was never suspected',
  )
  t.diagnostic(`SIGKILL detected after ${Math.round(detectedMs)} ms at a ${heartbeatIntervalMs} ms interval`)
})
