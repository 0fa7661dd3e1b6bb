import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  type CairnEvent,
  type ChainView,
  createApiClient,
  createChainView,
  createGateway,
  type FileService,
  type Gateway,
  withChainView,
} from '../../src/api/index.ts'
import { createChainReader } from '../../src/chain/index.ts'
import {
  holdSlot,
  MIN_STAKE,
  openDeal,
  PRICE,
  proveHeld,
  registerNodes,
  slotData,
  startTestChain,
  type TestChain,
} from '../chain/harness.ts'
import { createMemoryFileService } from './memory-file-service.ts'

describe('chain view: node stake and earnings, deals, wallet, bank and proof events from a real chain', () => {
  let chain: TestChain
  let view: ChainView
  let gateway: Gateway
  let dataDir: string
  const events: CairnEvent[] = []
  let stopEvents: () => void = () => {}
  const slots = [holdSlot(slotData(5000, 1)), holdSlot(slotData(3000, 2))]
  let dealId: bigint
  let provenEpoch: number

  before(async () => {
    chain = await startTestChain({ accounts: 4 })
    const user = chain.clients[1]!
    const nodes = chain.clients.slice(2, 4)
    await registerNodes(nodes)
    const reader = createChainReader({
      rpcUrl: chain.devchain.rpcUrl,
      chainId: chain.devchain.chainId,
      contracts: chain.devchain.contracts,
      pollingInterval: 20,
    })
    view = createChainView({ reader }, { account: user.account.address, cacheMs: 0 })
    stopEvents = view.subscribe((event) => events.push(event))
    dealId = await openDeal(user, nodes, slots)
    provenEpoch = await chain.nextEpoch()
    await proveHeld(nodes[0]!, dealId, 0, slots[0]!)
    // a file service whose nodes are the registered ones (harness peer IDs 12D3KooWNode0/1)
    const memory = createMemoryFileService({ nodes: 0 })
    const files: FileService = {
      ...memory,
      nodes: async () => [
        { peerId: '12D3KooWNode0', state: 'alive', multiaddrs: [] },
        { peerId: '12D3KooWNode1', state: 'alive', multiaddrs: [] },
      ],
    }
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-api-chain-'))
    gateway = createGateway({ files: withChainView(files, view) }, { dataDir, port: 0, s3Port: false })
    await gateway.start()
  })
  after(async () => {
    stopEvents()
    await gateway?.stop()
    // viem uninstalls its log filters asynchronously after unwatch: let that finish before anvil stops
    await new Promise((resolve) => setTimeout(resolve, 300))
    await chain?.stop()
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
  })

  it('shows each node with its stake, last proof, proof count and earnings', async () => {
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    const nodes = await api.nodes()
    const [first, second] = nodes
    assert.equal(first?.chain?.stake, MIN_STAKE.toString())
    assert.equal(first?.chain?.status, 'active')
    assert.equal(first?.chain?.lastProofEpoch, provenEpoch)
    assert.equal(first?.chain?.proofsMade, 1)
    assert.equal(first?.chain?.earnings, (slots[0]!.size * PRICE).toString())
    assert.equal(second?.chain?.proofsMade, 0)
    assert.equal(second?.chain?.earnings, '0')
  })

  it('lists the deal with its escrow, what it paid, and who holds each slot', async () => {
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    const [deal] = await api.deals()
    assert.equal(deal?.id, dealId.toString())
    assert.equal(deal?.manifest, 'bafyreimanifest')
    assert.equal(deal?.paid, (slots[0]!.size * PRICE).toString())
    assert.deepEqual(
      deal?.slots.map((s) => [s.slot, s.peerId, s.lastProofEpoch]),
      [
        [0, '12D3KooWNode0', provenEpoch],
        [1, '12D3KooWNode1', undefined],
      ],
    )
    const wallet = await api.wallet()
    assert.equal(wallet.address, chain.clients[1]!.account.address)
    assert.equal(wallet.escrowLocked, deal?.escrow)
    assert.ok(BigInt(wallet.balance) > 0n)
  })

  it('shows the bank: emission minted in the proven epoch and the payment', async () => {
    const bank = await view.bank()
    assert.equal(bank.epoch, provenEpoch)
    const epoch = bank.history.find((h) => h.epoch === provenEpoch)
    assert.ok(BigInt(epoch?.minted ?? 0) > 0n, 'the proven epoch minted its emission')
    assert.equal(epoch?.paid, (slots[0]!.size * PRICE).toString())
    assert.equal(bank.totalMinted, epoch?.minted)
  })

  it('pushes proof and payment events', async () => {
    const deadline = Date.now() + 10_000
    while (!events.some((e) => e.type === 'proof:submitted') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const proof = events.find((e) => e.type === 'proof:submitted')
    assert.ok(proof !== undefined, 'no proof:submitted event')
    assert.equal(proof.type === 'proof:submitted' && proof.peerId, '12D3KooWNode0')
    assert.ok(events.some((e) => e.type === 'payment' && e.amount === (slots[0]!.size * PRICE).toString()))
  })
})
