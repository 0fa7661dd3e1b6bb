/**
 * Randomized sequences of real transactions by many actors (fast-check drives anvil), checking after every step:
 * - the Market's token balance = escrow of all deals + repair bounties + unpaid earnings (= totalLiabilities), and the
 *   Registry's balance = all stakes (= totalStaked);
 * - an honest node that always proves is never slashed and never misses;
 * - no payout without a valid proof: every node's earnings equal what its accepted proofs, repairs and confirmations
 *   (the confirmation fee) credited, minus what it withdrew; tampered proofs always revert and change nothing;
 * - no proof is accepted twice (a repeat in the same epoch reverts);
 * - Market.submitProofs (sent as is, no dry run) with some proofs tampered and one repeated accepts exactly the
 *   valid ones, rejects the rest with ProofRejected, and pays exactly what the same proofs sent alone would.
 * Steps: CAIRN_CHAIN_FUZZ_RUNS sequences (default 10) of 40..CAIRN_CHAIN_FUZZ_STEPS commands (default 80), about 600
 * steps in 40 s here; CAIRN_CHAIN_FUZZ_RUNS=50 ran 2,764 steps in 170 s. Slots open after 2 misses on this chain.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import { type Address, type Hex, parseEventLogs, toHex } from 'viem'
import {
  addStake,
  closeDeal,
  confirmSlot,
  endDeal,
  getBalances,
  getDeal,
  getEpochInfo,
  getNode,
  getSlot,
  marketAbi,
  registryAbi,
  repairSlot,
  reportMissed,
  revertDataToError,
  submitProof,
  topUpDeal,
  unjailNode,
  withdrawEarnings,
} from '../../src/chain/index.ts'
import { sendTransaction } from '../../src/chain/transaction.ts'
import { CairnError } from '../../src/errors.ts'
import {
  CAIRN,
  challengeOf,
  createAcceptedDeal,
  type HeldSlot,
  holdSlot,
  MIN_STAKE,
  PRICE,
  registerNodes,
  slotData,
  slotProof,
  startTestChain,
  type TestChain,
  tokenBalance,
} from './harness.ts'

const RUNS = Number(process.env.CAIRN_CHAIN_FUZZ_RUNS ?? 10)
const STEPS = Number(process.env.CAIRN_CHAIN_FUZZ_STEPS ?? 80)
const HONEST = [0, 1]
const NODE_COUNT = 4
/** Paid to a node at each confirmation (earnings the model credits at a successful confirmSlot). */
const CONFIRMATION_FEE = 1_000n
const pool: HeldSlot[] = [0, 1, 1023, 1025, 5000, 20_000].map((size, i) => holdSlot(slotData(size, i + 1)))

let chain: TestChain
let base: Hex
let steps = 0
const stats = { proofs: 0, misses: 0, repairs: 0, deals: 0, withdrawals: 0, forged: 0, batches: 0, batchRejected: 0 }

before(async () => {
  chain = await startTestChain({ accounts: 8, params: { maxMisses: 2, confirmationFee: CONFIRMATION_FEE } })
  await registerNodes(chain.clients.slice(2, 2 + NODE_COUNT))
  base = await chain.snapshot()
})
after(async () => {
  await chain?.stop()
  console.log(`invariants: ${steps} steps, ${JSON.stringify(stats)}`)
})

interface ModelDeal {
  id: bigint
  owner: number
  slots: Array<{ data: HeldSlot }>
}

interface Model {
  deals: ModelDeal[]
  credited: Map<Address, bigint>
  withdrawn: Map<Address, bigint>
}

type Command =
  | { type: 'create'; user: number; nodes: number[]; sizes: number[]; duration: number }
  | { type: 'confirm'; deal: number; slot: number }
  | { type: 'prove'; node: number }
  | { type: 'batch'; node: number; forge: number }
  | { type: 'badProof'; node: number; deal: number; slot: number }
  | { type: 'advance'; epochs: number }
  | { type: 'report' }
  | { type: 'repair'; node: number; slot: number }
  | { type: 'topUp'; deal: number; epochs: number }
  | { type: 'end'; deal: number }
  | { type: 'close'; deal: number }
  | { type: 'withdraw'; node: number }
  | { type: 'restake'; node: number }

