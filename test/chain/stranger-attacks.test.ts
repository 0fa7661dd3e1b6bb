/**
 * Attacks of issue 12 ("trust between strangers") against the real contracts on anvil: emission capture by a
 * self-dealer (finding 1), repairSlot front-running (finding 6), one operator holding two replicas and proofs answered
 * long after the seed (finding 5), free deals and unbounded slot counts (finding 2).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { type Address, type Hex, toHex } from 'viem'
import {
  acceptNode,
  type ChainClient,
  confirmSlot,
  drawSeed,
  getBalances,
  getChallenge,
  getDeal,
  getNode,
  getSlot,
  marketAbi,
  registerNode,
  repairSlot,
  reportMissed,
  setOperator,
  submitProof,
  withdrawEarnings,
} from '../../src/chain/index.ts'
import {
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
  useTestChain,
} from './harness.ts'

const MAX_SLOTS_PER_NODE = 2
const chain = useTestChain({
  accounts: 12,
  params: { maxSlotsPerNode: MAX_SLOTS_PER_NODE, minPaymentPerSlotEpoch: 10n ** 9n, responseWindowBlocks: 60 },
  setup: (c) => registerNodes(c.clients.slice(2, 6)),
})
const user = () => chain.clients[1]!
const node = (i: number) => chain.clients[2 + i]!
const spare = (i: number) => chain.clients[6 + i]!

/** Everything `account` owns in CAIRN: wallet, stake, escrow of its open deals, withdrawable earnings and rewards. */
async function tokenValue(client: ChainClient, deals: bigint[]): Promise<bigint> {
  const balances = await getBalances(client)
  let escrow = 0n
  for (const dealId of deals) escrow += (await getDeal(client, { dealId })).escrow
  return balances.tokens + balances.stake + escrow + balances.earnings + balances.rewards
}

/** The slot of `size` bytes of zeros, as the attacker of finding 1 declares it: root and a proof of any leaf. */
function zeroSlot(size: bigint): { root: Hex; leaf: Uint8Array; proof: Uint8Array[] } {
  const sha = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest())
  const leaf = new Uint8Array(1024)
  let hash = sha(Uint8Array.of(0), leaf)
  const proof: Uint8Array[] = []
  for (let width = size / 1024n; width > 1n; width /= 2n) {
    proof.push(hash)
    hash = sha(Uint8Array.of(1), hash, hash)
  }
  return { root: toHex(hash), leaf, proof }
}

async function register(client: ChainClient, price: bigint, tag: string) {
  await registerNode(client, {
    peerId: `12D3KooW${tag}`,
    multiaddrs: ['/ip4/127.0.0.1/tcp/4999'],
    capacity: 2n ** 63n,
    pricePerByteEpoch: price,
    stake: MIN_STAKE,
  })
}

