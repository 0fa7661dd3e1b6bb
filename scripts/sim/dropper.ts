/**
 * The dropper: a node that threw away 10 % of every slot's leaves (10 of the 100 leaves of a 100 KiB slot, chosen
 * at random per slot) and answers every challenge it still can. A challenge on a dropped leaf gets a forged leaf,
 * which the Market refuses (InvalidProof); the watcher then records the missed epoch (ProofMissed, a slash): that
 * is when the dropper is caught. Its slots are grouped into trials of `slotsPerTrial` slots, each trial a stream of
 * challenges in (epoch, slot) order; a trial's figure is the rank of the first challenge the chain recorded as
 * missed. The formula for a fraction f dropped: P(caught within n) = 1 - (1 - f)^n, 44 challenges for 99 %.
 */
import { type ChainClient, confirmSlot, DEFAULT_PRICE_PER_BYTE_EPOCH, getChallenge } from '../../src/chain/index.ts'
import { percentile, sample } from './random.ts'
import { randomBytes, realSlot } from './slots.ts'
import { openDeal, proveHeld, reportSlot, type SimWorld } from './world.ts'

const LEAVES = 100
const DROPPED = 10

interface DropperSlot {
  dealId: bigint
  trial: number
  position: number
  dropped: Set<number>
  opened: boolean
  /** Run epoch whose proof the chain did not accept (to be reported once it has passed). */
  unproved?: number | undefined
}

export function createDropper(world: SimWorld, dropper: ChainClient, owners: ChainClient[], trials: number) {
  // Enough slots per trial that a trial is caught within the run with probability >= 99.9 % (64 challenges).
  const slotsPerTrial = Math.ceil(64 / world.epochs)
  const slot = realSlot(randomBytes(world.rand, LEAVES * 1024))
  const slots: DropperSlot[] = []
  /** Per trial: the rank of its first challenge recorded as missed. */
  const caughtAt = new Map<number, number>()
  let challenges = 0
  let misses = 0

  async function report() {
    for (const s of slots) {
      if (s.unproved === undefined) continue
      const { missed, opened } = await reportSlot(world, s.dealId, 0)
      if (missed === 0)
        throw new Error(`the dropper's unproved epoch ${s.unproved} of deal ${s.dealId} was not recorded`)
      misses += missed
      const rank = s.unproved * slotsPerTrial + s.position + 1
      if (rank < (caughtAt.get(s.trial) ?? Number.POSITIVE_INFINITY)) caughtAt.set(s.trial, rank)
      s.opened ||= opened
      s.unproved = undefined
    }
  }

  return {
    slotsPerTrial,
    async setup() {
      // One deal-opening worker per owner account, in parallel (each account sends its transactions in turn).
      const jobs = Array.from({ length: trials * slotsPerTrial }, (_, i) => ({
        trial: Math.floor(i / slotsPerTrial),
        position: i % slotsPerTrial,
        dropped: sample(world.rand, LEAVES, DROPPED),
      }))
      let next = 0
      await Promise.all(
        owners.map(async (owner) => {
          for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
            const { dealId } = await openDeal(world, owner, [dropper], slot, {
              durationEpochs: world.epochs + 2,
              maxPricePerByteEpoch: DEFAULT_PRICE_PER_BYTE_EPOCH,
            })
            await confirmSlot(dropper, { dealId, slotIndex: 0 })
            slots.push({ dealId, ...job, opened: false })
          }
        }),
      )
      slots.sort((a, b) => a.trial - b.trial || a.position - b.position)
    },
    /** Before the seed of run epoch `index`: the watcher reports what the dropper missed. */
    beforeSeed: report,
    /** The dropper answers epoch `index`'s challenges: real leaves where it has them, forged ones where not. */
    async prove(index: number) {
      const live = slots.filter((s) => !s.opened)
      const forged = new Set<bigint>()
      await Promise.all(
        live.map(async (s) => {
          const challenge = await getChallenge(dropper, { dealId: s.dealId, slotIndex: 0 })
          if (s.dropped.has(challenge!.leafIndex)) forged.add(s.dealId)
        }),
      )
      const held = live.map((s) => ({
        dealId: s.dealId,
        slotIndex: 0,
        prove: (i: number) => {
          const real = slot.prove(i)
          return forged.has(s.dealId) ? { leaf: new Uint8Array(real.leaf.length), proof: real.proof } : real
        },
      }))
      const { outcomes } = await proveHeld(dropper, held)
      challenges += live.length
      for (const [i, o] of outcomes.entries()) {
        const s = live[i]!
        const refused = !o.accepted && (o.error as { details?: { errorName?: string } }).details?.errorName
        if (o.accepted === forged.has(s.dealId) || (!o.accepted && refused !== 'InvalidProof')) {
          throw new Error(`dropper slot ${s.dealId}: unexpected outcome ${o.accepted ? 'accepted' : o.error.message}`)
        }
        if (!o.accepted) s.unproved = index
      }
    },
    /** After the last epoch: reports its misses too. */
    finish: report,
    summary() {
      const ranks = Array.from({ length: trials }, (_, t) => caughtAt.get(t) ?? Number.POSITIVE_INFINITY)
      const rate = misses / challenges
      return {
        p99: percentile(ranks, 99),
        median: percentile(ranks, 50),
        uncaught: ranks.filter((r) => r === Number.POSITIVE_INFINITY).length,
        missRate: rate,
        fromMissRate: Math.ceil(Math.log(0.01) / Math.log(1 - rate)),
        formula: Math.ceil(Math.log(0.01) / Math.log(1 - DROPPED / LEAVES)),
        ranks,
        challenges,
        misses,
      }
    },
  }
}