const nodeIndex = fc.integer({ min: 0, max: NODE_COUNT - 1 })
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      type: fc.constant('create' as const),
      user: fc.constantFrom(1, 6),
      nodes: fc.uniqueArray(nodeIndex, { minLength: 1, maxLength: 3 }),
      sizes: fc.array(fc.integer({ min: 0, max: pool.length - 1 }), { minLength: 3, maxLength: 3 }),
      duration: fc.integer({ min: 1, max: 10 }),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ type: fc.constant('confirm' as const), deal: fc.nat(), slot: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('prove' as const), node: nodeIndex }), weight: 3 },
  {
    arbitrary: fc.record({ type: fc.constant('batch' as const), node: nodeIndex, forge: fc.nat({ max: 255 }) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ type: fc.constant('badProof' as const), node: nodeIndex, deal: fc.nat(), slot: fc.nat() }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ type: fc.constant('advance' as const), epochs: fc.integer({ min: 1, max: 3 }) }),
    weight: 5,
  },
  { arbitrary: fc.constant({ type: 'report' as const }), weight: 3 },
  {
    arbitrary: fc.record({ type: fc.constant('repair' as const), node: nodeIndex, slot: fc.nat() }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      type: fc.constant('topUp' as const),
      deal: fc.nat(),
      epochs: fc.integer({ min: 1, max: 3 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ type: fc.constant('end' as const), deal: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('close' as const), deal: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('withdraw' as const), node: nodeIndex }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('restake' as const), node: nodeIndex }), weight: 1 },
)

const client = (i: number) => chain.clients[i]!
const nodeClient = (n: number) => client(2 + n)
const add = (map: Map<Address, bigint>, key: Address, amount: bigint) => map.set(key, (map.get(key) ?? 0n) + amount)

/** Runs a call that may legitimately revert; returns false on a contract revert, rethrows anything else. */
async function attempt(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call()
    return true
  } catch (error) {
    if (error instanceof CairnError && typeof error.details?.errorName === 'string') return false
    throw error
  }
}

/** One node's proving round: every active slot it holds that is due this epoch. */
async function proveAll(model: Model, n: number, alsoConfirm: boolean): Promise<void> {
  const node = nodeClient(n)
  const { epoch } = await getEpochInfo(node)
  const deals = await Promise.all(model.deals.map((deal) => getDeal(node, { dealId: deal.id })))
  const due = model.deals.filter((_, i) => !deals[i]!.closed && epoch < deals[i]!.endEpoch)
  const slots = await Promise.all(
    due.flatMap((deal) =>
      deal.slots.map(async (held, i) => ({
        deal,
        i,
        held,
        slot: await getSlot(node, { dealId: deal.id, slotIndex: i }),
      })),
    ),
  )
  for (const { deal, i, held, slot: current } of slots) {
    let slot = current
    if (slot.node !== node.account.address) continue
    if (slot.state === 'pending' && alsoConfirm) {
      await confirmSlot(node, { dealId: deal.id, slotIndex: i })
      add(model.credited, node.account.address, CONFIRMATION_FEE)
      slot = await getSlot(node, { dealId: deal.id, slotIndex: i })
    }
    if (slot.state !== 'active' || slot.nextEpoch !== epoch) continue
    const challenge = await challengeOf(node, deal.id, i)
    const proof = slotProof(held.data, challenge.leafIndex)
    await submitProof(node, { dealId: deal.id, slotIndex: i, ...proof })
    add(model.credited, node.account.address, paymentOf(slot))
    stats.proofs++
    // No proof is accepted twice.
    const again = await attempt(() => submitProof(node, { dealId: deal.id, slotIndex: i, ...proof }))
    assert.equal(again, false, 'a second proof for the same epoch was accepted')
  }
}

