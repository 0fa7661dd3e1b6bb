/**
 * Market.submitProofs and the submitProofs / proveSlots actions on a real anvil: a batch pays every slot exactly as
 * single submits do, a proof the Market rejects is never paid and does not block the others (skip-and-report), and
 * the batch costs less gas per slot than single transactions.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseEventLogs, toHex } from 'viem'
import {
  type ChainClient,
  getBalances,
  getSlot,
  marketAbi,
  proveSlots,
  revertDataToError,
  type SlotProofInput,
  submitProof,
  submitProofs,
} from '../../src/chain/index.ts'
import { sendTransaction } from '../../src/chain/transaction.ts'
import {
  challengeOf,
  type HeldSlot,
  holdSlot,
  openDeal,
  PRICE,
  registerNodes,
  slotData,
  slotProof,
  useTestChain,
} from './harness.ts'

const chain = useTestChain({ setup: (c) => registerNodes(c.clients.slice(2, 4)) })
/** Four slots of different sizes; the prover holds slot 0 of four one-slot deals, one per held slot. */
const held = [
  holdSlot(slotData(5000, 11)),
  holdSlot(slotData(3000, 12)),
  holdSlot(slotData(1024 * 16 + 7, 13)),
  holdSlot(slotData(900, 14)),
]

const user = () => chain.clients[1]!
const prover = () => chain.clients[2]!
const other = () => chain.clients[3]!

/** Opens one deal per held slot, all held by the prover, and moves to their first epoch. */
async function openDeals(count = held.length): Promise<bigint[]> {
  const ids: bigint[] = []
  for (const slot of held.slice(0, count)) ids.push(await openDeal(user(), [prover()], [slot]))
  await chain.nextEpoch()
  return ids
}

/** The current challenge's proof of slot 0 of `dealId`, built from the held data. */
async function proofFor(dealId: bigint, slot: HeldSlot): Promise<SlotProofInput> {
  const challenge = await challengeOf(prover(), dealId, 0)
  return { dealId, slotIndex: 0, ...slotProof(slot, challenge.leafIndex) }
}

/** A proof with one flipped byte in its leaf. */
function corrupt(proof: SlotProofInput): SlotProofInput {
  const leaf = proof.leaf.slice()
  leaf[0] = leaf[0]! ^ 0xff
  return { ...proof, leaf }
}

/** Sends Market.submitProofs directly (no dry run), as another contract or client could. */
function sendBatch(client: ChainClient, proofs: SlotProofInput[]) {
  return sendTransaction(client, 'submitProofs', {
    address: client.contracts.market,
    abi: marketAbi,
    functionName: 'submitProofs',
    args: [
      proofs.map((p) => ({
        dealId: p.dealId,
        slotIndex: BigInt(p.slotIndex),
        leaf: toHex(p.leaf),
        proof: p.proof.map((h) => toHex(h)),
      })),
    ],
  })
}

describe('Market.submitProofs', () => {
  test('a batch pays every slot exactly what single submits pay, in one transaction', async () => {
    const ids = await openDeals()
    const proofs = await Promise.all(ids.map((id, i) => proofFor(id, held[i]!)))
    const start = await chain.snapshot()

    for (const p of proofs) await submitProof(prover(), p)
    const single = await getBalances(prover())
    const singleSlots = await Promise.all(ids.map((dealId) => getSlot(user(), { dealId, slotIndex: 0 })))
    await chain.revert(start)

    const outcomes = await submitProofs(prover(), proofs)
    const batch = await getBalances(prover())
    const batchSlots = await Promise.all(ids.map((dealId) => getSlot(user(), { dealId, slotIndex: 0 })))

    assert.deepEqual(
      outcomes.map((o) => [o.accepted, o.dealId, o.accepted ? o.payment : 0n]),
      ids.map((id, i) => [true, id, held[i]!.size * PRICE]),
    )
    assert.equal(new Set(outcomes.map((o) => o.transactionHash)).size, 1, 'one transaction')
    const expected = held.reduce((sum, s) => sum + s.size * PRICE, 0n)
    assert.equal(batch.earnings, expected)
    assert.equal(batch.earnings, single.earnings)
    assert.equal(batch.stake, single.stake)
    assert.deepEqual(batchSlots, singleSlots)
    assert.ok(batchSlots.every((s, i) => s.nextEpoch === singleSlots[i]!.nextEpoch && s.misses === 0))
  })

  test('skip-and-report: a bad proof is rejected with its reason and not paid; the others are paid', async () => {
    const ids = await openDeals(3)
    const proofs = await Promise.all(ids.map((id, i) => proofFor(id, held[i]!)))
    const bad = corrupt(proofs[1]!)
    const receipt = await sendBatch(prover(), [proofs[0]!, bad, proofs[2]!])
    const logs = parseEventLogs({ abi: marketAbi, logs: receipt.logs, eventName: ['ProofAccepted', 'ProofRejected'] })
    assert.deepEqual(
      logs.map((l) => [l.eventName, l.args.dealId]),
      [
        ['ProofAccepted', ids[0]],
        ['ProofRejected', ids[1]],
        ['ProofAccepted', ids[2]],
      ],
    )
    const rejected = logs[1]!
    assert.equal(rejected.eventName, 'ProofRejected')
    const reason = revertDataToError(rejected.args.reason, 'submitProofs')
    assert.equal(reason.details?.errorName, 'InvalidProof')
    assert.match(reason.message, /invalid proof for leaf \d+ of slot 0 of deal/)

    const balances = await getBalances(prover())
    assert.equal(balances.earnings, (held[0]!.size + held[2]!.size) * PRICE)
    const unpaid = await getSlot(user(), { dealId: ids[1]!, slotIndex: 0 })
    const paid = await getSlot(user(), { dealId: ids[0]!, slotIndex: 0 })
    assert.equal(unpaid.nextEpoch, paid.nextEpoch - 1, 'the rejected slot still owes this epoch')
    // The good proof of the rejected slot is still accepted in the same epoch.
    await submitProof(prover(), proofs[1]!)
    assert.equal((await getBalances(prover())).earnings, (held[0]!.size + held[1]!.size + held[2]!.size) * PRICE)
  })

  test('an already proven slot, a slot proven twice in the batch and a foreign slot are rejected, not paid', async () => {
    const foreignDeal = await openDeal(user(), [other()], [held[3]!])
    const ids = await openDeals(3)
    const proofs = await Promise.all(ids.map((id, i) => proofFor(id, held[i]!)))
    await submitProof(prover(), proofs[0]!)
    const foreign = { dealId: foreignDeal, slotIndex: 0, leaf: proofs[1]!.leaf, proof: proofs[1]!.proof }
    const missing = { ...proofs[2]!, dealId: 999n }
    const receipt = await sendBatch(prover(), [proofs[0]!, proofs[1]!, proofs[1]!, foreign, missing, proofs[2]!])
    const logs = parseEventLogs({ abi: marketAbi, logs: receipt.logs, eventName: ['ProofAccepted', 'ProofRejected'] })
    const reasons = logs.map((l) =>
      l.eventName === 'ProofAccepted' ? 'accepted' : revertDataToError(l.args.reason, 'x').details?.errorName,
    )
    assert.deepEqual(reasons, [
      'EpochAlreadyProven',
      'accepted',
      'EpochAlreadyProven',
      'NotSlotHolder',
      'DealNotFound',
      'accepted',
    ])
    assert.equal((await getBalances(prover())).earnings, (held[0]!.size + held[1]!.size + held[2]!.size) * PRICE)
  })

  test('a batch of N slots costs less gas per slot than N single transactions', async () => {
    const ids = await openDeals(4)
    const proofs = await Promise.all(ids.map((id, i) => proofFor(id, held[i]!)))
    const start = await chain.snapshot()
    let singles = 0n
    for (const p of proofs) singles += (await submitProof(prover(), p)).gasUsed
    await chain.revert(start)
    const batch = (await sendBatch(prover(), proofs)).gasUsed
    // Each single transaction pays the 21,000 base cost and its own calldata and call overhead.
    assert.ok(batch < singles - 3n * 21_000n, `batch ${batch} vs singles ${singles}`)
  })
})

