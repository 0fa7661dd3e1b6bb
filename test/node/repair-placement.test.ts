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

  it('chooses a live non-holder in another /24 first, then the most free space', () => {
    const holders = [view('h1', '10.0.1.1'), view('h2', '10.0.2.1')]
    const peers = [
      ...holders,
      view('same-range-big', '10.0.1.9', 'alive', 9000),
      view('other-range', '10.0.3.1', 'alive', 10),
      view('dead-other', '10.0.4.1', 'dead', 99999),
    ]
    const exclude = new Set(['h1', 'h2'])
    assert.equal(chooseRepairTarget(peers, holders, exclude)?.peerId, 'other-range')
    assert.equal(
      chooseRepairTarget(peers, holders, new Set([...exclude, 'other-range']))?.peerId,
      'same-range-big',
      'falls back to a shared /24 when no other range has a live node',
    )
    assert.equal(chooseRepairTarget(holders, holders, exclude), undefined)
  })
})
