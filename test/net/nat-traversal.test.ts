/**
 * NAT traversal on 127.0.0.1: reachable nodes learn so from dial-back probes; a node nobody can dial (it listens on no
 * address, as behind a NAT) learns it is not reachable, reserves relay slots and announces /p2p-circuit addresses;
 * a client stores and fetches pieces through the relay; a reachable client's relayed connection is upgraded to a
 * direct one. The namespace cluster (test/cluster/nat.test.ts) runs the same through a real NAT.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Network } from '../../src/net/index.ts'
import { pieceCid } from '../../src/storage/index.ts'
import { connect, startNode, stopAll, type TestNode, waitFor } from './fixtures/hosts.ts'

const LAN = { devnet: false, mdns: false, allowPrivateAddresses: true } as const

function connectionsTo(from: Network, to: Network) {
  return from.libp2p.getConnections(peerIdFromString(to.peerId)).filter((c) => c.status === 'open')
}

describe('NAT traversal (dial-back, circuit relay v2, direct upgrade) on 127.0.0.1', () => {
  test('a node nobody can dial reserves a relay slot, serves pieces relayed, and upgrades to direct', async (t) => {
    const nodes: Array<TestNode | undefined> = []
    t.after(() => stopAll(nodes))
    const relays = [await startNode({ ...LAN }), await startNode({ ...LAN }), await startNode({ ...LAN })]
    nodes.push(...relays)
    await connect(relays[0]!.network, relays[1]!.network)
    await connect(relays[1]!.network, relays[2]!.network)
    await connect(relays[2]!.network, relays[0]!.network)
    for (const relay of relays) {
      await waitFor(
        () => relay.network.reachability().reachability === 'public',
        20_000,
        'a relay to learn it is public',
      )
    }

    const natted = await startNode({ ...LAN, listen: [] })
    nodes.push(natted)
    for (const relay of relays) await connect(natted.network, relay.network)
    const status = await waitFor(
      () => {
        const s = natted.network.reachability()
        return s.reachability === 'private' && s.relayAddresses.length > 0 && s
      },
      20_000,
      'the unreachable node to hold a relay reservation',
    )
    assert.ok(status.relays.every((id) => relays.some((r) => r.network.peerId === id)))
    assert.ok(
      natted.network.multiaddrs().some((a) => a.includes('/p2p-circuit')),
      'the circuit address is announced',
    )

    // a dial-only client (itself unreachable): every byte goes through the relay, over the default 128 KiB limit
    const client = await startNode({ ...LAN, serveStore: false, listen: [] })
    nodes.push(client)
    await client.network.libp2p.dial(multiaddr(status.relayAddresses[0]!))
    const pieces = [randomBytes(700_000), randomBytes(1_000)]
    const cids = pieces.map((piece) => pieceCid(piece))
    for (const [i, piece] of pieces.entries()) await client.network.storePiece(natted.network.peerId, cids[i]!, piece)
    for (const [i, piece] of pieces.entries()) {
      const copy = await client.network.fetchPiece(natted.network.peerId, cids[i]!)
      assert.ok(Buffer.from(copy).equals(piece), `piece ${i} came back different`)
    }
    const relayed = connectionsTo(client.network, natted.network)
    assert.ok(
      relayed.length > 0 &&
        relayed.every((c) => c.limits !== undefined && c.remoteAddr.toString().includes('/p2p-circuit')),
    )

    // a reachable client: the node behind the relay dials it directly and drops the relayed connection
    const reachable = await startNode({ ...LAN, serveStore: false })
    nodes.push(reachable)
    await reachable.network.libp2p.dial(multiaddr(status.relayAddresses[0]!))
    await waitFor(
      () => {
        const open = connectionsTo(reachable.network, natted.network)
        return (
          open.length > 0 &&
          open.every((c) => c.limits === undefined && !c.remoteAddr.toString().includes('/p2p-circuit'))
        )
      },
      20_000,
      'the relayed connection to be replaced by a direct one',
    )
    const copy = await reachable.network.fetchPiece(natted.network.peerId, cids[0]!)
    assert.ok(Buffer.from(copy).equals(pieces[0]!), 'the piece fetched over the direct connection differs')
  })

  test('devnet hosts run no probe and count as reachable', async (t) => {
    const node = await startNode()
    t.after(() => stopAll([node]))
    assert.deepEqual(node.network.reachability(), { reachability: 'public', relays: [], relayAddresses: [] })
    assert.equal(node.network.libp2p.services.reachability, undefined)
  })
})
