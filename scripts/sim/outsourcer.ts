/**
 * The outsourcer: a node that keeps none of its slots' bytes and, once an epoch's seed is drawn, fetches what it
 * needs to answer from the other holders. Modelled on the chain: the proof is sent at the block the fetch ends
 * (seed block + fetch latency), and the Market accepts it only within `responseWindowBlocks` of the seed block.
 *
 * Assumptions (stated, not measured): 12 s blocks (Ethereum), a downlink drawn per fetch from 0.5 to 1 Gbit/s (a
 * well-connected attacker), one more block to include the proof.
 * - `whole` (the non-colluding case): a holder serves pieces, not Merkle paths, so to build the challenged leaf's
 *   path the outsourcer fetches the whole slot: 64 GiB slots take 550 to 1,100 s, 46 to 93 blocks, against a
 *   window of 25 blocks (300 s, 18.75 to 37.5 GB at these rates).
 * - `small`: the same whole-slot fetch of 1 GiB slots (9 to 18 s): it lands inside the window. The window only
 *   stops slots above bandwidth x window.
 * - `colluding`: a holder that keeps the slot hands over the one 1 KiB leaf and its path: one block. The window does
 *   not stop collusion; the Market's one slot per node and per declared operator and the Sybil figures bound it.
 */
import {
  type ChainClient,
  confirmSlot,
  DEFAULT_PRICE_PER_BYTE_EPOCH,
  getChallenge,
  submitProofs,
} from '../../src/chain/index.ts'
import { type SimSlot, zeroSlot } from './slots.ts'
import { mineTo, openDeal, reportSlot, type SimWorld } from './world.ts'

export type OutsourcerCase = 'whole' | 'small' | 'colluding'

const BLOCK_SECONDS = 12
const SLOTS: Record<OutsourcerCase, { count: number; size: bigint }> = {
  whole: { count: 24, size: 2n ** 36n },
  small: { count: 8, size: 2n ** 30n },
  colluding: { count: 8, size: 2n ** 36n },
}
/** Fetches at most this many blocks long go before the honest nodes' proofs, the rest after them. */
const EARLY_BLOCKS = 3

interface OutsourcedSlot {
  dealId: bigint
  kind: OutsourcerCase
  slot: SimSlot
  opened: boolean
  latency: number
  unproved: boolean
}

export function createOutsourcer(world: SimWorld, outsourcer: ChainClient, owner: ChainClient) {
  const slots: OutsourcedSlot[] = []
  const tally = new Map<OutsourcerCase, { challenges: number; missed: number; latencies: number[] }>()
  for (const kind of Object.keys(SLOTS) as OutsourcerCase[])
    tally.set(kind, { challenges: 0, missed: 0, latencies: [] })
  const latency = (kind: OutsourcerCase, size: bigint) => {
    if (kind === 'colluding') return 1
    const bitsPerSecond = 0.5e9 + world.rand() * 0.5e9
    return Math.ceil((Number(size) * 8) / bitsPerSecond / BLOCK_SECONDS) + 1
  }

  /** Proves the slots whose fetch ends by now, latency by latency, each at seed block + its latency. */
  async function proveWithin(seedBlock: bigint, early: boolean) {
    const due = slots.filter((s) => !s.opened && s.latency <= EARLY_BLOCKS === early)
    for (const l of [...new Set(due.map((s) => s.latency))].sort((a, b) => a - b)) {
      const group = due.filter((s) => s.latency === l)
      // The proof transaction is mined in the next block: send it once the chain is at seed block + latency - 1.
      await mineTo(world, seedBlock + BigInt(l - 1))
      const proofs = await Promise.all(
        group.map(async (s) => {
          const challenge = await getChallenge(outsourcer, { dealId: s.dealId, slotIndex: 0 })
          return { dealId: s.dealId, slotIndex: 0, ...s.slot.prove(challenge!.leafIndex) }
        }),
      )
      const outcomes = await submitProofs(outsourcer, proofs, { maxPerTransaction: 128 })
      for (const [i, o] of outcomes.entries()) {
        const s = group[i]!
        const reason = !o.accepted && (o.error as { details?: { errorName?: string } }).details?.errorName
        if (!o.accepted && reason !== 'ResponseWindowClosed') throw new Error(`outsourcer: ${o.error.message}`)
        s.unproved = !o.accepted
        tally.get(s.kind)!.challenges++
      }
    }
  }

  return {
    async setup() {
      for (const [kind, { count, size }] of Object.entries(SLOTS) as Array<[OutsourcerCase, (typeof SLOTS)['whole']]>) {
        const slot = zeroSlot(size)
        for (let i = 0; i < count; i++) {
          const { dealId } = await openDeal(world, owner, [outsourcer], slot, {
            durationEpochs: world.epochs + 2,
            maxPricePerByteEpoch: DEFAULT_PRICE_PER_BYTE_EPOCH,
          })
          await confirmSlot(outsourcer, { dealId, slotIndex: 0 })
          slots.push({ dealId, kind, slot, opened: false, latency: 0, unproved: false })
        }
      }
    },
    /** Before the seed: the watcher records last epoch's misses (ProofMissed); a fresh fetch latency per slot. */
    async beforeSeed() {
      for (const s of slots) {
        if (s.unproved) {
          const { missed, opened } = await reportSlot(world, s.dealId, 0)
          tally.get(s.kind)!.missed += missed
          s.opened ||= opened
          s.unproved = false
        }
        if (s.opened) continue
        s.latency = latency(s.kind, s.slot.size)
        tally.get(s.kind)!.latencies.push(s.latency)
      }
    },
    /** Right after the seed: fetches short enough to come before the honest proofs. */
    early: (seedBlock: bigint) => proveWithin(seedBlock, true),
    /** After the honest proofs: the long fetches. */
    late: (seedBlock: bigint) => proveWithin(seedBlock, false),
    /** After the last epoch: records its misses too. */
    async finish() {
      for (const s of slots) {
        if (!s.unproved) continue
        tally.get(s.kind)!.missed += (await reportSlot(world, s.dealId, 0)).missed
        s.unproved = false
      }
    },
    summary() {
      const rate = (kind: OutsourcerCase) => {
        const t = tally.get(kind)!
        return { rate: t.missed / t.challenges, challenges: t.challenges, minLatency: Math.min(...t.latencies) }
      }
      return { whole: rate('whole'), small: rate('small'), colluding: rate('colluding') }
    },
  }
}
