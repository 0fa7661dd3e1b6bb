/**
 * Finding 6 of issue 12 (heartbeat ordering): heartbeats were ordered by the sender's wall clock, so a node whose
 * clock stepped back was ignored and declared dead. They are now ordered by a per-boot sequence (random boot ID and
 * a counter); a restarted node (new boot ID) is accepted, replays of an older boot are not.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { decodeHeartbeat, encodeHeartbeat, type Heartbeat } from '../../src/net/index.ts'
import { PeerHealth } from '../../src/net/peer-health.ts'
import { startNode, stopAll, waitFor } from './fixtures/hosts.ts'
import { spawnHost } from './fixtures/spawn-host.ts'

describe('heartbeats ordered by a per-boot sequence', () => {
  test('a host restarted after its clock stepped back an hour is alive again at once', async (t) => {
    const key = await generateKeyPair('Ed25519')
    const privateKeyHex = Buffer.from(privateKeyToProtobuf(key)).toString('hex')
    const watcher = await startNode({ heartbeatIntervalMs: 500 })
    // first boot: the host's clock runs an hour fast
    const first = await spawnHost({ heartbeatIntervalMs: 500, privateKeyHex, clockOffsetMs: 3_600_000 })
    let second: Awaited<ReturnType<typeof spawnHost>> | undefined
    t.after(async () => {
      for (const host of [first, second]) if (host?.child.exitCode === null) host.child.kill('SIGKILL')
      await stopAll([watcher])
    })
    await watcher.network.libp2p.dial(multiaddr(first.multiaddrs[0]!))
    watcher.network.watch([first.peerId])
    const alive = () => watcher.network.peers().find((p) => p.peerId === first.peerId)?.state === 'alive'
    await waitFor(alive, 10_000, 'the first boot to be alive')
    await new Promise((resolve) => setTimeout(resolve, 1500))
    first.child.kill('SIGKILL')
    await waitFor(() => !alive(), 10_000, 'the killed boot to be suspected')
    // second boot, same key: NTP has corrected the clock, which is now an hour behind what the watcher last saw
    second = await spawnHost({ heartbeatIntervalMs: 500, privateKeyHex })
    assert.equal(second.peerId, first.peerId)
    await watcher.network.libp2p.dial(multiaddr(second.multiaddrs[0]!))
    await waitFor(alive, 8000, 'the restarted host to be alive again')
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const view = watcher.network.peers().find((p) => p.peerId === first.peerId)
    assert.equal(view?.state, 'alive')
    assert.ok((view?.lastSeenMs ?? Infinity) < 1500, `last heartbeat ${view?.lastSeenMs} ms ago`)
  })

  test('a restarted host (same key, new boot) is accepted at once; its old boot cannot be replayed (unit)', async () => {
    const key = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key).toString()
    const beat = async (bootId: string, sequence: number): Promise<Heartbeat> =>
      await decodeHeartbeat(
        await encodeHeartbeat({ peerId, bootId, sequence, intervalMs: 1000, storage: true, version: 'v' }, key),
      )
    const health = new PeerHealth({ phiThreshold: 8 })
    const oldBoot = randomBytes(8).toString('hex')
    const newBoot = randomBytes(8).toString('hex')
    const first = await beat(oldBoot, 500)
    health.record(first, 0)
    assert.equal(health.record(await beat(oldBoot, 501), 1000), undefined)
    assert.equal(health.get(peerId)?.detector.lastHeartbeatMs, 1000, 'the next sequence is accepted')
    health.record(first, 2000)
    assert.equal(health.get(peerId)?.detector.lastHeartbeatMs, 1000, 'a replayed sequence is ignored')
    health.record(await beat(newBoot, 1), 3000)
    assert.equal(health.get(peerId)?.detector.lastHeartbeatMs, 3000, 'a new boot starting at 1 is accepted')
    assert.equal(health.get(peerId)?.bootId, newBoot)
    health.record(await beat(oldBoot, 900), 4000)
    assert.equal(health.get(peerId)?.detector.lastHeartbeatMs, 3000, 'a heartbeat of the superseded boot is ignored')
    assert.equal(health.get(peerId)?.bootId, newBoot)
  })
})
