/**
 * The forced-slash griefer: an account that wants a victim node to owe proofs (gas, and slashes if it fails) for
 * slots it did not choose. Without the node's signed acceptance every deal naming it is refused (SlotNotAccepted).
 * With acceptances (the victim's policy signs any slot at its price whose pieces it holds), the griefer can still
 * buy slots that cost the victim the most gas per payment, and measure what that costs each side:
 * - `long`: deals of the deepest slot that is paid only the minimum payment (2^37 zero bytes, 27-hash proofs), for
 *   the whole run, which the victim proves every epoch;
 * - `oneEpoch`: the same slots for one epoch: the victim pays a confirmation for one payment;
 * - `endBeforeStart`: the griefer ends each deal (endDeal) after the victim confirmed it and before it starts:
 *   the escrow comes back, but for the confirmation fee the Market paid the victim at its confirmation;
 * - `endBeforeStartFresh`: the same, with the victim's earnings withdrawn before each confirmation, so that each
 *   writes them from zero (the dearest confirmation: 74.5 k gas).
 * Gas on both sides is converted at 2 gwei and 1,000 CAIRN per ether (the minimum payment's assumptions). The victim
 * is paid what its earnings grow by: the confirmation fee at each confirmation, the payment at each proof.
 */
import {
  type ChainClient,
  confirmSlot,
  createDeal,
  DEFAULT_PRICE_PER_BYTE_EPOCH,
  DEFAULT_PROTOCOL_FEE_BPS,
  endDeal,
  getBalances,
  signDealAcceptances,
  signSlotAcceptance,
  withdrawEarnings,
} from '../../src/chain/index.ts'
import { type Held, zeroSlot } from './slots.ts'
import { gasInTokens, gasOf, openDeal, proveHeld, type SimWorld } from './world.ts'

type Strategy = 'long' | 'oneEpoch' | 'endBeforeStart' | 'endBeforeStartFresh'

interface Ledger {
  slots: Held[]
  durationEpochs: number
  /** Gas of the griefer's createDeal and endDeal transactions. */
  grieferGas: bigint
  /** Escrow the griefer did not get back: confirmation fees, and payments plus the fee burned with each. */
  grieferTokens: bigint
  /** Gas of the victim's confirmations and proof batches of these slots. */
  victimGas: bigint
  /** Confirmation fees and payments the victim earned from these slots. */
  victimPaid: bigint
}

/** Slots per strategy. */
const DEALS: Record<Strategy, number> = { long: 16, oneEpoch: 8, endBeforeStart: 8, endBeforeStartFresh: 4 }
/** The deepest slot still paid only the minimum payment at the default price (2^37 x 1e6 < 1.4e17). */
const GRIEF_SLOT_SIZE = 2n ** 37n

