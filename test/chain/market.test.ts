import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  addStake,
  closeDeal,
  confirmSlot,
  endDeal,
  getBalances,
  getChainEvents,
  getChallenge,
  getDeal,
  getEpochInfo,
  getNode,
  getSlot,
  marketAbi,
  repairSlot,
  reportMissed,
  submitProof,
  topUpDeal,
  transferTokens,
  unjailNode,
  withdrawEarnings,
} from '../../src/chain/index.ts'
import { sendTransaction } from '../../src/chain/transaction.ts'
import { InsufficientFundsError } from '../../src/errors.ts'
import {
  CAIRN,
  challengeOf,
  createAcceptedDeal,
  holdSlot,
  MIN_STAKE,
  openDeal,
  PRICE,
  proveHeld,
  registerNodes,
  rejectsWith,
  slotData,
  slotProof,
  tokenBalance,
  useTestChain,
} from './harness.ts'

const SLASH = 50n * CAIRN
const EMISSION = 100n * CAIRN

const chain = useTestChain({ setup: (c) => registerNodes(c.clients.slice(2, 7)) })
const slots = [holdSlot(slotData(5000, 1)), holdSlot(slotData(3000, 2)), holdSlot(slotData(1024 * 8 + 1, 3))]

const user = () => chain.clients[1]!
const node = (i: number) => chain.clients[2 + i]!
const nodes = (count: number) => Array.from({ length: count }, (_, i) => node(i))
const market = () => chain.devchain.contracts.market
const payment = (i: number) => slots[i]!.size * PRICE
/** The protocol fee of a slot-epoch (10%, rounded up), escrowed on top of the payment and burned at the proof. */
const fee = (i: number) => (payment(i) * 1_000n + 9_999n) / 10_000n
/** What one slot costs its deal per epoch. */
const charge = (i: number) => payment(i) + fee(i)

describe('createDeal', () => {
  test('pulls (price x bytes + fee) x epochs for every slot and records the deal and its pending slots', async () => {
    const before = await tokenBalance(user(), user().account.address)
    const { epoch } = await getEpochInfo(user())
    const created = await createAcceptedDeal(user(), chain.clients, {
      manifestCid: 'bafyreimanifest',
      size: 12_345n,
      k: 2,
      slots: slots.map((s, i) => ({ root: s.root, size: s.size, node: node(i).account.address })),
      durationEpochs: 7,
      maxPricePerByteEpoch: PRICE,
    })
    const expected = (charge(0) + charge(1) + charge(2)) * 7n
    assert.equal(created.escrow, expected)
    assert.equal(await tokenBalance(user(), user().account.address), before - expected)
    assert.equal(await tokenBalance(user(), market()), expected)
    const deal = await getDeal(user(), { dealId: created.dealId })
    assert.deepEqual(
      { owner: deal.owner, cid: deal.manifestCid, k: deal.k, n: deal.n, start: deal.startEpoch, end: deal.endEpoch },
      { owner: user().account.address, cid: 'bafyreimanifest', k: 2, n: 3, start: epoch + 1, end: epoch + 8 },
    )
    const slot = await getSlot(user(), { dealId: created.dealId, slotIndex: 2 })
    assert.deepEqual(
      [slot.state, slot.node, slot.root, slot.size],
      ['pending', node(2).account.address, slots[2]!.root, slots[2]!.size],
    )
  })

  test('rejects malformed deals with their exact reason', async () => {
    const base = {
      manifestCid: 'bafy',
      size: 1n,
      k: 1,
      slots: [{ root: slots[0]!.root, size: slots[0]!.size, node: node(0).account.address }],
      durationEpochs: 3,
      maxPricePerByteEpoch: PRICE,
    }
    await rejectsWith(createAcceptedDeal(user(), chain.clients, { ...base, k: 2 }), 'InvalidRedundancy', /k=2 n=1/)
    await rejectsWith(createAcceptedDeal(user(), chain.clients, { ...base, manifestCid: '' }), 'InvalidManifestCid')
    await rejectsWith(createAcceptedDeal(user(), chain.clients, { ...base, durationEpochs: 0 }), 'ZeroDuration')
    await rejectsWith(
      createAcceptedDeal(user(), chain.clients, { ...base, slots: [...base.slots, { ...base.slots[0]! }] }),
      'DuplicateNode',
      /named for two slots/,
    )
    await rejectsWith(
      createAcceptedDeal(user(), chain.clients, {
        ...base,
        slots: [{ ...base.slots[0]!, node: user().account.address }],
      }),
      'NodeNotActive',
    )
    await rejectsWith(
      createAcceptedDeal(user(), chain.clients, { ...base, maxPricePerByteEpoch: PRICE - 1n }),
      'PriceAboveMax',
    )
  })

  test('without allowance the error says how much to approve', async () => {
    const error = await rejectsWith(
      createAcceptedDeal(user(), chain.clients, {
        manifestCid: 'bafy',
        size: 1n,
        k: 1,
        slots: [{ root: slots[0]!.root, size: 12_500_000_000_000n, node: node(0).account.address }],
        durationEpochs: 1,
        maxPricePerByteEpoch: PRICE,
        payment: 'allowance',
      }),
      'ERC20InsufficientAllowance',
    )
    assert.ok(error instanceof InsufficientFundsError)
    assert.match(error.message, /insufficient allowance: approve 13\.75 CAIRN first/)
  })

  test('without tokens the error names the balance', async () => {
    const poor = chain.clients[7]!
    const all = await tokenBalance(poor, poor.account.address)
    await transferTokens(poor, { to: user().account.address, amount: all })
    await rejectsWith(
      createAcceptedDeal(poor, chain.clients, {
        manifestCid: 'bafy',
        size: 1n,
        k: 1,
        slots: [{ root: slots[0]!.root, size: slots[0]!.size, node: node(0).account.address }],
        durationEpochs: 1,
        maxPricePerByteEpoch: PRICE,
      }),
      'ERC20InsufficientBalance',
      /insufficient balance: the payment needs 0\.0000000055 CAIRN, you have 0 CAIRN/,
    )
  })
})

