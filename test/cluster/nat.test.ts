/**
 * NAT traversal across the namespace cluster: six storage nodes on three /24 subnets and one behind an nftables NAT
 * (no inbound route). The NATed node learns it is not reachable and holds a relay reservation with a /p2p-circuit
 * address; a client on the user host reserves room, stores pieces and fetches them back byte-equal over the relayed
 * connection; a reachable client's relayed connection is then replaced by a direct one (DCUtR's unilateral upgrade).
 * Skips, saying why, where network namespaces cannot be made (not root, no `ip`/`nft`/`tc`).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { waitFor } from '../wait-for.ts'
import { type Cluster, type ClusterProcess, createCluster, namespaceSupport } from './cluster.ts'

const skip = namespaceSupport()
const PORT = 4001

interface Health {
  peerId: string
  multiaddrs: string[]
}

async function startNode(cluster: Cluster, host: string, dir: string, bootstrap: string[]) {
  const argv = ['cairn', 'node', 'start', '--dir', join(dir, host), '--listen', `/ip4/0.0.0.0/tcp/${PORT}`, '--lan']
  argv.push('--no-mdns', '--api-port', '0', ...bootstrap.flatMap((b) => ['--bootstrap', b]))
  const node = cluster.spawn(host, argv)
  const line = await node.waitForLine((l) => l.includes('"event":"ready"'), 60_000)
  const ready = JSON.parse(line) as { peerId: string; api: string }
  return { process: node, peerId: ready.peerId, api: ready.api, host }
}

describe('NAT traversal in the namespace cluster', { skip: skip === undefined ? false : skip }, () => {
  test('a node behind NAT is reached through a relay, stores and serves pieces, then is upgraded to direct', {
    timeout: 180_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-nat-'))
    const cluster = await createCluster({ bandwidth: '100mbit' })
    const processes: ClusterProcess[] = []
    try {
      const first = await startNode(cluster, 'n1', dir, [])
      processes.push(first.process)
      const seed = `/ip4/${cluster.host('n1').address}/tcp/${PORT}/p2p/${first.peerId}`
      const others = await Promise.all(
        ['n2', 'n3', 'n4', 'n5', 'n6'].map((host) => startNode(cluster, host, dir, [seed])),
      )
      processes.push(...others.map((o) => o.process))
      const natted = await startNode(cluster, 'nat1', dir, [seed])
      processes.push(natted.process)

      const health = await waitFor(
        async () => {
          const h = (await cluster.getJson('nat1', `${natted.api}/health`)) as Health
          return h.multiaddrs.some((a) => a.includes('/p2p-circuit')) && h
        },
        60_000,
        'the NATed node to announce a /p2p-circuit address',
      )
      const circuit = health.multiaddrs.find((a) => a.includes('/p2p-circuit')) as string
      // the relay is one of the public storage nodes, reached on its subnet address
      const relayId = circuit.split('/p2p-circuit')[0]?.split('/p2p/')[1]
      assert.ok(
        [first, ...others].some((n) => n.peerId === relayId),
        `relay ${relayId} is a public node`,
      )
      assert.ok(!health.multiaddrs.some((a) => a.includes('10.13.100.2')), 'the NAT address is not announced')

      const result = await cluster.run(
        'user',
        ['node', 'test/cluster/fixtures/nat-client.ts', JSON.stringify({ circuit, peerId: natted.peerId })],
        { timeoutMs: 90_000 },
      )
      assert.equal(result.code, 0, `the client failed:\n${result.stdout}\n${result.stderr}`)
      const seen = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}')
      assert.equal(
        seen.reservation.granted,
        true,
        `upload reservation over the relay: ${JSON.stringify(seen.reservation)}`,
      )
      assert.deepEqual(seen.equal, [true, true], 'pieces fetched back over the relay are byte-equal')
      assert.ok(seen.relayed.length > 0, 'the dial-only client is connected')
      for (const connection of seen.relayed) {
        assert.ok(
          connection.limited && connection.remoteAddr.includes('/p2p-circuit'),
          'the exchange went through the relay',
        )
      }
      assert.ok(seen.direct.length > 0, 'the reachable client ends with a direct connection')
      for (const connection of seen.direct) {
        assert.ok(
          !connection.limited && connection.remoteAddr.includes('/ip4/10.13.100.2/tcp/'),
          'direct, from the NAT',
        )
      }
      assert.equal(seen.afterUpgrade, true, 'a piece fetched over the direct connection is byte-equal')
    } catch (error) {
      for (const p of processes) process.stderr.write(`--- ${p.host}\n${p.output().slice(-3000)}\n`)
      throw error
    } finally {
      await cluster.destroy()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