/** A copy of a proof that the Market must reject: one byte of the leaf flipped, or an extra hash for an empty leaf. */
function tamper(real: { leaf: Uint8Array; proof: Uint8Array[] }) {
  return real.leaf.length > 0
    ? { leaf: Uint8Array.from(real.leaf, (b, i) => (i === real.leaf.length - 1 ? b ^ 0xff : b)), proof: real.proof }
    : { leaf: real.leaf, proof: [...real.proof, new Uint8Array(32)] }
}

/**
 * One node's round as one Market.submitProofs transaction: every due slot, those picked by `forge`'s bits tampered,
 * plus a repeat of the first valid proof. Exactly the valid ones are accepted and paid.
 */
async function proveBatch(model: Model, n: number, forge: number): Promise<void> {
  const node = nodeClient(n)
  const { epoch } = await getEpochInfo(node)
  const deals = await Promise.all(model.deals.map((deal) => getDeal(node, { dealId: deal.id })))
  const due: Array<{ dealId: bigint; slotIndex: number; leaf: Uint8Array; proof: Uint8Array[]; valid: boolean }> = []
  let credit = 0n
  for (const [d, deal] of model.deals.entries()) {
    if (deals[d]!.closed || epoch < deals[d]!.startEpoch || epoch >= deals[d]!.endEpoch) continue
    for (const [i, held] of deal.slots.entries()) {
      const slot = await getSlot(node, { dealId: deal.id, slotIndex: i })
      if (slot.node !== node.account.address || slot.state !== 'active' || slot.nextEpoch !== epoch) continue
      const challenge = await challengeOf(node, deal.id, i)
      const real = slotProof(held.data, challenge.leafIndex)
      const valid = ((forge >> due.length) & 1) === 0
      if (valid) credit += paymentOf(slot)
      due.push({ dealId: deal.id, slotIndex: i, ...(valid ? real : tamper(real)), valid })
    }
  }
  const repeat = due.find((p) => p.valid)
  if (repeat !== undefined) due.push({ ...repeat, valid: false })
  if (due.length === 0) return
  const before = await getBalances(node)
  const receipt = await sendTransaction(node, 'submitProofs', {
    address: node.contracts.market,
    abi: marketAbi,
    functionName: 'submitProofs',
    args: [
      due.map((p) => ({
        dealId: p.dealId,
        slotIndex: BigInt(p.slotIndex),
        leaf: toHex(p.leaf),
        proof: p.proof.map((h) => toHex(h)),
      })),
    ],
  })
  const results = parseEventLogs({ abi: marketAbi, logs: receipt.logs, eventName: ['ProofAccepted', 'ProofRejected'] })
  assert.deepEqual(
    results.map((r) => [r.eventName, r.args.dealId, r.args.slot]),
    due.map((p) => [p.valid ? 'ProofAccepted' : 'ProofRejected', p.dealId, BigInt(p.slotIndex)]),
  )
  for (const r of results) {
    if (r.eventName !== 'ProofRejected') continue
    const reason = revertDataToError(r.args.reason, 'submitProofs').details?.errorName
    assert.ok(reason === 'InvalidProof' || reason === 'EpochAlreadyProven', `rejected with ${reason}`)
    stats.batchRejected++
  }
  assert.equal((await getBalances(node)).earnings, before.earnings + credit, 'a batch paid other than its valid proofs')
  add(model.credited, node.account.address, credit)
  stats.batches++
  stats.proofs += due.filter((p) => p.valid).length
}

/** Slots of deals that are not closed, with their chain state. */
async function openSlots(model: Model) {
  const reader = client(7)
  const infos = await Promise.all(model.deals.map((deal) => getDeal(reader, { dealId: deal.id })))
  return Promise.all(
    model.deals
      .filter((_, i) => !infos[i]!.closed)
      .flatMap((deal) =>
        deal.slots.map(async (_, slotIndex) => ({
          deal,
          slotIndex,
          info: infos[model.deals.indexOf(deal)]!,
          slot: await getSlot(reader, { dealId: deal.id, slotIndex }),
        })),
      ),
  )
}

function pick<T>(list: readonly T[], index: number): T | undefined {
  return list.length === 0 ? undefined : list[index % list.length]
}

