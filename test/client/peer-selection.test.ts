import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { mergePeerViews } from '../../src/client/index.ts'
import { addressRange, orderForPlacement, type PeerView } from '../../src/node/index.ts'

const peer = (peerId: string, address: string, state: PeerView['state'] = 'alive'): PeerView => ({
  peerId,
  state,
  lastSeenMs: 0,
  multiaddrs: [address],
})

describe('placement order', () => {
  it('groups addresses by /24 (IPv4) and /48 (IPv6)', () => {
    assert.equal(addressRange(peer('a', '/ip4/192.168.7.9/tcp/1')), 'ip4:192.168.7')
    assert.equal(addressRange(peer('a', '/ip6/2001:db8:1:2::1/tcp/1')), 'ip6:2001:db8:1')
    assert.equal(addressRange({ peerId: 'z', multiaddrs: ['/dns4/x.example/tcp/1'] }), 'peer:z')
  })

  it('the first n peers are distinct and cover min(n, ranges) ranges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 254 })), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.integer({ min: 1, max: 30 }),
        (hosts, n) => {
          const peers = hosts.map(([range, host], i) => peer(`p${i}`, `/ip4/10.0.${range}.${host}/tcp/1`))
          const ordered = orderForPlacement(peers)
          assert.equal(ordered.length, peers.length)
          assert.equal(new Set(ordered.map((p) => p.peerId)).size, peers.length)
          const first = ordered.slice(0, n)
          const ranges = new Set(peers.map(addressRange))
          assert.equal(new Set(first.map(addressRange)).size, Math.min(first.length, ranges.size))
        },
      ),
    )
  })
})

describe('placement is not bought with claims', () => {
  it('a peer advertising 1 PB of free space is placed no more often than any other of its range', () => {
    // Ten nodes of one /24; one says it has 1 PB free (heartbeats are self-reported: anyone can say that).
    const peers = Array.from({ length: 10 }, (_, i) => ({
      ...peer(`p${i}`, `/ip4/10.0.0.${i + 1}/tcp/1`),
      freeSpace: i === 0 ? 1e15 : 1e9,
    }))
    let liarFirst = 0
    const rounds = 400
    for (let round = 0; round < rounds; round++) {
      if (orderForPlacement(peers)[0]!.peerId === 'p0') liarFirst++
    }
    // Placed first about 1 time in 10, as every node of the range: never always.
    assert.ok(liarFirst < rounds / 4, `the liar came first ${liarFirst} times out of ${rounds}`)
  })
})

describe('merging peer views', () => {
  it('takes the state most views report, the worse one on a tie', () => {
    const merged = mergePeerViews([
      [peer('a', '/ip4/1.1.1.1/tcp/1'), peer('b', '/ip4/1.1.1.2/tcp/1', 'dead')],
      [peer('a', '/ip4/1.1.1.1/tcp/1'), peer('b', '/ip4/1.1.1.2/tcp/1', 'alive')],
      [peer('a', '/ip4/1.1.1.1/tcp/1', 'suspect')],
    ])
    assert.deepEqual(
      merged.map((p) => [p.peerId, p.state]),
      [
        ['a', 'alive'],
        ['b', 'dead'],
      ],
    )
  })
})