describe('confirmSlot', () => {
  test('only the named node confirms, once; it counts as a held slot', async () => {
    const dealId = await openDeal(user(), nodes(2), slots.slice(0, 2), { confirm: false })
    await rejectsWith(confirmSlot(node(1), { dealId, slotIndex: 0 }), 'NotSlotHolder')
    await confirmSlot(node(0), { dealId, slotIndex: 0 })
    await rejectsWith(confirmSlot(node(0), { dealId, slotIndex: 0 }), 'WrongSlotState', /is active/)
    await rejectsWith(confirmSlot(node(0), { dealId, slotIndex: 9 }), 'SlotNotFound')
    await rejectsWith(confirmSlot(node(0), { dealId: 99n, slotIndex: 0 }), 'DealNotFound', /deal 99 does not exist/)
    assert.equal((await getSlot(user(), { dealId, slotIndex: 0 })).state, 'active')
    assert.equal((await getNode(user(), { account: node(0).account.address })).activeSlots, 1)
  })
})

describe('submitProof', () => {
  test('a valid proof pays the slot for the epoch and records the node as proving', async () => {
    const dealId = await openDeal(user(), nodes(1), slots.slice(0, 1))
    const epoch = await chain.nextEpoch()
    const escrow = (await getDeal(user(), { dealId })).escrow
    const receipt = await proveHeld(node(0), dealId, 0, slots[0]!)
    assert.equal((await getDeal(user(), { dealId })).escrow, escrow - charge(0))
    assert.equal((await getBalances(node(0))).earnings, payment(0))
    const events = await getChainEvents(user(), {
      contract: 'market',
      eventNames: ['ProofAccepted'],
      fromBlock: receipt.blockNumber,
    })
    assert.equal(events.length, 1)
    assert.equal(events[0]!.args.payment, payment(0))
    assert.equal((await getNode(user(), { account: node(0).account.address })).lastProvedEpoch, epoch)
  })

  test('rejects proofs that are early, unseeded, wrong, short, repeated, foreign or late', async () => {
    const dealId = await openDeal(user(), nodes(2), slots.slice(0, 2), { durationEpochs: 2 })
    const anyProof = slotProof(slots[0]!, 0)
    await rejectsWith(submitProof(node(0), { dealId, slotIndex: 0, ...anyProof }), 'DealNotStarted')
    await chain.nextEpoch()
    await rejectsWith(submitProof(node(0), { dealId, slotIndex: 0, ...anyProof }), 'SeedNotDrawn', /drawSeed/)
    const challenge = await challengeOf(node(0), dealId, 0)
    const good = slotProof(slots[0]!, challenge.leafIndex)
    const tampered = { leaf: Uint8Array.from(good.leaf, (b, i) => (i === 0 ? b ^ 1 : b)), proof: good.proof }
    await rejectsWith(submitProof(node(0), { dealId, slotIndex: 0, ...tampered }), 'InvalidProof')
    await rejectsWith(
      submitProof(node(0), { dealId, slotIndex: 0, leaf: good.leaf.subarray(1), proof: good.proof }),
      'InvalidLeafLength',
    )
    await rejectsWith(submitProof(node(1), { dealId, slotIndex: 0, ...good }), 'NotSlotHolder')
    await submitProof(node(0), { dealId, slotIndex: 0, ...good })
    await rejectsWith(submitProof(node(0), { dealId, slotIndex: 0, ...good }), 'EpochAlreadyProven')
    await chain.nextEpoch()
    const next = await challengeOf(node(1), dealId, 1)
    await chain.nextEpoch()
    await rejectsWith(
      submitProof(node(1), { dealId, slotIndex: 1, ...slotProof(slots[1]!, next.leafIndex) }),
      'DealHasEnded',
    )
  })

  test('a holder that skipped an epoch proves the current one: the skipped epoch costs one slashed miss', async () => {
    const dealId = await openDeal(user(), nodes(1), slots.slice(0, 1))
    await chain.nextEpoch()
    const now = await chain.nextEpoch()
    const stake = (await getNode(user(), { account: node(0).account.address })).stake
    await challengeOf(node(0), dealId, 0)
    await proveHeld(node(0), dealId, 0, slots[0]!)
    const slot = await getSlot(user(), { dealId, slotIndex: 0 })
    assert.deepEqual([slot.state, slot.misses, slot.nextEpoch], ['active', 0, now + 1])
    assert.equal((await getNode(user(), { account: node(0).account.address })).stake, stake - SLASH)
    await rejectsWith(reportMissed(user(), { dealId, slotIndex: 0 }), 'NothingToReport')
  })
})