describe('finding 1: emission capture by a self-dealer', () => {
  test('a price-0 node in a k=n=1 deal with itself for 2^63 zero bytes loses token value every epoch', async () => {
    const attacker = spare(0)
    await register(attacker, 0n, 'SelfDealer')
    const size = 2n ** 63n
    const zero = zeroSlot(size)
    assert.equal(zero.proof.length, 53, 'the 53 precomputed hashes of the finding')
    const { dealId } = await createAcceptedDeal(attacker, chain.clients, {
      manifestCid: 'bafyselfdealer',
      size,
      k: 1,
      slots: [{ root: zero.root, size, node: attacker.account.address }],
      durationEpochs: 50,
      maxPricePerByteEpoch: 0n,
    })
    await confirmSlot(attacker, { dealId, slotIndex: 0 })
    // From the deal's first epoch on: the first epochs of a new network, the attacker the only prover.
    let before = await tokenValue(attacker, [dealId])
    let rewarded = 0
    await chain.nextEpoch()
    for (let round = 0; round < 4; round++) {
      await drawSeed(attacker)
      await submitProof(attacker, { dealId, slotIndex: 0, leaf: zero.leaf, proof: zero.proof })
      await chain.nextEpoch() // the proved epoch closes: its reward counts in `rewards` (withdrawable)
      const after = await tokenValue(attacker, [dealId])
      assert.ok(after < before, `epoch ${round}: the self-dealer went from ${before} to ${after}`)
      before = after
      await chain.test.mine({ blocks: 1 })
      // Withdrawing (minting its rewards) does not change its value.
      if ((await getBalances(attacker)).rewards > 0n) {
        await withdrawEarnings(attacker)
        assert.equal(await tokenValue(attacker, [dealId]), before)
        rewarded++
      }
    }
    assert.ok(rewarded > 0, 'the bank paid rewards (below the fees burned)')
  })

  test('a price>0 self-dealer on both sides with two accounts loses token value every epoch', async () => {
    const [owner, holder] = [spare(1), spare(2)]
    await register(holder, PRICE, 'SelfHolder')
    const slot = holdSlot(slotData(64 * 1024, 3))
    const { dealId } = await createAcceptedDeal(owner, chain.clients, {
      manifestCid: 'bafyselfpaid',
      size: slot.size,
      k: 1,
      slots: [{ root: slot.root, size: slot.size, node: holder.account.address }],
      durationEpochs: 50,
      maxPricePerByteEpoch: PRICE,
    })
    await confirmSlot(holder, { dealId, slotIndex: 0 })
    const value = async () => (await tokenValue(owner, [dealId])) + (await tokenValue(holder, []))
    let before = await value()
    await chain.nextEpoch()
    for (let round = 0; round < 4; round++) {
      await proveHeld(holder, dealId, 0, slot)
      await chain.nextEpoch()
      const after = await value()
      assert.ok(after < before, `epoch ${round}: the self-dealer went from ${before} to ${after}`)
      before = after
    }
  })
})

describe('finding 6: repairSlot front-running', () => {
  test("another account's copy of a repair transaction fails; the repairer's own succeeds", async () => {
    const big = holdSlot(slotData(256 * 1024, 11))
    const dealId = await openDeal(user(), [node(0)], [big])
    // node(0) stops proving; after 3 reported misses the slot opens.
    for (let i = 0; i < 4 && (await getSlot(user(), { dealId, slotIndex: 0 })).state !== 'open'; i++) {
      await chain.nextEpoch()
      await reportMissed(user(), { dealId, slotIndex: 0 }).catch(() => {})
    }
    assert.equal((await getSlot(user(), { dealId, slotIndex: 0 })).state, 'open')
    const repairer = node(1)
    const thief = node(2) // active and staked, but holds nothing: it copies the pending transaction's calldata
    let copied = slotProof(big, 0)
    // Each account has its own leaf; in the rare epoch where both draw the same one (1 in 256), wait for the next.
    for (let tries = 0; tries < 5; tries++) {
      await drawSeed(repairer)
      const mine = await getChallenge(repairer, { dealId, slotIndex: 0, prover: repairer.account.address })
      const theirs = await getChallenge(thief, { dealId, slotIndex: 0, prover: thief.account.address })
      copied = slotProof(big, mine!.leafIndex)
      if (mine!.leafIndex !== theirs!.leafIndex) break
      await chain.nextEpoch()
    }
    await rejectsWith(repairSlot(thief, { dealId, slotIndex: 0, ...copied }), 'InvalidProof')
    await repairSlot(repairer, { dealId, slotIndex: 0, ...copied })
    const slot = await getSlot(user(), { dealId, slotIndex: 0 })
    assert.equal(slot.node, repairer.account.address)
    assert.equal((await getBalances(thief)).earnings, 0n)
  })
})