async function run(model: Model, command: Command): Promise<void> {
  switch (command.type) {
    case 'create': {
      const user = client(command.user)
      const slots = command.nodes.map((_node, i) => ({ data: pool[command.sizes[i]!]! }))
      let created: bigint | undefined
      await attempt(async () => {
        const result = await createAcceptedDeal(user, chain.clients, {
          manifestCid: 'bafyfuzz',
          size: 1n,
          k: 1,
          slots: slots.map((s, i) => ({
            root: s.data.root,
            size: s.data.size,
            node: nodeClient(command.nodes[i]!).account.address,
          })),
          durationEpochs: command.duration,
          maxPricePerByteEpoch: PRICE,
        })
        created = result.dealId
      })
      if (created !== undefined) {
        model.deals.push({ id: created, owner: command.user, slots })
        stats.deals++
      }
      return
    }
    case 'confirm': {
      const deal = pick(model.deals, command.deal)
      if (deal === undefined) return
      const slotIndex = command.slot % deal.slots.length
      const slot = await getSlot(client(1), { dealId: deal.id, slotIndex })
      const holder = chain.clients.find((c) => c.account.address === slot.node)
      if (holder !== undefined && (await attempt(() => confirmSlot(holder, { dealId: deal.id, slotIndex })))) {
        add(model.credited, holder.account.address, CONFIRMATION_FEE)
      }
      return
    }
    case 'prove':
      return proveAll(model, command.node, false)
    case 'batch':
      return proveBatch(model, command.node, command.forge)
    case 'badProof': {
      const deal = pick(model.deals, command.deal)
      if (deal === undefined) return
      const slotIndex = command.slot % deal.slots.length
      const node = nodeClient(command.node)
      const before = await getBalances(node)
      const challenge = await attempt(() => challengeOf(node, deal.id, slotIndex))
      if (!challenge) return
      const { leafIndex, leafLength } = await challengeOf(node, deal.id, slotIndex)
      const real = slotProof(deal.slots[slotIndex]!.data, leafIndex)
      const forged =
        leafLength > 0
          ? { leaf: Uint8Array.from(real.leaf, (b, i) => (i === leafLength - 1 ? b ^ 0xff : b)), proof: real.proof }
          : { leaf: real.leaf, proof: [...real.proof, new Uint8Array(32)] }
      const accepted = await attempt(() => submitProof(node, { dealId: deal.id, slotIndex, ...forged }))
      assert.equal(accepted, false, 'a tampered proof was accepted')
      stats.forged++
      const afterBalances = await getBalances(node)
      assert.deepEqual([afterBalances.earnings, afterBalances.stake], [before.earnings, before.stake])
      return
    }
    case 'advance': {
      for (let e = 0; e < command.epochs; e++) {
        for (const n of HONEST) await proveAll(model, n, true)
        await chain.nextEpoch()
      }
      return
    }
    case 'report': {
      // A watchdog sweep: report every slot with a closed, unproven epoch.
      const { epoch } = await getEpochInfo(client(7))
      for (const { deal, slotIndex, slot, info } of await openSlots(model)) {
        if (slot.state === 'open' || slot.nextEpoch >= Math.min(epoch, info.endEpoch)) continue
        await attempt(async () => {
          stats.misses += (await reportMissed(client(7), { dealId: deal.id, slotIndex })).missed
        })
      }
      return
    }
    case 'repair': {
      const node = nodeClient(command.node)
      const open = (await openSlots(model)).filter((s) => s.slot.state === 'open')
      const target = pick(open, command.slot)
      if (target === undefined) return
      const { deal, slotIndex, slot } = target
      const ok = await attempt(async () => {
        const challenge = await challengeOf(node, deal.id, slotIndex)
        await repairSlot(node, {
          dealId: deal.id,
          slotIndex,
          ...slotProof(deal.slots[slotIndex]!.data, challenge.leafIndex),
        })
      })
      if (ok) {
        add(model.credited, node.account.address, slot.bounty + paymentOf(slot))
        stats.repairs++
      }
      return
    }
    case 'topUp': {
      const deal = pick(model.deals, command.deal)
      if (deal !== undefined)
        await attempt(() => topUpDeal(client(deal.owner), { dealId: deal.id, extraEpochs: command.epochs }))
      return
    }
    case 'end': {
      const deal = pick(model.deals, command.deal)
      if (deal !== undefined) await attempt(() => endDeal(client(deal.owner), { dealId: deal.id }))
      return
    }
    case 'close': {
      const deal = pick(model.deals, command.deal)
      if (deal !== undefined) await attempt(() => closeDeal(client(7), { dealId: deal.id }))
      return
    }
    case 'withdraw': {
      const node = nodeClient(command.node)
      const { earnings } = await getBalances(node)
      if (await attempt(() => withdrawEarnings(node))) {
        add(model.withdrawn, node.account.address, earnings)
        stats.withdrawals++
      }
      return
    }
    case 'restake': {
      if (HONEST.includes(command.node)) return
      const node = nodeClient(command.node)
      const record = await getNode(node, { account: node.account.address })
      if (record.status !== 'jailed') return
      if (record.stake < MIN_STAKE) await addStake(node, { amount: MIN_STAKE - record.stake + 100n * CAIRN })
      await unjailNode(node)
    }
  }
}