describe('reportMissed and repairSlot', () => {
  test('each missed epoch slashes the holder; after 3 the slot opens and the holder is jailed', async () => {
    const dealId = await openDeal(user(), nodes(1), slots.slice(0, 1))
    await chain.nextEpoch()
    await rejectsWith(reportMissed(user(), { dealId, slotIndex: 0 }), 'NothingToReport')
    await chain.nextEpoch()
    const stake = (await getNode(user(), { account: node(0).account.address })).stake
    const first = await reportMissed(user(), { dealId, slotIndex: 0 })
    assert.deepEqual([first.missed, first.slashed, first.opened], [1, SLASH, false])
    assert.equal((await getNode(user(), { account: node(0).account.address })).stake, stake - SLASH)
    await chain.nextEpoch()
    await chain.nextEpoch()
    const second = await reportMissed(user(), { dealId, slotIndex: 0 })
    assert.deepEqual([second.missed, second.slashed, second.opened], [2, 2n * SLASH, true])
    const slot = await getSlot(user(), { dealId, slotIndex: 0 })
    assert.deepEqual([slot.state, slot.misses, slot.bounty], ['open', 3, 3n * SLASH])
    const record = await getNode(user(), { account: node(0).account.address })
    assert.deepEqual([record.status, record.missedProofs, record.activeSlots], ['jailed', 3, 0])
    await rejectsWith(reportMissed(user(), { dealId, slotIndex: 0 }), 'WrongSlotState', /is open/)
    // Back to service: the stake must be topped up to the minimum first.
    await rejectsWith(unjailNode(node(0)), 'StakeBelowMinimum', /stake 850 CAIRN is below the minimum of 1000 CAIRN/)
    await addStake(node(0), { amount: 3n * SLASH })
    await unjailNode(node(0))
    assert.equal((await getNode(user(), { account: node(0).account.address })).status, 'active')
  })

  test('an unconfirmed slot counts misses without slashing anyone', async () => {
    const dealId = await openDeal(user(), nodes(1), slots.slice(0, 1), { confirm: false })
    await chain.nextEpoch()
    await chain.nextEpoch()
    const report = await reportMissed(user(), { dealId, slotIndex: 0 })
    assert.deepEqual([report.missed, report.slashed], [1, 0n])
    assert.equal((await getNode(user(), { account: node(0).account.address })).stake, MIN_STAKE)
  })

  test('another node takes an open slot by proving its root and earns the bounty and the payment', async () => {
    const dealId = await openDeal(user(), nodes(1), slots.slice(0, 1))
    await chain.nextEpoch()
    for (let i = 0; i < 3; i++) await chain.nextEpoch()
    assert.equal((await reportMissed(user(), { dealId, slotIndex: 0 })).opened, true)
    await challengeOf(node(1), dealId, 0) // draws the seed
    // The repair challenge is the repairer's own (bound to its address).
    const challenge = (await getChallenge(node(1), { dealId, slotIndex: 0, prover: node(1).account.address }))!
    const proof = slotProof(slots[0]!, challenge.leafIndex)
    await rejectsWith(repairSlot(node(0), { dealId, slotIndex: 0, ...proof }), 'FormerHolderCannotRepair')
    await rejectsWith(repairSlot(user(), { dealId, slotIndex: 0, ...proof }), 'NodeNotActive')
    const wrong = { leaf: proof.leaf.map((b, i) => (i === 0 ? b ^ 1 : b)), proof: proof.proof }
    await rejectsWith(repairSlot(node(1), { dealId, slotIndex: 0, ...wrong }), 'InvalidProof')
    await repairSlot(node(1), { dealId, slotIndex: 0, ...proof })
    const slot = await getSlot(user(), { dealId, slotIndex: 0 })
    assert.deepEqual([slot.state, slot.node, slot.bounty, slot.misses], ['active', node(1).account.address, 0n, 0])
    assert.equal((await getBalances(node(1))).earnings, 3n * SLASH + payment(0))
    await rejectsWith(repairSlot(node(2), { dealId, slotIndex: 0, ...proof }), 'WrongSlotState')
    await chain.nextEpoch()
    await proveHeld(node(1), dealId, 0, slots[0]!)
    assert.equal((await getBalances(node(1))).earnings, 3n * SLASH + 2n * payment(0))
  })
})