describe('finding 5: one operator, one replica; proofs within the response window', () => {
  test('a deal naming two nodes of one operator is refused', async () => {
    const operator = spare(3)
    for (const n of [node(0), node(1)]) {
      await setOperator(n, { operator: operator.account.address })
      await acceptNode(operator, { node: n.account.address })
    }
    const slot = holdSlot(slotData(4096, 5))
    const error = await rejectsWith(openDeal(user(), [node(0), node(1)], [slot, slot]), 'DuplicateOperator')
    assert.match(error.message, /share the operator .* every slot of a deal needs a distinct operator/)
    // A node that only named the operator (not accepted) is still its own operator.
    await setOperator(node(2), { operator: operator.account.address })
    await openDeal(user(), [node(0), node(2)], [slot, slot])
  })

  test('a node holding one slot of a deal cannot repair another slot of it (two replicas, one copy)', async () => {
    const slot = holdSlot(slotData(8192, 6))
    const dealId = await openDeal(user(), [node(0), node(1)], [slot, slot])
    for (let i = 0; i < 5 && (await getSlot(user(), { dealId, slotIndex: 0 })).state !== 'open'; i++) {
      await chain.nextEpoch()
      await proveHeld(node(1), dealId, 1, slot)
      await reportMissed(user(), { dealId, slotIndex: 0 }).catch(() => {})
    }
    assert.equal((await getSlot(user(), { dealId, slotIndex: 0 })).state, 'open')
    const challenge = await getChallenge(node(1), { dealId, slotIndex: 0, prover: node(1).account.address })
    const proof = slotProof(slot, challenge!.leafIndex)
    await rejectsWith(repairSlot(node(1), { dealId, slotIndex: 0, ...proof }), 'DuplicateNode')
  })

  test('a proof sent after the response window is rejected, and the epoch is a miss', async () => {
    const slot = holdSlot(slotData(8192, 8))
    const dealId = await openDeal(user(), [node(0)], [slot])
    await chain.nextEpoch()
    const challenge = await challengeOf(node(0), dealId, 0)
    const window = await node(0).readContract({
      address: node(0).contracts.market,
      abi: marketAbi,
      functionName: 'responseWindowBlocks',
    })
    // The node fetches the data from elsewhere at leisure: the window (60 blocks on the devnet) passes.
    await chain.test.mine({ blocks: Number(window) + 1 })
    const late = slotProof(slot, challenge.leafIndex)
    const error = await rejectsWith(submitProof(node(0), { dealId, slotIndex: 0, ...late }), 'ResponseWindowClosed')
    assert.match(error.message, /response window of epoch \d+ closed at block \d+/)
    await chain.nextEpoch()
    const { missed } = await reportMissed(user(), { dealId, slotIndex: 0 })
    assert.equal(missed, 1)
  })
})

describe('finding 2: no free deals, bounded slots per node', () => {
  test('a node at price 0 is paid at least the minimum payment per slot per epoch, and the deal escrows it', async () => {
    const zeroPrice = spare(4)
    await register(zeroPrice, 0n, 'ZeroPrice')
    const slot = holdSlot(slotData(2048, 9))
    const minimum = await zeroPrice.readContract({
      address: zeroPrice.contracts.market,
      abi: marketAbi,
      functionName: 'minPaymentPerSlotEpoch',
    })
    assert.ok(minimum > 0n)
    const { dealId, escrow } = await createAcceptedDeal(user(), chain.clients, {
      manifestCid: 'bafyzero',
      size: slot.size,
      k: 1,
      slots: [{ root: slot.root, size: slot.size, node: zeroPrice.account.address }],
      durationEpochs: 3,
      maxPricePerByteEpoch: 0n,
    })
    assert.ok(escrow >= minimum * 3n, `escrow ${escrow} below 3 epochs of the minimum ${minimum}`)
    await confirmSlot(zeroPrice, { dealId, slotIndex: 0 })
    await chain.nextEpoch()
    await proveHeld(zeroPrice, dealId, 0, slot)
    assert.equal((await getBalances(zeroPrice)).earnings, minimum)
  })

  test(`a node holds at most maxSlotsPerNode (${MAX_SLOTS_PER_NODE}) slots: a third confirm is refused`, async () => {
    const slots = [1, 2, 3].map((seed) => holdSlot(slotData(1024, 20 + seed)))
    const deals: bigint[] = []
    for (const slot of slots) deals.push(await openDeal(user(), [node(3)], [slot], { confirm: false }))
    await confirmSlot(node(3), { dealId: deals[0]!, slotIndex: 0 })
    await confirmSlot(node(3), { dealId: deals[1]!, slotIndex: 0 })
    const error = await rejectsWith(confirmSlot(node(3), { dealId: deals[2]!, slotIndex: 0 }), 'SlotCapReached')
    assert.match(error.message, /already holds 2 slots, the most one node may hold \(2\)/)
    assert.equal((await getNode(user(), { account: node(3).account.address as Address })).activeSlots, 2)
  })
})
