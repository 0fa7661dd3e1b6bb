import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import type { CID } from 'multiformats/cid'
import { UnreachableError } from '../../src/errors.ts'
import { HEARTBEAT_PROTOCOL, KAD_PROTOCOL, type Network, PEER_STORE_FILE, PIECE_PROTOCOL } from '../../src/net/index.ts'
import { pieceCid } from '../../src/storage/index.ts'
import { connect, startNode, stopAll, type TestNode, waitFor } from './fixtures/hosts.ts'

const tcpAddress = (network: Network) => network.multiaddrs().find((m) => !m.includes('/ws'))!
const connected = (a: Network, b: Network) => a.libp2p.getConnections(peerIdFromString(b.peerId)).length > 0

async function providersOf(network: Network, cid: CID): Promise<string[]> {
  const found: string[] = []
  for await (const peer of network.findProviders(cid, { signal: AbortSignal.timeout(10_000) })) found.push(peer)
  return found
}

describe('discovery', () => {
  test('the host runs the Cairn DHT, piece, heartbeat, relay and AutoNAT protocols; a client-only host serves none', async (t) => {
    const storage = await startNode()
    const client = await startNode({ serveStore: false })
    t.after(() => stopAll([storage, client]))
    const protocols = storage.network.libp2p.getProtocols()
    for (const expected of [KAD_PROTOCOL, PIECE_PROTOCOL, HEARTBEAT_PROTOCOL, '/libp2p/circuit/relay/0.2.0/hop']) {
      assert.ok(protocols.includes(expected), `${expected} in ${protocols.join(', ')}`)
    }
    assert.ok(
      protocols.some((p) => p.includes('autonat')),
      'AutoNAT',
    )
    assert.ok(protocols.includes('/meshsub/1.1.0') || protocols.some((p) => p.startsWith('/meshsub/')), 'gossipsub')
    const clientProtocols = client.network.libp2p.getProtocols()
    assert.ok(!clientProtocols.includes(PIECE_PROTOCOL), 'no piece handler on a client-only host')
    assert.ok(!clientProtocols.includes(KAD_PROTOCOL), 'DHT in client mode')
  })

  test('a host restarted with no bootstrap address rejoins through its persisted peer store', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cairn-net-'))
    const nodes: Array<TestNode | undefined> = []
    t.after(async () => {
      await stopAll(nodes)
      await rm(dataDir, { recursive: true, force: true })
    })
    const anchor = await startNode()
    nodes.push(anchor)
    const first = await startNode({ dataDir, bootstrap: [tcpAddress(anchor.network)] })
    nodes.push(first)
    await waitFor(() => connected(first.network, anchor.network), 10_000, 'bootstrap connection')
    await first.network.stop()
    const saved = JSON.parse(await readFile(join(dataDir, PEER_STORE_FILE), 'utf8')) as { peers: Array<{ id: string }> }
    assert.ok(
      saved.peers.some((p) => p.id === anchor.network.peerId),
      'the anchor is in the persisted snapshot',
    )
    await waitFor(() => !connected(anchor.network, first.network), 5000, 'the anchor to see the disconnect')

    // same key and data folder, an empty bootstrap list, a new port the anchor cannot know
    const again = await startNode({ dataDir, bootstrap: [], privateKey: first.key })
    nodes.push(again)
    await waitFor(() => connected(again.network, anchor.network), 10_000, 'reconnection from the persisted store')
  })

  test('peer sources (the chain registry seam) are dialled', async (t) => {
    const target = await startNode()
    const sourced = await startNode({ peerSources: [async () => [`${tcpAddress(target.network)}`]] })
    t.after(() => stopAll([target, sourced]))
    await waitFor(() => connected(sourced.network, target.network), 10_000, 'a connection to the sourced peer')
  })

  test('storage hosts learn of each other from presence gossip without watching', async (t) => {
    const a = await startNode()
    const b = await startNode()
    const client = await startNode({ serveStore: false })
    t.after(() => stopAll([a, b, client]))
    await connect(a.network, b.network)
    await connect(client.network, a.network)
    await waitFor(
      () => a.network.peers().some((p) => p.peerId === b.network.peerId && p.state === 'alive'),
      10_000,
      'a to hear b',
    )
    await waitFor(() => client.network.peers().length === 2, 10_000, 'the client to hear both storage hosts')
    assert.ok(
      !a.network.peers().some((p) => p.peerId === client.network.peerId),
      'a client-only host is not listed as a storage peer',
    )
    const bytes = randomBytes(100)
    await assert.rejects(
      a.network.storePiece(client.network.peerId, pieceCid(bytes), bytes),
      UnreachableError,
      'a client-only host serves no pieces',
    )
  })

  test('DHT provider records: a third host finds the holders, including pieces announced automatically', async (t) => {
    const a = await startNode()
    const b = await startNode()
    const c = await startNode()
    t.after(() => stopAll([a, b, c]))
    // a line: a - b - c; a and c never dial each other directly
    await connect(a.network, b.network)
    await connect(c.network, b.network)
    const manifest = randomBytes(2000)
    const manifestCid = pieceCid(manifest)
    await a.store.put(manifestCid, manifest)
    await waitFor(
      async () => {
        try {
          await a.network.provide(manifestCid, { signal: AbortSignal.timeout(5000) })
          return true
        } catch {
          return false
        }
      },
      15_000,
      'provide to succeed',
    )
    await waitFor(
      async () => (await providersOf(c.network, manifestCid)).includes(a.network.peerId),
      15_000,
      'c to find a as provider',
    )
    // a piece stored on b through the protocol is announced by b without being asked
    const piece = randomBytes(5000)
    const cid = pieceCid(piece)
    await c.network.storePiece(b.network.peerId, cid, piece)
    await waitFor(
      async () => (await providersOf(a.network, cid)).includes(b.network.peerId),
      15_000,
      'a to find b as provider of the stored piece',
    )
    const fetched = await a.network.fetchPiece(b.network.peerId, cid)
    assert.ok(Buffer.from(fetched).equals(piece))
  })
})
