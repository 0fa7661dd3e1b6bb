import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createCairnFileService } from '../../src/api/index.ts'
import { type Client, createMemoryFileRecordStore, type FileStatus } from '../../src/client/index.ts'
import type { PeerView } from '../../src/node/index.ts'

function statusWith(states: Array<{ state: 'alive' | 'suspect' | 'dead'; held: number }>, k: number): FileStatus {
  const slotsAlive = states.filter((s) => s.state === 'alive' && s.held === 2).length
  return {
    capability: 'cairn:bafyfile#key',
    manifestCid: 'bafyfile',
    size: 1000,
    k,
    n: states.length,
    readable: true,
    slotsAlive,
    segments: 2,
    segmentsReadable: slotsAlive >= k ? 2 : 0,
    repairs: [],
    slots: states.map((s, index) => ({ index, peerId: `peer-${index}`, state: s.state, held: s.held, pieces: 2 })),
  }
}

function fakeClient(status: FileStatus, views: PeerView[] = []): Client {
  return {
    nodes: async () => views,
    put: async () => {
      throw new Error('unused')
    },
    get: async function* () {},
    status: async () => status,
  }
}

describe('Cairn client adapter', () => {
  it('grades file health from the slots fully held by alive nodes', async () => {
    const alive = { state: 'alive' as const, held: 2 }
    const cases: Array<[FileStatus, string]> = [
      [statusWith([alive, alive, alive, alive], 2), 'healthy'],
      [statusWith([alive, alive, alive, { state: 'dead', held: 0 }], 2), 'degraded'],
      [statusWith([alive, alive, { state: 'suspect', held: 2 }, { state: 'dead', held: 0 }], 2), 'at-risk'],
      [
        statusWith([alive, { state: 'alive', held: 1 }, { state: 'dead', held: 0 }, { state: 'dead', held: 0 }], 2),
        'lost',
      ],
    ]
    for (const [status, health] of cases) {
      const files = createCairnFileService({ client: fakeClient(status), records: createMemoryFileRecordStore() })
      const answer = await files.status('cairn:bafyfile#key')
      assert.equal(answer.health, health)
      assert.equal(answer.segments, 2)
      assert.deepEqual(
        answer.slots.map((s) => s.peerId),
        status.slots.map((s) => s.peerId),
      )
    }
  })

  it('passes readable segments and a running repair through to the API', async () => {
    const status = statusWith(
      [
        { state: 'alive', held: 2 },
        { state: 'alive', held: 2 },
        { state: 'dead', held: 0 },
      ],
      1,
    )
    const repair = { slot: 2, from: 'peer-0', to: 'peer-9', done: 1, pieces: 2, startedAt: 5 }
    status.slots[2]!.repair = repair
    status.repairs = [repair]
    const answer = await createCairnFileService({
      client: fakeClient(status),
      records: createMemoryFileRecordStore(),
    }).status('cairn:bafyfile#key')
    assert.equal(answer.health, 'degraded')
    assert.equal(answer.segmentsReadable, 2)
    assert.deepEqual(answer.slots[2]!.repair, { from: 'peer-0', to: 'peer-9', done: 1, pieces: 2 })
    assert.equal(answer.slots[0]!.repair, undefined)
  })

  it('lists configured nodes that nobody sees as dead, in configuration order, with usage', async () => {
    const views: PeerView[] = [
      { peerId: 'peer-b', state: 'alive', lastSeenMs: 200, multiaddrs: ['/ip4/127.0.0.1/tcp/2'] },
    ]
    const files = createCairnFileService({
      records: createMemoryFileRecordStore(),
      client: fakeClient(statusWith([], 1), views),
      knownNodes: () => [
        { peerId: 'peer-a', label: 'node-0', multiaddrs: ['/ip4/127.0.0.1/tcp/1'] },
        { peerId: 'peer-b', label: 'node-1', usage: async () => ({ pieces: 7, bytes: 7000 }) },
      ],
    })
    const nodes = await files.nodes()
    assert.deepEqual(
      nodes.map((n) => [n.label, n.state, n.pieces]),
      [
        ['node-0', 'dead', undefined],
        ['node-1', 'alive', 7],
      ],
    )
    assert.ok(Math.abs(Date.now() - 200 - (nodes[1]?.lastHeartbeat ?? 0)) < 1000)
  })
})