describe('deal lifetime', () => {
  test('topUp extends the deal and its escrow', async () => {
    const dealId = await openDeal(user(), nodes(1), slots.slice(0, 1), { durationEpochs: 2 })
    const before = await getDeal(user(), { dealId })
    await topUpDeal(user(), { dealId, extraEpochs: 5 })
    const after = await getDeal(user(), { dealId })
    assert.equal(after.endEpoch, before.endEpoch + 5)
    assert.equal(after.escrow, before.escrow + 5n * charge(0))
    await rejectsWith(topUpDeal(user(), { dealId, extraEpochs: 0 }), 'ZeroDuration')
  })

  test('a renewal binds no holder past the end it accepted: a miss there opens the slot unpunished for a repairer', async () => {
    const dealId = await openDeal(user(), nodes(1), slots.slice(0, 1), { durationEpochs: 2 })
    await topUpDeal(user(), { dealId, extraEpochs: 5 })
    const deal = await getDeal(user(), { dealId })
    let epoch = await chain.nextEpoch()
    while (epoch < deal.startEpoch) epoch = await chain.nextEpoch()
    // The two accepted epochs are proven and paid; the holder then stops.
    await proveHeld(node(0), dealId, 0, slots[0]!)
    await chain.nextEpoch()
    await proveHeld(node(0), dealId, 0, slots[0]!)
    await chain.nextEpoch()
    await chain.nextEpoch()
    const stake = (await getNode(user(), { account: node(0).account.address })).stake
    const report = await reportMissed(user(), { dealId, slotIndex: 0 })
    assert.deepEqual([report.missed, report.slashed, report.opened], [0, 0n, true])
    const record = await getNode(user(), { account: node(0).account.address })
    assert.deepEqual([record.status, record.stake, record.activeSlots], ['active', stake, 0])
    // A repairer takes the slot at the renewed terms, and is bound to the deal's end as it stood then.
    await challengeOf(node(1), dealId, 0) // draws the seed
    const challenge = (await getChallenge(node(1), { dealId, slotIndex: 0, prover: node(1).account.address }))!
    await repairSlot(node(1), { dealId, slotIndex: 0, ...slotProof(slots[0]!, challenge.leafIndex) })
    assert.equal((await getSlot(user(), { dealId, slotIndex: 0 })).node, node(1).account.address)
    for (let e = await chain.nextEpoch(); e < deal.endEpoch; e = await chain.nextEpoch()) {
      await proveHeld(node(1), dealId, 0, slots[0]!)
    }
  })

  test('endDeal refunds everything but the current epoch of unproven slots; only the owner may end', async () => {
    const dealId = await openDeal(user(), nodes(2), slots.slice(0, 2), { durationEpochs: 10 })
    await chain.nextEpoch()
    await proveHeld(node(0), dealId, 0, slots[0]!)
    await rejectsWith(endDeal(node(0), { dealId }), 'NotDealOwner')
    const before = await tokenBalance(user(), user().account.address)
    const escrow = (await getDeal(user(), { dealId })).escrow
    await endDeal(user(), { dealId })
    const deal = await getDeal(user(), { dealId })
    assert.equal(deal.escrow, charge(1), 'slot 1 may still prove the current epoch')
    assert.equal(await tokenBalance(user(), user().account.address), before + escrow - charge(1))
    await rejectsWith(endDeal(user(), { dealId }), 'NothingToShorten')
    await proveHeld(node(1), dealId, 1, slots[1]!)
    assert.equal((await getDeal(user(), { dealId })).escrow, 0n)
    await chain.nextEpoch()
    await rejectsWith(proveHeld(node(0), dealId, 0, slots[0]!), 'DealHasEnded')
  })

  test('closeDeal after the end reports misses, frees slots and refunds escrow and bounties', async () => {
    const dealId = await openDeal(user(), nodes(2), slots.slice(0, 2), { durationEpochs: 2 })
    await rejectsWith(closeDeal(user(), { dealId }), 'DealNotEnded')
    await chain.nextEpoch()
    await proveHeld(node(0), dealId, 0, slots[0]!)
    await chain.nextEpoch()
    await proveHeld(node(0), dealId, 0, slots[0]!)
    await chain.nextEpoch()
    const before = await tokenBalance(user(), user().account.address)
    await closeDeal(node(3), { dealId })
    // Slot 1 never proved: two epochs of its payment come back, plus the two slashes as bounty.
    assert.equal(await tokenBalance(user(), user().account.address), before + 2n * charge(1) + 2n * SLASH)
    assert.equal((await getNode(user(), { account: node(0).account.address })).activeSlots, 0)
    assert.equal((await getNode(user(), { account: node(1).account.address })).stake, MIN_STAKE - 2n * SLASH)
    await rejectsWith(closeDeal(user(), { dealId }), 'DealAlreadyClosed')
    await rejectsWith(reportMissed(user(), { dealId, slotIndex: 1 }), 'DealAlreadyClosed')
  })
})