/** What one proof of a slot pays its holder: size x price, at least the test chain's minimum payment (1 unit). */
function paymentOf(slot: { size: bigint; pricePerByteEpoch: bigint }): bigint {
  const payment = slot.size * slot.pricePerByteEpoch
  return payment > 1n ? payment : 1n
}

async function checkInvariants(model: Model): Promise<void> {
  const { market, registry } = chain.devchain.contracts
  const reader = client(0)
  const [deals, slots, accounts] = await Promise.all([
    Promise.all(model.deals.map((deal) => getDeal(reader, { dealId: deal.id }))),
    Promise.all(
      model.deals.flatMap((deal) => deal.slots.map((_, i) => getSlot(reader, { dealId: deal.id, slotIndex: i }))),
    ),
    Promise.all(chain.clients.map((c) => getBalances(reader, { account: c.account.address }))),
  ])
  const escrow = deals.reduce((sum, d) => sum + d.escrow, 0n)
  const bounties = slots.reduce((sum, s) => sum + s.bounty, 0n)
  let earnings = 0n
  let stakes = 0n
  for (const [i, c] of chain.clients.entries()) {
    const balances = accounts[i]!
    earnings += balances.earnings
    stakes += balances.stake
    const credited = model.credited.get(c.account.address) ?? 0n
    const withdrawn = model.withdrawn.get(c.account.address) ?? 0n
    assert.equal(balances.earnings, credited - withdrawn, `earnings of ${c.account.address} without a matching proof`)
  }
  const liabilities = await reader.readContract({ address: market, abi: marketAbi, functionName: 'totalLiabilities' })
  const staked = await reader.readContract({ address: registry, abi: registryAbi, functionName: 'totalStaked' })
  assert.equal(await tokenBalance(reader, market), escrow + bounties + earnings, 'market balance')
  assert.equal(liabilities, escrow + bounties + earnings, 'totalLiabilities')
  assert.equal(await tokenBalance(reader, registry), stakes, 'registry balance')
  assert.equal(staked, stakes, 'totalStaked')
  for (const n of HONEST) {
    const record = await getNode(reader, { account: nodeClient(n).account.address })
    assert.deepEqual([record.stake, record.missedProofs, record.status], [MIN_STAKE, 0, 'active'], `honest node ${n}`)
  }
}

test(`invariants hold over ${RUNS} random sequences of up to ${STEPS} calls by 2 users and 4 nodes`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(commandArb, { minLength: Math.ceil(STEPS / 2), maxLength: STEPS }), async (commands) => {
      await chain.revert(base)
      base = await chain.snapshot()
      const model: Model = { deals: [], credited: new Map(), withdrawn: new Map() }
      for (const command of commands) {
        await run(model, command)
        steps++
        await checkInvariants(model)
      }
    }),
    { numRuns: RUNS, endOnFailure: true },
  )
})
