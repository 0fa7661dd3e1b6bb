/**
 * A page reaches a storage node behind NAT, in real Chromium inside the namespace cluster: public nodes on s1, s2 and
 * s3 (TCP and WebSockets, each a relay), one node behind the nftables NAT (no inbound route) listening on TCP and
 * `/webrtc`. The NATed node learns it is not reachable, reserves a relay slot and announces
 * `<relay>/p2p-circuit/webrtc/p2p/<node>`; Chromium, in the user host's namespace, loads a page (bundled with
 * src/net/browser-host.ts) from a static server on that host's 127.0.0.1. The page dials the relay over WebSockets,
 * exchanges SDP with the NATed node over the relayed stream, then holds a direct WebRTC connection to it (the node's
 * outbound ICE checks open the NAT mapping; no STUN server, host candidates only), reserves room, stores a piece and
 * fetches it back byte-equal over that connection, whose ICE candidate pair runs from the user host over UDP to a
 * peer-reflexive candidate, the node's NAT mapping (Chromium's own stats). Skips, saying why, without namespaces or
 * Chromium.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { addressTransport } from '../../src/net/index.ts'
import { bundlePage } from '../browser/page-bundle.ts'
import { chromiumSkip } from '../browser/page-server.ts'
import { waitFor } from '../wait-for.ts'
import { type Cluster, type ClusterProcess, createCluster, namespaceSupport } from './cluster.ts'
import type { NatResult } from './fixtures/nat-page.ts'

const skip = namespaceSupport() ?? chromiumSkip('browser NAT test')
const TCP = 4001
const WS = 4002
const PIECE_BYTES = 3 * 1024 * 1024

interface Health {
  peerId: string
  multiaddrs: string[]
}

async function startNode(cluster: Cluster, host: string, dir: string, listen: string[], bootstrap: string[]) {
  const argv = ['cairn', 'node', 'start', '--dir', join(dir, host), '--lan', '--no-mdns', '--api-port', '0']
  argv.push(...listen.flatMap((l) => ['--listen', l]), ...bootstrap.flatMap((b) => ['--bootstrap', b]))
  const node = cluster.spawn(host, argv)
  const line = await node.waitForLine((l) => l.includes('"event":"ready"'), 60_000)
  const ready = JSON.parse(line) as { peerId: string; api: string }
  return { process: node, peerId: ready.peerId, api: ready.api, host }
}

describe('a page reaches a node behind NAT over WebRTC signalled through a relay', { skip }, () => {
  test('Chromium stores and fetches a piece byte-equal over a direct WebRTC connection to the NATed node', {
    timeout: 240_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-browser-nat-'))
    const folder = join(dir, 'page')
    const processes: ClusterProcess[] = []
    let cluster: Cluster | undefined
    try {
      const bundle = bundlePage('../cluster/fixtures/nat-page.ts', folder, 'nat')
      cluster = await createCluster({ nodesPerSubnet: 1, bandwidth: '100mbit' })
      const c = cluster
      const publicListen = [`/ip4/0.0.0.0/tcp/${TCP}`, `/ip4/0.0.0.0/tcp/${WS}/ws`]
      const first = await startNode(c, 'n1', dir, publicListen, [])
      processes.push(first.process)
      const seed = `/ip4/${c.host('n1').address}/tcp/${TCP}/p2p/${first.peerId}`
      const others = await Promise.all(['n2', 'n3'].map((host) => startNode(c, host, dir, publicListen, [seed])))
      processes.push(...others.map((o) => o.process))
      const publicNodes = [first, ...others]
      const natted = await startNode(c, 'nat1', dir, [`/ip4/0.0.0.0/tcp/${TCP}`, '/webrtc'], [seed])
      processes.push(natted.process)

      // what a browser finds in the node's health (and so in the Registry): a relay-signalled WebRTC address
      const health = await waitFor(
        async () => {
          const h = (await c.getJson('nat1', `${natted.api}/health`)) as Health
          return h.multiaddrs.some((a) => addressTransport(a) === 'webrtc') && h
        },
        90_000,
        'the NATed node to announce a /p2p-circuit/webrtc address',
      )
      const announced = health.multiaddrs.filter((a) => addressTransport(a) === 'webrtc')
      for (const address of announced) assert.match(address, /\/p2p-circuit\/webrtc\/p2p\/12D3KooW\w+$/)
      assert.ok(!health.multiaddrs.some((a) => a.includes('10.13.100.2')), 'the NAT address is not announced')
      // a page dials the relay over WebSockets: the announced circuit on the relay's WebSocket address (not its
      // loopback one, which the Registry leaves out)
      const address =
        announced.find((a) => a.split('/p2p-circuit')[0]?.includes('/ws/') && !a.startsWith('/ip4/127.')) ??
        (() => {
          const relayId = announced[0]!.split('/p2p-circuit')[0]!.split('/p2p/')[1]
          const relay = publicNodes.find((n) => n.peerId === relayId)
          assert.ok(relay !== undefined, `relay ${relayId} is a public node`)
          const relayWs = `/ip4/${c.host(relay.host).address}/tcp/${WS}/ws/p2p/${relay.peerId}`
          return `${relayWs}/p2p-circuit/webrtc/p2p/${natted.peerId}`
        })()

      const built = await bundle
      assert.deepEqual(built.nodeOnly, [], 'the page links no Node built-in')
      const result = await c.run(
        'user',
        ['node', 'test/cluster/fixtures/browser-nat.ts', JSON.stringify({ folder, address, bytes: PIECE_BYTES })],
        { timeoutMs: 120_000 },
      )
      assert.equal(result.code, 0, `the page failed:\n${result.stdout}\n${result.stderr}`)
      const seen = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as NatResult
      assert.equal(seen.peerId, natted.peerId, 'the page reached the NATed node')
      assert.equal(seen.equal, true, 'the piece came back byte-equal')
      assert.equal(seen.stored, PIECE_BYTES)
      assert.equal(addressTransport(seen.dialled.remoteAddr), 'webrtc', `dialled: ${JSON.stringify(seen.dialled)}`)
      assert.equal(seen.dialled.limited, false, 'the dialled connection has no relay limits')
      assert.ok(seen.connections.length > 0, 'the page holds a connection to the NATed node')
      for (const connection of seen.connections) {
        assert.equal(addressTransport(connection.remoteAddr), 'webrtc', JSON.stringify(seen.connections))
        assert.equal(connection.limited, false, 'direct WebRTC, not a relayed limited connection')
      }
      // the ICE path Chromium used: UDP from the user host to a peer-reflexive candidate, an address Chromium learnt from
      // the node's own connectivity checks (the node's host candidate, 192.168.77.11, is unroutable from here, and
      // no STUN server exists): the NAT's mapping of the node (Chromium hides a prflx candidate's address in stats)
      const user = c.host('user').address
      assert.ok(
        seen.paths.some((p) => p.protocol === 'udp' && p.local.address === user && p.remote.type === 'prflx'),
        `a candidate pair from ${user} to the node's NAT mapping over UDP: ${JSON.stringify(seen.paths)}`,
      )
      const mbps = (ms: number) => (PIECE_BYTES / 1e6 / (ms / 1000)).toFixed(1)
      process.stderr.write(
        `page to NATed node (${JSON.stringify(seen.paths)}): dial ${seen.dialMs.toFixed(0)} ms, store ${mbps(seen.storeMs)} MB/s, fetch ${mbps(seen.fetchMs)} MB/s\n`,
      )
    } catch (error) {
      for (const p of processes) process.stderr.write(`--- ${p.host}\n${p.output().slice(-3000)}\n`)
      throw error
    } finally {
      await cluster?.destroy()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
