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
import { type ChainReader, createChainReader, getChainEvents, marketAbi } from '../../src/chain/index.ts'
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
  let reader: ChainReader
  let nodes: TestChain['clients']
  const figure = (functionName: 'emission' | 'epochRewards' | 'epochFees', epoch: number): Promise<bigint> =>
    reader.readContract({ address: reader.contracts.market, abi: marketAbi, functionName, args: [BigInt(epoch)] })

  before(async () => {
    chain = await startTestChain({ accounts: 4 })
    const user = chain.clients[1]!
    nodes = chain.clients.slice(2, 4)
    await registerNodes(nodes)
    reader = createChainReader({
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

  it("shows the bank: minted is the epoch's rewards (at most half the fees burned), not its emission budget", async () => {
    const bank = await view.bank()
    assert.equal(bank.epoch, provenEpoch)
    const epoch = bank.history.find((h) => h.epoch === provenEpoch)
    const [rewards, fees, budget] = await Promise.all([
      figure('epochRewards', provenEpoch),
      figure('epochFees', provenEpoch),
      figure('emission', provenEpoch),
    ])
    assert.ok(fees > 0n, 'the proof burned a fee')
    assert.ok(rewards < budget, 'the fees, not the budget, bound this epoch')
    assert.equal(epoch?.minted, rewards.toString(), 'minted is epochRewards')
    assert.ok(2n * BigInt(epoch?.minted ?? 0) <= fees, 'minted <= fees burned / 2')
    assert.equal(epoch?.burned, fees.toString(), 'burned is epochFees')
    assert.equal(epoch?.paid, (slots[0]!.size * PRICE).toString())
    assert.equal(bank.totalMinted, rewards.toString())
    assert.equal(bank.totalBurned, fees.toString())
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    const served = await api.bank()
    assert.deepEqual(served.history.at(-1), {
      epoch: provenEpoch,
      minted: `${rewards}`,
      burned: `${fees}`,
      paid: epoch?.paid,
    })
  })

  it("lists the deal's fees burned: the escrow drops by payment + fee, and deposit = escrow + paid + burned", async () => {
    const api = createApiClient({ url: gateway.url, token: gateway.token })
    const [deal] = (await api.deals()) as Array<Awaited<ReturnType<ChainView['deals']>>[number]>
    const [created] = await getChainEvents(reader, { contract: 'market', eventNames: ['DealCreated'], fromBlock: 0n })
    const deposit = created?.args.escrow as bigint
    const fees = await figure('epochFees', provenEpoch)
    assert.equal(deal?.burned, fees.toString(), "the deal's one proof burned the epoch's fees")
    assert.equal(BigInt(deal?.escrow ?? 0) + BigInt(deal?.paid ?? 0) + BigInt(deal?.burned ?? 0), deposit)
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

  // last: it proves a second slot, which changes the figures the tests above check
  it("does not freeze the running epoch's figures: a second proof in the same epoch raises minted and burned", async () => {
    const before = (await view.bank()).history.find((h) => h.epoch === provenEpoch)
    await proveHeld(nodes[1]!, dealId, 1, slots[1]!)
    const bank = await view.bank()
    assert.equal(bank.epoch, provenEpoch, 'still the same epoch')
    const after = bank.history.find((h) => h.epoch === provenEpoch)
    const [rewards, fees] = await Promise.all([figure('epochRewards', provenEpoch), figure('epochFees', provenEpoch)])
    assert.ok(fees > BigInt(before?.burned ?? 0), 'the second proof burned more')
    assert.equal(after?.minted, rewards.toString())
    assert.equal(after?.burned, fees.toString())
  })
})