export function createGriefer(world: SimWorld, griefer: ChainClient, victim: ChainClient, user: ChainClient) {
  const ledgers = new Map<Strategy, Ledger>()
  const refused: string[] = []
  const slot = zeroSlot(GRIEF_SLOT_SIZE)
  const price = { maxPricePerByteEpoch: DEFAULT_PRICE_PER_BYTE_EPOCH }

  /** Deals naming the victim without its consent: each must be refused by the Market. */
  async function tryWithoutConsent() {
    const terms = () => ({
      manifestCid: `bafygrief${world.tag()}`,
      size: slot.size,
      k: 1,
      slots: [{ root: slot.root, size: slot.size, node: victim.account.address }],
      durationEpochs: world.epochs + 2,
      ...price,
    })
    const expiry = Number((await griefer.getBlock()).timestamp) + 600
    const own = terms()
    const signedByGriefer = await signSlotAcceptance(griefer, {
      terms: { client: griefer.account.address, manifestCid: own.manifestCid, slotIndex: 0, ...slotTerms(own) },
      expiry,
    })
    // An acceptance the victim really signed, for a user's deal, replayed by the griefer under its own account.
    const usersDeal = terms()
    const stolen = (await signDealAcceptances(user, [victim], usersDeal)).slots[0]!
    const attempts = [
      { name: 'no acceptance', params: own },
      {
        name: "the griefer's own signature",
        params: { ...own, slots: [{ ...own.slots[0]!, acceptance: signedByGriefer }] },
      },
      { name: "the victim's acceptance of a user's deal", params: { ...usersDeal, slots: [stolen] } },
    ]
    for (const attempt of attempts) {
      try {
        await createDeal(griefer, attempt.params)
        throw new Error(`the Market opened a deal naming the victim with ${attempt.name}`)
      } catch (error) {
        const details = (error as { details?: { errorName?: string; args?: unknown[] } }).details
        if (details?.errorName !== 'SlotNotAccepted') throw error
        refused.push(`${attempt.name}: SlotNotAccepted(${String(details.args?.[2])})`)
      }
    }
  }

  return {
    /** Runs the refused attempts and opens the consented deals (call in the epoch before the run starts). */
    async setup() {
      await tryWithoutConsent()
      for (const strategy of Object.keys(DEALS) as Strategy[]) {
        const ledger: Ledger = {
          slots: [],
          durationEpochs: strategy === 'oneEpoch' ? 1 : world.epochs + 2,
          grieferGas: 0n,
          grieferTokens: 0n,
          victimGas: 0n,
          victimPaid: 0n,
        }
        ledgers.set(strategy, ledger)
        for (let i = 0; i < DEALS[strategy]; i++) {
          const { dealId, gas } = await openDeal(world, griefer, [victim], slot, {
            durationEpochs: ledger.durationEpochs,
            ...price,
          })
          ledger.grieferGas += gas
          if (strategy === 'endBeforeStartFresh' && (await getBalances(victim)).earnings > 0n) {
            await withdrawEarnings(victim) // the victim's own choice: its gas is not the griefer's doing
          }
          // The victim's node confirms as soon as it sees a deal it accepted (src/node/chain-service/confirm-slots.ts).
          const before = (await getBalances(victim)).earnings
          ledger.victimGas += (await confirmSlot(victim, { dealId, slotIndex: 0 })).gasUsed
          const fee = (await getBalances(victim)).earnings - before
          ledger.victimPaid += fee
          ledger.grieferTokens += fee
          if (strategy === 'endBeforeStart' || strategy === 'endBeforeStartFresh') {
            const ended = await endDeal(griefer, { dealId })
            ledger.grieferGas += await gasOf(griefer, ended.transactionHash)
          } else ledger.slots.push({ dealId, slotIndex: 0, prove: slot.prove })
        }
      }
    },
    /** The victim proves the griefer's slots of epoch `index` of the run, one batch per strategy. */
    async prove(index: number) {
      for (const ledger of ledgers.values()) {
        if (ledger.slots.length === 0 || index >= ledger.durationEpochs) continue
        const { outcomes, gas } = await proveHeld(victim, ledger.slots)
        ledger.victimGas += gas
        for (const o of outcomes) {
          if (!o.accepted) throw new Error(`the victim's proof of a griefer slot was refused: ${o.error.message}`)
          ledger.victimPaid += o.payment
          ledger.grieferTokens += o.payment + (o.payment * BigInt(DEFAULT_PROTOCOL_FEE_BPS) + 9_999n) / 10_000n
        }
      }
    },
    /**
     * Per strategy: the victim's loss (gas in CAIRN minus what it was paid, 0 when it gained) over the griefer's
     * spend; the worst is the figure. `victimNet`: the victim's worst net in units (positive: it gained).
     */
    summary() {
      const ratios: Record<string, number> = {}
      let victimNet: bigint | undefined
      const lines: string[] = [...refused.map((r) => `griefer refused: ${r}`)]
      for (const [strategy, l] of ledgers) {
        const loss = gasInTokens(l.victimGas) - l.victimPaid
        const spend = l.grieferTokens + gasInTokens(l.grieferGas)
        ratios[strategy] = Number(loss > 0n ? loss : 0n) / Number(spend)
        if (victimNet === undefined || -loss < victimNet) victimNet = -loss
        lines.push(
          `griefer ${strategy}: victim gas ${l.victimGas} (${gasInTokens(l.victimGas)} units) paid ${l.victimPaid}, loss ${loss}; griefer spend ${spend} (gas ${l.grieferGas}); ratio ${ratios[strategy]!.toFixed(4)}`,
        )
      }
      return {
        ratio: Math.max(...Object.values(ratios)),
        ratios,
        victimNet: victimNet ?? 0n,
        refused: refused.length,
        lines,
      }
    },
  }
}

function slotTerms(params: {
  slots: Array<{ root: `0x${string}` | Uint8Array; size: bigint }>
  maxPricePerByteEpoch: bigint
  durationEpochs: number
}) {
  const s = params.slots[0]!
  return {
    root: s.root as `0x${string}`,
    size: s.size,
    maxPricePerByteEpoch: params.maxPricePerByteEpoch,
    durationEpochs: params.durationEpochs,
  }
}