describe('earnings and emission', () => {
  test("a node's reward is half the fees its proofs burned, within the epoch's emission, minted at withdrawal", async () => {
    const dealId = await openDeal(user(), nodes(2), slots.slice(0, 2))
    const epoch = await chain.nextEpoch()
    await rejectsWith(withdrawEarnings(node(0)), 'NothingToWithdraw')
    await proveHeld(node(0), dealId, 0, slots[0]!)
    await proveHeld(node(1), dealId, 1, slots[1]!)
    assert.equal((await getBalances(node(0))).rewards, 0n, 'the share is known only after the epoch closes')
    await chain.nextEpoch()
    // Far below the emission: each node gets rewardShareBps (50%) of the fees it burned, whatever bytes it declared.
    const share0 = fee(0) / 2n
    const share1 = fee(1) / 2n
    assert.equal(
      await user().readContract({
        address: market(),
        abi: marketAbi,
        functionName: 'epochFees',
        args: [BigInt(epoch)],
      }),
      fee(0) + fee(1),
    )
    assert.equal(
      await user().readContract({
        address: market(),
        abi: marketAbi,
        functionName: 'epochRewards',
        args: [BigInt(epoch)],
      }),
      ((fee(0) + fee(1)) * 5_000n) / 10_000n,
    )
    const b0 = await getBalances(node(0))
    assert.deepEqual([b0.earnings, b0.rewards], [payment(0), share0])
    const rewardsOf = (account: `0x${string}`) =>
      user().readContract({ address: market(), abi: marketAbi, functionName: 'rewards', args: [account] })
    assert.equal(await rewardsOf(node(1).account.address), 0n, 'not settled yet')
    await sendTransaction(user(), 'settleRewards', {
      address: market(),
      abi: marketAbi,
      functionName: 'settleRewards',
      args: [node(1).account.address],
    })
    assert.equal(await rewardsOf(node(1).account.address), share1, 'anyone may settle a closed epoch')
    const supply = await node(0).readContract({
      address: chain.devchain.contracts.token,
      abi: (await import('../../src/chain/index.ts')).cairnTokenAbi,
      functionName: 'totalSupply',
    })
    await withdrawEarnings(node(0))
    await withdrawEarnings(node(1))
    const after = await getBalances(node(0))
    assert.equal(after.tokens, b0.tokens + payment(0) + share0)
    assert.deepEqual([after.earnings, after.rewards], [0n, 0n])
    const supplyAfter = await node(0).readContract({
      address: chain.devchain.contracts.token,
      abi: (await import('../../src/chain/index.ts')).cairnTokenAbi,
      functionName: 'totalSupply',
    })
    assert.equal(supplyAfter - supply, share0 + share1)
    assert.ok(share0 + share1 <= EMISSION)
    assert.equal(
      await user().readContract({ address: market(), abi: marketAbi, functionName: 'emission', args: [BigInt(epoch)] }),
      EMISSION,
    )
    assert.equal(
      await user().readContract({ address: market(), abi: marketAbi, functionName: 'emission', args: [17_520n * 3n] }),
      EMISSION / 8n,
    )
  })
})

