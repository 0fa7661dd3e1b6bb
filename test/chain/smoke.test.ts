import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  confirmSlot,
  createDeal,
  getBalances,
  getDeal,
  getNode,
  listActiveNodes,
  registerNode,
  submitProof,
  withdrawEarnings,
} from '../../src/chain/index.ts'
import {
  challengeOf,
  holdSlot,
  MIN_STAKE,
  PRICE,
  slotData,
  slotProof,
  startTestChain,
  type TestChain,
} from './harness.ts'

let chain: TestChain
before(async () => {
  chain = await startTestChain()
})
after(async () => {
  await chain?.stop()
})

test('smoke: register, deal, confirm, prove, withdraw', async () => {
  const [, user, n1] = chain.clients
  await registerNode(n1!, {
    peerId: '12D3KooWtest',
    multiaddrs: ['/ip4/127.0.0.1/tcp/1'],
    capacity: 10n ** 12n,
    pricePerByteEpoch: PRICE,
    stake: MIN_STAKE,
  })
  const node = await getNode(user!, { account: n1!.account.address })
  assert.equal(node.status, 'active')
  assert.equal((await listActiveNodes(user!)).length, 1)
  const slot = holdSlot(slotData(5000))
  const deal = await createDeal(user!, {
    manifestCid: 'bafytest',
    size: 5000n,
    k: 1,
    slots: [{ root: slot.root, size: slot.size, node: n1!.account.address }],
    durationEpochs: 10,
    maxPricePerByteEpoch: PRICE,
  })
  assert.equal(deal.escrow, 5000n * PRICE * 10n)
  await confirmSlot(n1!, { dealId: deal.dealId, slotIndex: 0 })
  await chain.nextEpoch()
  const ch = await challengeOf(n1!, deal.dealId, 0)
  const receipt = await submitProof(n1!, { dealId: deal.dealId, slotIndex: 0, ...slotProof(slot, ch.leafIndex) })
  console.log('submitProof gas', receipt.gasUsed)
  assert.equal((await getDeal(user!, { dealId: deal.dealId })).escrow, 5000n * PRICE * 9n)
  await chain.nextEpoch()
  const before = await getBalances(n1!)
  assert.ok(before.rewards > 0n)
  await withdrawEarnings(n1!)
  const afterB = await getBalances(n1!)
  assert.equal(afterB.tokens, before.tokens + before.earnings + before.rewards)
})
