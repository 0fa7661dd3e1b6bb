/**
 * The economics simulation: real contracts on anvil, time stepped epoch by epoch (one-hour epochs), real
 * transactions. Honest nodes store users' files (k=1, n=3 replicas) at the default price; a self-dealer (price 0, a
 * k=n=1 deal with itself for 2^63 bytes of zeros proven from 53 hashes) tries to capture the emission; a zero-price
 * dumper stores real data at price 0; a griefer tries to load a victim node with slots (griefer.ts); a dropper lost
 * 10 % of its leaves (dropper.ts); an outsourcer keeps nothing and fetches at proof time (outsourcer.ts); a Sybil
 * runs 3 nodes (sybil.ts). Every actor's token value (wallet + stake + escrow of its deals + withdrawable earnings
 * and rewards) is read before and after; one JSON line ends the run.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestClient, http } from 'viem'
import {
  type ChainClient,
  confirmSlot,
  createChainClient,
  DEFAULT_CONFIRMATION_FEE,
  DEFAULT_PRICE_PER_BYTE_EPOCH,
  drawSeed,
  getBalances,
  getDeal,
  getEpochInfo,
  startDevchain,
  withdrawEarnings,
} from '../../src/chain/index.ts'
import { createDropper } from './dropper.ts'
import { createGriefer } from './griefer.ts'
import { createOutsourcer } from './outsourcer.ts'
import { random } from './random.ts'
import { type Held, randomBytes, realSlot, type SimSlot, zeroSlot } from './slots.ts'
import { createSybil } from './sybil.ts'
import { openDeal, proveHeld, registerSimNode, type SimWorld } from './world.ts'

export interface EconomicsOptions {
  seed: number
  epochs: number
  log: (line: string) => void
}

/** Dropper trials (each a group of slots with its own dropped leaves). */
const DROPPER_TRIALS = 40

