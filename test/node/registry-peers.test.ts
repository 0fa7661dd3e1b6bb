/**
 * Finding 3 of issue 12: only Registry-active staked nodes count as holders, repair targets and protected peers, so a
 * node must read every active node of the Registry, not its first page: a staked node beyond the first 200 was taken
 * for an unstaked stranger. The reader is a fake answering `activeNodes(offset, count)` as the Registry does.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { stringToHex } from 'viem'
import type { ChainReader } from '../../src/chain/index.ts'
import { REGISTRY_PEERS_MAX, registryPeers } from '../../src/node/registry-peers.ts'

/** A Registry of `count` active nodes; counts the reads. */
function fakeRegistry(count: number) {
  const nodes = Array.from({ length: count }, (_, i) => ({
    account: `0x${(i + 1).toString(16).padStart(40, '0')}`,
    status: 1,
    stake: 1_000n,
    pricePerByteEpoch: 1n,
    capacity: BigInt(1_000 + i),
    unbondAt: 0n,
    activeSlots: 0,
    missedProofs: 0,
    lastProvedEpoch: 0n,
    hasProved: false,
    peerId: stringToHex(`12D3KooWNode${i}`),
    multiaddrs: [`/ip4/10.0.${i >> 8}.${i & 255}/tcp/4001`],
  }))
  const reads = { count: 0 }
  const reader = {
    contracts: { registry: '0x0000000000000000000000000000000000000001' },
    readContract: async ({ functionName, args }: { functionName: string; args: [bigint, bigint] }) => {
      assert.equal(functionName, 'activeNodes')
      reads.count++
      const [offset, size] = args.map(Number) as [number, number]
      return nodes.slice(offset, offset + size)
    },
  } as unknown as ChainReader
  return { reader, reads }
}

describe('registry peers read every active node (finding 3)', () => {
  it('a staked node far beyond the first 200 counts as staked, with its registered capacity and endpoints', async () => {
    const { reader } = fakeRegistry(1_234)
    const registry = registryPeers(reader)
    const addresses = await registry.source()
    assert.equal(registry.isStaked('12D3KooWNode1000'), true)
    assert.equal(registry.capacityOf('12D3KooWNode1233'), 2_233n)
    assert.equal(registry.isStaked('12D3KooWStranger'), false)
    assert.equal(addresses.length, 1_234)
    assert.ok(addresses.includes('/ip4/10.0.4.176/tcp/4001/p2p/12D3KooWNode1200'))
  })

  it('the read is bounded: at most REGISTRY_PEERS_MAX nodes, in pages', async () => {
    const { reader, reads } = fakeRegistry(REGISTRY_PEERS_MAX + 500)
    const registry = registryPeers(reader)
    assert.equal((await registry.source()).length, REGISTRY_PEERS_MAX)
    assert.ok(reads.count <= REGISTRY_PEERS_MAX / 100 + 1, `${reads.count} reads`)
  })
})