describe('submitProofs / proveSlots actions', () => {
  test('a proof the Market would reject is not sent: its outcome names the reason, the others are paid', async () => {
    const ids = await openDeals(3)
    const proofs = await Promise.all(ids.map((id, i) => proofFor(id, held[i]!)))
    const before = await prover().getTransactionCount({ address: prover().account.address })
    const outcomes = await submitProofs(prover(), [proofs[0]!, corrupt(proofs[1]!), proofs[2]!])
    assert.deepEqual(
      outcomes.map((o) => o.accepted),
      [true, false, true],
    )
    const bad = outcomes[1]!
    assert.ok(!bad.accepted)
    assert.equal((bad.error as { details?: { errorName?: string } }).details?.errorName, 'InvalidProof')
    assert.equal(bad.transactionHash, undefined)
    assert.equal(await prover().getTransactionCount({ address: prover().account.address }), before + 1)
    assert.equal((await getBalances(prover())).earnings, (held[0]!.size + held[2]!.size) * PRICE)

    // Only rejected proofs: nothing is sent at all.
    const again = await submitProofs(prover(), [proofs[0]!, proofs[2]!])
    assert.deepEqual(
      again.map((o) =>
        o.accepted ? 'accepted' : (o.error as { details?: { errorName?: string } }).details?.errorName,
      ),
      ['EpochAlreadyProven', 'EpochAlreadyProven'],
    )
    assert.equal(await prover().getTransactionCount({ address: prover().account.address }), before + 1)
  })

  test('chunks a long batch into transactions of maxPerTransaction proofs', async () => {
    const ids = await openDeals(4)
    const proofs = await Promise.all(ids.map((id, i) => proofFor(id, held[i]!)))
    const outcomes = await submitProofs(prover(), proofs, { maxPerTransaction: 3 })
    assert.ok(outcomes.every((o) => o.accepted))
    const hashes = outcomes.map((o) => o.transactionHash)
    assert.equal(new Set(hashes).size, 2)
    assert.equal(hashes[0], hashes[2])
    assert.notEqual(hashes[2], hashes[3])
    await assert.rejects(submitProofs(prover(), proofs, { maxPerTransaction: 0 }), /maxPerTransaction/)
  })

  test('proveSlots draws the seed, builds every proof and reports one that could not be built', async () => {
    const ids = await openDeals(3)
    const outcomes = await proveSlots(prover(), {
      slots: ids.map((dealId) => ({ dealId, slotIndex: 0 })),
      prove: async ({ dealId }, { leafIndex }) => {
        const i = ids.indexOf(dealId)
        if (i === 1) throw new Error('piece missing')
        return slotProof(held[i]!, leafIndex)
      },
    })
    assert.deepEqual(
      outcomes.map((o) => (o.accepted ? 'accepted' : o.error.message)),
      ['accepted', 'piece missing', 'accepted'],
    )
    assert.equal(outcomes[0]!.transactionHash, outcomes[2]!.transactionHash)
    assert.equal((await getBalances(prover())).earnings, (held[0]!.size + held[2]!.size) * PRICE)
  })
})