/** Runs the simulation and returns its summary (the JSON line). */
export async function runEconomics(options: EconomicsOptions): Promise<Record<string, unknown>> {
  const rand = random(options.seed)
  const dir = await mkdtemp(join(tmpdir(), 'cairn-sim-'))
  const epochSeconds = 3600
  const devchain = await startDevchain({
    dir,
    blockTime: 0,
    accounts: 16,
    // Production economics (minimum payment 0.14 CAIRN, confirmation fee 0.2 CAIRN, fee 10 %, reward <= 50 % of
    // fees, 25-block window).
    params: {
      epochSeconds,
      minPaymentPerSlotEpoch: 140_000_000_000_000_000n,
      confirmationFee: DEFAULT_CONFIRMATION_FEE,
      responseWindowBlocks: 25,
    },
  })
  try {
    const clients = devchain.accounts.map((privateKey) =>
      createChainClient({
        rpcUrl: devchain.rpcUrl,
        chainId: devchain.chainId,
        privateKey,
        contracts: devchain.contracts,
        pollingInterval: 10,
      }),
    )
    const test = createTestClient({ mode: 'anvil', transport: http(devchain.rpcUrl) })
    let tag = 0
    const world: SimWorld = { clients, test, rand, epochs: options.epochs, tag: () => tag++ }
    const at = (i: number) => clients[i]!
    const users = [at(1), at(2), at(15)]
    const honest = [at(3), at(4), at(5), at(6)]
    const [selfDealer, dumper, grieferAccount, dropperAccount, outsourcerAccount] = [
      at(7),
      at(8),
      at(9),
      at(10),
      at(11),
    ]
    const sybils = [at(12), at(13), at(14)]
    for (const [i, node] of honest.entries())
      await registerSimNode(world, node, DEFAULT_PRICE_PER_BYTE_EPOCH, `10.0.${i}.1`)
    await registerSimNode(world, selfDealer, 0n, '10.1.0.1')
    await registerSimNode(world, dumper, 0n, '10.2.0.1')
    await registerSimNode(world, dropperAccount, DEFAULT_PRICE_PER_BYTE_EPOCH, '10.3.0.1')
    await registerSimNode(world, outsourcerAccount, DEFAULT_PRICE_PER_BYTE_EPOCH, '10.4.0.1')
    const sybil = createSybil(world, sybils, honest, users[2]!)
    await sybil.register()

    const deals = new Map<ChainClient, bigint[]>()
    const held = new Map<ChainClient, Held[]>()
    const value = async (c: ChainClient) => {
      const b = await getBalances(c)
      let escrow = 0n
      for (const dealId of deals.get(c) ?? []) escrow += (await getDeal(c, { dealId })).escrow
      return b.tokens + b.stake + escrow + b.earnings + b.rewards
    }
    const actors = [...honest, selfDealer, dumper, ...sybils]
    const start = new Map(await Promise.all(actors.map(async (c) => [c, await value(c)] as const)))

    const open = async (owner: ChainClient, nodes: ChainClient[], slot: SimSlot) => {
      const { dealId } = await openDeal(world, owner, nodes, slot, {
        durationEpochs: options.epochs + 2,
        maxPricePerByteEpoch: DEFAULT_PRICE_PER_BYTE_EPOCH,
      })
      deals.set(owner, [...(deals.get(owner) ?? []), dealId])
      for (const [i, n] of nodes.entries()) {
        await confirmSlot(n, { dealId, slotIndex: i })
        held.set(n, [...(held.get(n) ?? []), { dealId, slotIndex: i, prove: slot.prove }])
      }
    }
    // Users' files: random sizes (64 KiB..1 MiB), three replicas on three of the four honest nodes.
    for (let f = 0; f < 6; f++) {
      const size = 64 * 1024 + Math.floor(rand() * 960 * 1024)
      const data = randomBytes(rand, size)
      const shuffled = [...honest].sort(() => rand() - 0.5).slice(0, 3)
      await open(users[f % 2]!, shuffled, realSlot(data))
    }
    await open(users[0]!, [dumper], realSlot(randomBytes(rand, 256 * 1024)))
    await open(selfDealer, [selfDealer], zeroSlot(2n ** 63n))

    const griefer = createGriefer(world, grieferAccount, honest[0]!, users[0]!)
    const dropper = createDropper(world, dropperAccount, users, DROPPER_TRIALS)
    const outsourcer = createOutsourcer(world, outsourcerAccount, users[2]!)
    const began = Date.now()
    await griefer.setup()
    await sybil.setup(held)
    await dropper.setup()
    await outsourcer.setup()
    options.log(`setup: ${((Date.now() - began) / 1000).toFixed(1)} s`)

    const step = async () => {
      const info = await getEpochInfo(clients[0]!)
      await test.setNextBlockTimestamp({ timestamp: BigInt(info.genesis + (info.epoch + 1) * epochSeconds) })
      await test.mine({ blocks: 1 })
    }
    let selfDealerWorstEpoch: bigint | undefined
    await step()
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      await dropper.beforeSeed()
      await outsourcer.beforeSeed()
      const seedBlock = (await drawSeed(clients[0]!)).blockNumber
      await outsourcer.early(seedBlock)
      const before = await value(selfDealer)
      for (const [node, slots] of held) {
        const { outcomes } = await proveHeld(node, slots, 32)
        const refused = outcomes.find((o) => !o.accepted)
        if (refused !== undefined && !refused.accepted)
          throw new Error(`a holder's proof was refused: ${refused.error.message}`)
      }
      await griefer.prove(epoch)
      await dropper.prove(epoch)
      await outsourcer.late(seedBlock)
      await step()
      for (const node of actors) {
        const b = await getBalances(node)
        if (b.earnings + b.rewards > 0n) await withdrawEarnings(node)
      }
      const change = (await value(selfDealer)) - before
      if (selfDealerWorstEpoch === undefined || change > selfDealerWorstEpoch) selfDealerWorstEpoch = change
      options.log(`epoch ${epoch}: self-dealer ${change} units`)
    }
    await dropper.finish()
    await outsourcer.finish()

    const net = async (c: ChainClient) => (await value(c)) - start.get(c)!
    const honestNets = await Promise.all(honest.map(net))
    const grief = griefer.summary()
    for (const line of grief.lines) options.log(line)
    const drop = dropper.summary()
    options.log(
      `dropper: first miss at challenge ${drop.ranks.join(', ')} (${drop.misses} misses of ${drop.challenges})`,
    )
    const out = outsourcer.summary()
    options.log(`outsourcer: ${JSON.stringify(out)}`)
    const syb = await sybil.summary()
    options.log(`sybil: ${JSON.stringify(syb)}`)
    const finite = (n: number) => (Number.isFinite(n) ? n : null)
    const round = (n: number) => Math.round(n * 10_000) / 10_000
    let sybilNet = 0n
    for (const s of sybils) sybilNet += await net(s)
    return {
      honest_min_profit: [...honestNets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0]!.toString(),
      self_dealer_net: (await net(selfDealer)).toString(),
      self_dealer_best_epoch: (selfDealerWorstEpoch ?? 0n).toString(),
      zero_price_dumper_net: (await net(dumper)).toString(),
      griefer_cost_to_victim_ratio: round(grief.ratio),
      griefer_ratio_long: round(grief.ratios.long!),
      griefer_ratio_one_epoch: round(grief.ratios.oneEpoch!),
      griefer_ratio_end_before_start: round(grief.ratios.endBeforeStart!),
      griefer_ratio_end_before_start_fresh: round(grief.ratios.endBeforeStartFresh!),
      griefer_victim_worst_net: grief.victimNet.toString(),
      griefer_refused_without_consent: grief.refused,
      dropper_caught_within_challenges: finite(drop.p99),
      dropper_caught_median: finite(drop.median),
      dropper_formula_challenges: drop.formula,
      dropper_trials: DROPPER_TRIALS,
      dropper_uncaught_trials: drop.uncaught,
      dropper_miss_rate: round(drop.missRate),
      dropper_caught_within_from_miss_rate: drop.fromMissRate,
      outsourcer_missed_proof_rate: round(out.whole.rate),
      outsourcer_challenges: out.whole.challenges,
      outsourcer_small_slot_missed_rate: round(out.small.rate),
      outsourcer_colluding_missed_rate: round(out.colluding.rate),
      sybil_stake_share: round(syb.stakeShare!),
      sybil_slot_share_one_range: round(syb.oneRangeSlotShare!),
      sybil_slot_share_three_ranges: round(syb.threeRangesSlotShare!),
      sybil_multi_slot_files_one_range: round(syb.oneRangeMultiSlotFiles!),
      sybil_multi_slot_files_three_ranges: round(syb.threeRangesMultiSlotFiles!),
      sybil_operator_refused: syb.refused,
      sybil_net: sybilNet.toString(),
      seed: options.seed,
      epochs: options.epochs,
    }
  } finally {
    await devchain.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
