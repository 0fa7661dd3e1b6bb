/**
 * Issue 12, the forced-slash griefer with consent: a griefer that gets a node's acceptance, lets it confirm (a
 * transaction the node pays) and then ends the deal before its start (endDeal refunds what no node can still earn)
 * must still have paid the node's confirmation gas. The Market escrows a confirmation fee per slot at createDeal,
 * pays it to the holder at confirmSlot, and endDeal keeps it for a slot that may still confirm.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type ChainClient,
  CONFIRMATION_GAS,
  type CreateDealParams,
  closeDeal,
  confirmSlot,
  createDeal,
  DEFAULT_CAIRN_PER_ETHER,
  DEFAULT_CONFIRMATION_FEE,
  DEFAULT_MIN_PAYMENT_PER_SLOT_EPOCH,
  DEFAULT_PROOF_GAS_PRICE_WEI,
  endDeal,
  getBalances,
  getDeal,
  marketAbi,
  quoteDeal,
  withdrawEarnings,
} from '../../src/chain/index.ts'
import { quoteStorage, readDeals } from '../../src/client/index.ts'
import { accepted, holdSlot, PRICE, registerNodes, slotData, tokenBalance, useTestChain } from './harness.ts'

// Production economics: the minimum payment sized for a proof's gas at 2 gwei and 1,000 CAIRN per ether, and the
// production confirmation fee (the devchain's default is none: its ether is free).
const chain = useTestChain({
  params: { minPaymentPerSlotEpoch: DEFAULT_MIN_PAYMENT_PER_SLOT_EPOCH, confirmationFee: DEFAULT_CONFIRMATION_FEE },
  setup: (c) => registerNodes(c.clients.slice(2, 5)),
})
const griefer = () => chain.clients[1]!
const victim = () => chain.clients[2]!
const other = () => chain.clients[3]!
const slot = holdSlot(slotData(4096, 11))

/** Gas in CAIRN units at the gas price and exchange rate the minimum payment is sized for. */
const gasInTokens = (gas: bigint) => gas * DEFAULT_PROOF_GAS_PRICE_WEI * DEFAULT_CAIRN_PER_ETHER

const terms = (nodes: ChainClient[], durationEpochs = 5): CreateDealParams => ({
  manifestCid: `bafygrief${nodes.length}x${durationEpochs}`,
  size: slot.size * BigInt(nodes.length),
  k: 1,
  slots: nodes.map((n) => ({ root: slot.root, size: slot.size, node: n.account.address })),
  durationEpochs,
  maxPricePerByteEpoch: PRICE,
})

/** What a node owns in CAIRN that a griefer can move: its wallet and its withdrawable earnings. */
async function nodeValue(node: ChainClient): Promise<bigint> {
  const b = await getBalances(node)
  return b.tokens + b.earnings
}

async function assertSolvent(client: ChainClient) {
  const market = client.contracts.market
  const liabilities = await client.readContract({ address: market, abi: marketAbi, functionName: 'totalLiabilities' })
  assert.equal(await tokenBalance(client, market), liabilities, "the Market's balance is its liabilities")
}

