/**
 * Finding 5 of issue 12: replicas are byte-identical, so one operator holding two slots of a file keeps one copy. The
 * Market refuses a deal naming two nodes of one operator (DuplicateOperator); the client must place at most one slot
 * per operator, say which nodes it skipped when there are too few operators, and spread slots by the endpoints nodes
 * registered in the Registry rather than by the addresses they report in heartbeats.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { stringToHex } from 'viem'
import type { ChainClient } from '../../src/chain/index.ts'
import { createClient, makeStorageDeal, registeredNodes } from '../../src/client/index.ts'
import { NotEnoughNodesError } from '../../src/errors.ts'
import { FakeNetwork } from './fake-network.ts'

const OPERATOR_A = '0x00000000000000000000000000000000000000aa'

/** peer-0 and peer-1 are run by one operator; every other node is its own. */
const operatorOf = (peerId: string) => (peerId === 'peer-0' || peerId === 'peer-1' ? OPERATOR_A : `op-${peerId}`)

describe('a put places at most one slot per operator (finding 5)', () => {
  it('never gives two slots of one file to nodes of one operator', async () => {
    const network = new FakeNetwork(4)
    const client = createClient({ network })
    for (let round = 0; round < 20; round++) {
      const put = await client.put([randomBytes(100)], {
        k: 1,
        n: 3,
        placement: { operatorOf, endpointsOf: () => undefined },
      })
      const operators = put.slots.map((s) => operatorOf(s.peerId))
      assert.equal(new Set(operators).size, 3, `two slots for one operator: ${operators.join(' ')}`)
    }
  })

  it('with too few operators, refuses naming the skipped node, its operator and the fix', async () => {
    const network = new FakeNetwork(4)
    const client = createClient({ network })
    await assert.rejects(
      client.put([randomBytes(100)], { k: 1, n: 4, placement: { operatorOf, endpointsOf: () => undefined } }),
      (err: Error) => {
        assert.ok(err instanceof NotEnoughNodesError)
        assert.match(
          err.message,
          /^only 3 of the 4 live nodes that take this deal have distinct operators but --n 4 needs 4 \(the Market refuses two slots of one deal to one operator\): skipped peer-[01] \(operator 0x0+aa also runs peer-[01]\); start nodes of other operators or lower --n$/,
        )
        return true
      },
    )
  })

  it('spreads slots over the /24s of the endpoints registered in the Registry, not of heartbeat addresses', async () => {
    // Every node reports an address in one /24; the Registry holds endpoints in three /24s.
    const network = new FakeNetwork(6, (i) => `/ip4/10.9.9.${i + 1}/tcp/4001`)
    const registered = (peerId: string) => {
      const i = Number(peerId.slice('peer-'.length))
      return [`/ip4/10.0.${i % 3}.${i + 1}/tcp/4001`]
    }
    const client = createClient({ network })
    for (let round = 0; round < 10; round++) {
      const put = await client.put([randomBytes(100)], {
        k: 1,
        n: 3,
        placement: { operatorOf: (peerId) => peerId, endpointsOf: registered },
      })
      const ranges = put.slots.map((s) => registered(s.peerId)[0]!.split('.').slice(0, 3).join('.'))
      assert.equal(new Set(ranges).size, 3, `slots share a registered /24: ${ranges.join(' ')}`)
    }
  })
})

/** A Registry with nodes `peer-0..count-1` (accounts 0x..01, ..) and operators as `operatorOf` says. */
function fakeChain(count: number) {
  const account = (i: number) => `0x${(i + 1).toString(16).padStart(40, '0')}`
  const nodes = Array.from({ length: count }, (_, i) => ({
    account: account(i),
    status: 1,
    stake: 1_000n,
    pricePerByteEpoch: 1n,
    capacity: 10n ** 12n,
    unbondAt: 0n,
    activeSlots: 0,
    missedProofs: 0,
    lastProvedEpoch: 0n,
    hasProved: false,
    peerId: stringToHex(`peer-${i}`),
    multiaddrs: [`/ip4/10.0.${i}.1/tcp/4001`],
  }))
  const asked: string[] = []
  const client = {
    contracts: { registry: '0x0000000000000000000000000000000000000001' },
    chain: { id: 31337 },
    account: { address: '0x00000000000000000000000000000000000000c1' },
    readContract: async ({ functionName, args }: { functionName: string; args: unknown[] }) => {
      asked.push(functionName)
      if (functionName === 'activeNodes') {
        const [offset, size] = (args as bigint[]).map(Number) as [number, number]
        return nodes.slice(offset, offset + size)
      }
      if (functionName === 'operatorOf') {
        const i = nodes.findIndex((n) => n.account === args[0])
        return i === 0 || i === 1 ? OPERATOR_A : args[0]
      }
      throw new Error(`unexpected read ${functionName}`)
    },
  } as unknown as ChainClient
  return { client, asked }
}

