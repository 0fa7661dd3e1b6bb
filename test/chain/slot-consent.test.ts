/**
 * Finding 2 of issue 12 (forced slashing): a deal may name a node only with that node's EIP-712 acceptance of the
 * slot's exact terms, unexpired and unused. Each attack below opened a slot on the victim before the fix.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type CreateDealParams,
  createDeal,
  getSlot,
  registryAbi,
  signSlotAcceptance,
  slotAcceptanceSigner,
} from '../../src/chain/index.ts'
import { accepted, holdSlot, PRICE, registerNodes, rejectsWith, slotData, useTestChain } from './harness.ts'

const chain = useTestChain({ setup: (c) => registerNodes(c.clients.slice(2, 5)) })
const griefer = () => chain.clients[1]!
const victim = () => chain.clients[2]!
const other = () => chain.clients[3]!
const slot = holdSlot(slotData(4096, 7))

const terms = (): CreateDealParams => ({
  manifestCid: 'bafyvictim',
  size: slot.size,
  k: 1,
  slots: [{ root: slot.root, size: slot.size, node: victim().account.address }],
  durationEpochs: 5,
  maxPricePerByteEpoch: PRICE,
})

describe('finding 2: a node consents to every slot (SlotAcceptance)', () => {
  test('a deal naming a node without its signature is refused', async () => {
    const error = await rejectsWith(
      createDeal(griefer(), terms()),
      'SlotNotAccepted',
      /did not accept slot 0 \(missing\)/,
    )
    assert.match(error.message, new RegExp(victim().account.address))
  })

  test('a signature by another account, or for other terms, is refused', async () => {
    // Signed by another registered node for the victim's slot.
    const forged = await accepted(griefer(), [other()], {
      ...terms(),
      slots: [{ ...terms().slots[0]!, node: other().account.address }],
    })
    const stolen = { ...terms().slots[0]!, acceptance: forged.slots[0]!.acceptance! }
    await rejectsWith(
      createDeal(griefer(), { ...terms(), slots: [stolen] }),
      'SlotNotAccepted',
      /not signed by the node/,
    )
    // The victim's real acceptance of a 5-epoch deal, replayed for 50 epochs, a bigger size, another root.
    const real = await accepted(griefer(), [victim()], terms())
    const acceptance = real.slots[0]!.acceptance!
    for (const changed of [
      { ...real, durationEpochs: 50 },
      { ...real, maxPricePerByteEpoch: PRICE * 10n },
      { ...real, manifestCid: 'bafyother' },
      { ...real, slots: [{ ...real.slots[0]!, size: slot.size * 2n, acceptance }] },
      { ...real, slots: [{ ...real.slots[0]!, root: `0x${'11'.repeat(32)}` as const, acceptance }] },
    ]) {
      await rejectsWith(createDeal(griefer(), changed), 'SlotNotAccepted', /not signed by the node/)
    }
    // Accepted for a deal the victim agreed to open with `other` as owner: the griefer cannot use it.
    const forOther = await accepted(other(), [victim()], terms())
    await rejectsWith(createDeal(griefer(), forOther), 'SlotNotAccepted', /not signed by the node/)
    // The right owner with the right terms opens it.
    const { dealId } = await createDeal(griefer(), real)
    assert.equal((await getSlot(griefer(), { dealId, slotIndex: 0 })).node, victim().account.address)
  })

  test('an expired acceptance is refused', async () => {
    const params = await accepted(griefer(), [victim()], terms(), 60)
    await chain.test.increaseTime({ seconds: 120 })
    await chain.test.mine({ blocks: 1 })
    await rejectsWith(createDeal(griefer(), params), 'SlotNotAccepted', /\(expired\)/)
  })

  test('an acceptance opens one slot once: a replay is refused', async () => {
    const params = await accepted(griefer(), [victim()], terms())
    await createDeal(griefer(), params)
    await rejectsWith(createDeal(griefer(), params), 'SlotNotAccepted', /already used/)
    // The same terms signed again (a new nonce) are a new consent.
    await createDeal(griefer(), await accepted(griefer(), [victim()], terms()))
  })

  test('the client checks a signature offline exactly as the Registry does', async () => {
    const t = {
      client: griefer().account.address,
      manifestCid: 'bafyvictim',
      slotIndex: 0,
      root: slot.root,
      size: slot.size,
      maxPricePerByteEpoch: PRICE,
      durationEpochs: 5,
    }
    const acceptance = await signSlotAcceptance(victim(), { terms: t, expiry: 2 ** 40 })
    const domain = { chainId: chain.devchain.chainId, contracts: chain.devchain.contracts }
    const node = victim().account.address
    assert.equal(await slotAcceptanceSigner(domain, { node, terms: t, acceptance }), node)
    assert.notEqual(await slotAcceptanceSigner(domain, { node, terms: { ...t, slotIndex: 1 }, acceptance }), node)
    assert.equal(
      await griefer().readContract({
        address: chain.devchain.contracts.registry,
        abi: registryAbi,
        functionName: 'acceptanceUsed',
        args: [`0x${'00'.repeat(32)}`],
      }),
      false,
    )
  })
})