describe('issue 12: a confirmation is paid (griefer that ends the deal before its start)', () => {
  test("a griefer that makes a consenting node confirm, then ends the deal before its start, pays the node's confirmation gas", async () => {
    const params = await accepted(griefer(), [victim()], terms([victim()]))
    const quoted = await quoteDeal(griefer(), params)
    const grieferBefore = await tokenBalance(griefer(), griefer().account.address)
    const victimBefore = await nodeValue(victim())
    const { dealId, escrow } = await createDeal(griefer(), params)
    assert.equal(escrow, quoted, 'createDeal pulls exactly the quote')
    const confirmed = await confirmSlot(victim(), { dealId, slotIndex: 0 })
    await endDeal(griefer(), { dealId })
    const deal = await getDeal(griefer(), { dealId })
    assert.equal(deal.endEpoch, deal.startEpoch, 'the deal was ended before its start')

    const victimGain = (await nodeValue(victim())) - victimBefore
    const confirmGas = gasInTokens(confirmed.gasUsed)
    assert.ok(confirmed.gasUsed <= CONFIRMATION_GAS, `a first confirmation costs ${confirmed.gasUsed} gas`)
    assert.ok(
      victimGain >= confirmGas,
      `the victim gained ${victimGain} units for a confirmation that cost it ${confirmed.gasUsed} gas = ${confirmGas} units`,
    )
    const grieferSpend = grieferBefore - (await tokenBalance(griefer(), griefer().account.address))
    assert.equal(grieferSpend, victimGain, "the griefer's tokens paid the victim's gain")
    // The earnings are real tokens: withdrawing them moves them into the node's wallet.
    const walletBefore = await tokenBalance(victim(), victim().account.address)
    await withdrawEarnings(victim())
    assert.equal((await tokenBalance(victim(), victim().account.address)) - walletBefore, victimGain)
    await assertSolvent(griefer())
    // What `cairn deals` shows the owner: the fee paid to the slot's holder
    const view = (await readDeals(griefer(), { fromBlock: 0n, owner: griefer().account.address })).find(
      (d) => d.view.dealId === dealId.toString(),
    )?.view
    assert.equal(view?.slots[0]?.paid, DEFAULT_CONFIRMATION_FEE.toString())
    assert.equal(view?.paidSoFar, DEFAULT_CONFIRMATION_FEE.toString())
  })

  test('endDeal before the start keeps the fee of a slot not confirmed yet: it is paid if the node confirms, refunded at close if not', async () => {
    const params = await accepted(griefer(), [victim(), other()], terms([victim(), other()]))
    const grieferBefore = await tokenBalance(griefer(), griefer().account.address)
    const { dealId } = await createDeal(griefer(), params)
    await endDeal(griefer(), { dealId })
    await assertSolvent(griefer())
    // The victim's node saw the deal and confirms after the griefer ended it (still before the start): it is paid.
    const victimBefore = await nodeValue(victim())
    const confirmed = await confirmSlot(victim(), { dealId, slotIndex: 0 })
    const victimGain = (await nodeValue(victim())) - victimBefore
    assert.ok(victimGain >= gasInTokens(confirmed.gasUsed), `gain ${victimGain} covers ${confirmed.gasUsed} gas`)
    // The other node never confirms: at close its fee returns to the owner, who is out only the victim's fee.
    await chain.nextEpoch()
    await closeDeal(griefer(), { dealId })
    assert.equal(grieferBefore - (await tokenBalance(griefer(), griefer().account.address)), victimGain)
    assert.equal((await getDeal(griefer(), { dealId })).escrow, 0n)
    await assertSolvent(griefer())
  })

  test("the client's quote is what createDeal pulls; its per-epoch figures leave the confirmation fees out", async () => {
    const durationEpochs = 7
    const quote = await quoteStorage(griefer(), {
      size: Number(slot.size),
      slotSize: Number(slot.size),
      k: 1,
      n: 2,
      durationEpochs,
      maxPricePerByteEpoch: PRICE,
    })
    assert.equal(BigInt(quote.confirmationFees), 2n * DEFAULT_CONFIRMATION_FEE)
    assert.equal(BigInt(quote.total), BigInt(quote.perEpoch) * BigInt(durationEpochs) + 2n * DEFAULT_CONFIRMATION_FEE)
    const perNode = quote.nodes.reduce((sum, n) => sum + BigInt(n.perEpoch), 0n)
    assert.equal(perNode, BigInt(quote.perEpoch))
    const chosen = quote.nodes.map((n) => chain.clients.find((c) => c.account.address === n.account)!)
    const params = await accepted(griefer(), chosen, { ...terms(chosen, durationEpochs), maxPricePerByteEpoch: PRICE })
    const before = await tokenBalance(griefer(), griefer().account.address)
    const { escrow } = await createDeal(griefer(), params)
    assert.equal(escrow, BigInt(quote.total))
    assert.equal(before - (await tokenBalance(griefer(), griefer().account.address)), BigInt(quote.total))
  })
})