describe('registeredNodes and the deal know each node operator (finding 5)', () => {
  it("registeredNodes' placement gives each node's operator and registered endpoints", async () => {
    const { client } = fakeChain(3)
    const { placement } = await registeredNodes(client)
    assert.equal(placement.operatorOf('peer-0')?.toLowerCase(), OPERATOR_A)
    assert.equal(placement.operatorOf('peer-1')?.toLowerCase(), OPERATOR_A)
    assert.equal(placement.operatorOf('peer-2')?.toLowerCase(), '0x0000000000000000000000000000000000000003')
    assert.deepEqual(placement.endpointsOf('peer-2'), ['/ip4/10.0.2.1/tcp/4001'])
  })

  it('a deal whose slots sit on nodes of one operator is refused before any node is asked to accept', async () => {
    const { client, asked } = fakeChain(3)
    const network = {
      slotAcceptance: async () => {
        throw new Error('no node should be asked')
      },
    }
    const put = {
      capability: 'x',
      manifestCid: 'bafy',
      size: 10,
      k: 1,
      n: 2,
      slots: [
        { index: 0, peerId: 'peer-0' },
        { index: 1, peerId: 'peer-1' },
      ],
      commitments: [
        { root: `0x${'11'.repeat(32)}`, size: 10 },
        { root: `0x${'22'.repeat(32)}`, size: 10 },
      ],
    }
    await assert.rejects(makeStorageDeal(client, put as never, { network: network as never }), (err: Error) => {
      assert.ok(err instanceof NotEnoughNodesError, String(err))
      assert.equal(
        err.message,
        `slots 0 and 1 are on nodes of one operator (${OPERATOR_A}: peer-0, peer-1) and the Market refuses such a deal (DuplicateOperator): put again with the placement of registeredNodes`,
      )
      return true
    })
    assert.ok(!asked.includes('createDeal'))
  })
})

describe('a node jailed while the pieces upload (chaos defect 10)', () => {
  it('its slot moves to an active spare before the deal, which then holds every piece of it', async () => {
    const network = new FakeNetwork(5)
    const client = createClient({ network })
    const bytes = randomBytes(300_000)
    let first: string[] = []
    const put = await client.put([bytes], {
      k: 2,
      n: 3,
      segmentSize: 64 * 1024,
      onProgress: (e) => {
        if (e.type === 'put:placement') first = e.slots.map((s) => s.peerId)
      },
      // The node of slot 1 is jailed during the upload: the Registry read again no longer lists it.
      placement: {
        operatorOf: () => undefined,
        endpointsOf: () => undefined,
        stillActive: async () => (p) => p !== first[1],
      },
    })
    assert.equal(put.slots[0]!.peerId, first[0])
    assert.notEqual(put.slots[1]!.peerId, first[1])
    assert.ok(!first.includes(put.slots[1]!.peerId))
    // Only the new node of slot 1 and the node of slot 2 are up: the file reads back from them alone.
    network.node(first[1]!).down = true
    network.node(first[0]!).down = true
    const chunks: Uint8Array[] = []
    for await (const chunk of client.get(put.capability)) chunks.push(chunk)
    assert.deepEqual(Buffer.concat(chunks), bytes)
  })

  it('with no active spare left, the put fails naming the node, the slot and the fix', async () => {
    const network = new FakeNetwork(3)
    const client = createClient({ network })
    let first: string[] = []
    await assert.rejects(
      client.put([randomBytes(1_000)], {
        k: 1,
        n: 3,
        onProgress: (e) => {
          if (e.type === 'put:placement') first = e.slots.map((s) => s.peerId)
        },
        placement: {
          operatorOf: () => undefined,
          endpointsOf: () => undefined,
          stillActive: async () => (p) => p !== first[2],
        },
      }),
      (err: Error) => {
        assert.ok(err instanceof NotEnoughNodesError)
        assert.equal(
          err.message,
          `node ${first[2]} holds slot 2 but is no longer an active node of the Registry (jailed or unstaked during the upload) and no active spare node is left: put again`,
        )
        return true
      },
    )
  })
})
