import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { PeerView } from '../../src/net/index.ts'
import { assignSlots, chooseRepairTarget, repairerOrder } from '../../src/node/repair/repair-placement.ts'

const PEERS: string[] = ['a', 'b', 'c', 'd', 'e']

const view = (peerId: string, ip: string, state: PeerView['state'] = 'alive', freeSpace = 1000): PeerView => ({
  peerId,
  state,
  lastSeenMs: 0,
  phi: 0,
  multiaddrs: [`/ip4/${ip}/tcp/4001`],
  freeSpace,
})

describe('repair placement', () => {
  it('assigns distinct live holders and leaves a slot whose only holder died lost', () => {
    const live = (p: string) => p !== 'dead'
    assert.deepEqual(assignSlots([['a'], ['dead'], ['c']], ['a', 'dead', 'c'], live), ['a', null, 'c'])
  })

  it('k = 1: copies held by every holder fill distinct slots, the previous assignment kept', () => {
    const holders = [
      ['a', 'b'],
      ['a', 'b'],
      ['a', 'b'],
    ]
    assert.deepEqual(
      assignSlots(holders, [null, 'b', null], () => true),
      ['a', 'b', null],
    )
  })

  it('never gives one peer two slots nor a slot to a dead peer or a non-holder (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom(...PEERS), { maxLength: 4 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.option(fc.constantFrom(...PEERS)), { maxLength: 6 }),
        fc.constantFrom(...PEERS),
        (holders, previous, dead) => {
          const out = assignSlots(holders, previous, (p) => p !== dead)
          const used = out.filter((p) => p !== null)
          assert.equal(new Set(used).size, used.length)
          out.forEach((p, slot) => {
            if (p !== null) assert.ok(holders[slot]!.includes(p) && p !== dead)
          })
        },
      ),
    )
  })

  it('ranks repairers the same way whatever order the holders are listed in', () => {
    const holders = ['12D3KooWa', '12D3KooWb', '12D3KooWc', '12D3KooWd']
    const order = repairerOrder('bafyfile', holders)
    assert.deepEqual(repairerOrder('bafyfile', [...holders].reverse()), order)
    assert.deepEqual([...order].sort(), [...holders].sort())
    // Another file spreads the work: the first repairer is not always the same node.
    const firsts = new Set(Array.from({ length: 20 }, (_, i) => repairerOrder(`bafy${i}`, holders)[0]))
    assert.ok(firsts.size > 1)
  })

  it('chooses a live non-holder in another /24 first, then the largest Registry capacity', () => {
    const holders = [view('h1', '10.0.1.1'), view('h2', '10.0.2.1')]
    const peers = [
      ...holders,
      view('same-range-big', '10.0.1.9', 'alive', 9000),
      view('other-range', '10.0.3.1', 'alive', 10),
      view('other-range-2', '10.0.5.1', 'alive', 10),
      view('dead-other', '10.0.4.1', 'dead', 99999),
    ]
    const exclude = new Set(['h1', 'h2'])
    const capacity = new Map([
      ['other-range', 10n ** 12n],
      ['other-range-2', 2n * 10n ** 12n],
    ])
    const capacityOf = (p: string) => capacity.get(p)
    assert.equal(chooseRepairTarget(peers, holders, exclude, { capacityOf })?.peerId, 'other-range-2')
    assert.equal(
      chooseRepairTarget(peers, holders, new Set([...exclude, 'other-range', 'other-range-2']))?.peerId,
      'same-range-big',
      'falls back to a shared /24 when no other range has a live node',
    )
    assert.equal(chooseRepairTarget(holders, holders, exclude), undefined)
  })

  it('self-reported free space gives no preference: a peer advertising 1 PB is not chosen over others', () => {
    const holders = [view('h1', '10.0.1.1')]
    const honest = [view('n1', '10.0.2.1', 'alive', 1e9), view('n2', '10.0.3.1', 'alive', 1e9)]
    const liar = view('liar', '10.0.4.1', 'alive', 1e15)
    const { freeSpace: _, ...silent } = liar
    let liarChosen = 0
    for (let i = 0; i < 60; i++) {
      const key = `bafyfile${i}:0`
      const pick = chooseRepairTarget([...honest, liar], holders, new Set(['h1']), { key })?.peerId
      // The advertised figure changes nothing: the same pick as when the liar advertises no free space at all.
      assert.equal(pick, chooseRepairTarget([...honest, silent], holders, new Set(['h1']), { key })?.peerId)
      if (pick === 'liar') liarChosen++
    }
    assert.ok(liarChosen > 5 && liarChosen < 40, `the liar was chosen ${liarChosen} times of 60`)
  })

  it('/dns-only peers share one address group: a dns holder keeps dns-only candidates behind an IP in another /24', () => {
    const dns = (peerId: string, host: string): PeerView => ({
      ...view(peerId, '0.0.0.0'),
      multiaddrs: [`/dns4/${host}/tcp/4001`],
    })
    const holders = [view('h1', '10.0.1.1'), dns('h2', 'a.same-rack.example')]
    const peers = [dns('d1', 'b.same-rack.example'), dns('d2', 'c.other.example'), view('ip', '10.0.3.1')]
    for (let i = 0; i < 20; i++) {
      assert.equal(chooseRepairTarget(peers, holders, new Set(['h1', 'h2']), { key: `f${i}:1` })?.peerId, 'ip')
    }
    // With no IP candidate left, a dns-only peer still takes the slot rather than none.
    assert.match(chooseRepairTarget(peers.slice(0, 2), holders, new Set(['h1', 'h2']))?.peerId ?? '', /^d[12]$/)
  })
})