describe('event subscriptions', () => {
  test('watchChainEvents delivers ProofAccepted with its payment', async () => {
    const { watchChainEvents } = await import('../../src/chain/index.ts')
    const dealId = await openDeal(user(), nodes(1), slots.slice(0, 1))
    await chain.nextEpoch()
    const seen = new Promise<Record<string, unknown>>((resolve, reject) => {
      const stop = watchChainEvents(user(), {
        contract: 'market',
        eventNames: ['ProofAccepted'],
        onEvents: (events) => {
          stop()
          resolve(events[0]!.args)
        },
        onError: reject,
      })
    })
    await proveHeld(node(0), dealId, 0, slots[0]!)
    const args = await seen
    assert.deepEqual([args.dealId, args.node, args.payment], [dealId, node(0).account.address, payment(0)])
  })
})

describe('getNodeSlots', () => {
  test("lists a node's pending and active slots, drops lost and closed ones, adds repaired ones", async () => {
    const { getNodeSlots } = await import('../../src/chain/index.ts')
    const fromBlock = chain.devchain.deployment.blockNumber
    const a = await openDeal(user(), [node(0), node(1)], slots.slice(0, 2), { confirm: false, durationEpochs: 3 })
    const b = await openDeal(user(), [node(1), node(0)], slots.slice(0, 2), { durationEpochs: 1 })
    const mine = await getNodeSlots(user(), { node: node(0).account.address, fromBlock })
    assert.deepEqual(
      mine.map((s) => [s.dealId, s.slot.index, s.slot.state]),
      [
        [a, 0, 'pending'],
        [b, 1, 'active'],
      ],
    )
    // Deal b ends and is closed; node 0 never confirms deal a's slot, which opens; node 2 repairs it.
    for (let i = 0; i < 4; i++) await chain.nextEpoch()
    await closeDeal(user(), { dealId: b })
    await reportMissed(user(), { dealId: a, slotIndex: 0 }).catch(() => {})
    assert.deepEqual(await getNodeSlots(user(), { node: node(0).account.address, fromBlock }), [])
  })
})

describe('concurrency', () => {
  test('concurrent transactions from one client are queued and never reuse a nonce', async () => {
    const a = await openDeal(user(), [node(0)], slots.slice(0, 1))
    const b = await openDeal(user(), [node(0)], slots.slice(1, 2))
    await chain.nextEpoch()
    await challengeOf(node(0), a, 0)
    const [ca, cb] = await Promise.all([challengeOf(node(0), a, 0), challengeOf(node(0), b, 0)])
    const receipts = await Promise.all([
      submitProof(node(0), { dealId: a, slotIndex: 0, ...slotProof(slots[0]!, ca.leafIndex) }),
      submitProof(node(0), { dealId: b, slotIndex: 0, ...slotProof(slots[1]!, cb.leafIndex) }),
    ])
    assert.deepEqual(
      receipts.map((r) => r.status),
      ['success', 'success'],
    )
    assert.equal((await getBalances(node(0))).earnings, payment(0) + payment(1))
  })
})
