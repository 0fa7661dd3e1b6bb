/**
 * The one read of deals from the chain, shared by `cairn deals`, `cairn wallet` and the gateway's dashboard: deal
 * state, slot state, holders and the Market's proof events, all as of ONE block, so that escrow left and payments
 * made always agree (a proof landing mid-read would otherwise be counted in one and not the other).
 */
import type { Address } from 'viem'
import {
  type ChainEvent,
  type ChainReader,
  createEventLog,
  type DealRecord,
  type EventLog,
  getConfirmationFee,
  getDeal,
  getDealCount,
  getEpochInfo,
  getNode,
  getSlots,
} from '../chain/index.ts'
import type { AbortOptions } from '../net/index.ts'

/** One slot of a deal as `cairn deals --json` prints it. */
export interface DealSlotView {
  index: number
  state: string
  holder: Address
  peerId: string | null
  proofsMade: number
  proofsMissed: number
  /** Proof payments and confirmation fees paid to this slot's holders (token units). */
  paid: string
  nextEpoch: number
  /** Slot bytes and the node's price per byte per epoch (token units): paid = proofs x size x price + fees. */
  size: number
  pricePerByteEpoch: string
}

/** One deal as `cairn deals --json` prints it (token amounts in units, as decimal strings). */
export interface DealView {
  dealId: string
  manifestCid: string
  size: number
  k: number
  n: number
  startEpoch: number
  /** The deal runs while epoch < endEpoch. */
  endEpoch: number
  /** Unix seconds (chain time) when the deal's last epoch ends: endEpoch's start. */
  expiresAt: number
  /** Epochs before the end, from the current epoch (0 once ended). */
  epochsLeft: number
  closed: boolean
  escrowLeft: string
  paymentPerEpoch: string
  paidSoFar: string
  slots: DealSlotView[]
}

/** A deal as read at one block: what the CLI prints, and what the dashboard shows besides. */
export interface DealSnapshot {
  view: DealView
  /** The account that opened the deal. */
  owner: Address
  /** Per slot, in slot order: the chain's miss counter and the epoch of the slot's last accepted proof, if any. */
  slots: Array<{ misses: number; lastProofEpoch?: number }>
}

export interface ReadDealsParams {
  /** First block to read proof events from (the Market's deployment block). */
  fromBlock: bigint
  /** Only the deals this account opened; every deal when absent. */
  owner?: Address
  /** At most this many of the newest deals (after the owner filter); all when absent. */
  maxDeals?: number
}

/** Deals read (`getDeal`) at a time while looking for the newest ones. */
const DEAL_READ_BATCH = 16

const slotKey = (log: ChainEvent): string => `${log.args.dealId}/${Number(log.args.slot)}`

/**
 * The proof events of each reader, read once from the first block and then only the blocks added since: a long-lived
 * reader (the gateway's dashboard) never reads the whole history again; a one-shot command (`cairn deals`, `cairn
 * wallet`) reads it once, in block windows.
 */
const proofLogs = new WeakMap<ChainReader, Map<bigint, EventLog>>()
function proofLogOf(reader: ChainReader, fromBlock: bigint): EventLog {
  let byStart = proofLogs.get(reader)
  if (byStart === undefined) proofLogs.set(reader, (byStart = new Map()))
  let log = byStart.get(fromBlock)
  if (log === undefined) {
    log = createEventLog(reader, {
      contract: 'market',
      eventNames: ['ProofAccepted', 'ProofMissed', 'SlotConfirmed'],
      fromBlock,
    })
    byStart.set(fromBlock, log)
  }
  return log
}

/**
 * Deals with each slot's holder, proofs made and missed (from the Market's events) and what it was paid, all read at
 * the latest block number. Returned in ascending deal ID order.
 *
 * @example
 * ```ts
 * const mine = await readDeals(reader, { fromBlock, owner })
 * const newest = await readDeals(reader, { fromBlock, maxDeals: 100 })
 * ```
 */
export async function readDeals(
  reader: ChainReader,
  params: ReadDealsParams,
  options: AbortOptions = {},
): Promise<DealSnapshot[]> {
  // Events and state as of one block: proofs landing meanwhile must not make escrow and payments disagree.
  const blockNumber = await reader.getBlockNumber({ cacheTime: 0 })
  const at = { ...options, blockNumber }
  const count = await getDealCount(reader, at)
  const [proofs, chosen, epoch, confirmationFee] = await Promise.all([
    proofLogOf(reader, params.fromBlock).readTo(blockNumber, options),
    newestDeals(reader, count, params, at),
    getEpochInfo(reader, options),
    getConfirmationFee(reader, at),
  ])
  const accepted = proofs.filter((e) => e.eventName === 'ProofAccepted')
  const missed = proofs.filter((e) => e.eventName === 'ProofMissed')
  const acceptedBySlot = groupBy(accepted, slotKey)
  const missedBySlot = groupBy(missed, slotKey)
  const confirmedBySlot = groupBy(
    proofs.filter((e) => e.eventName === 'SlotConfirmed'),
    slotKey,
  )
  const slotsOf = await Promise.all(chosen.map(({ id }) => getSlots(reader, { dealId: id }, at)))
  const holders = [...new Set(slotsOf.flat().map((slot) => slot.node))]
  const peerIds = new Map(
    await Promise.all(
      holders.map(async (holder) => {
        const node = await getNode(reader, { account: holder }, at).catch(() => undefined)
        return [holder, node === undefined || node.peerId === '' ? null : node.peerId] as const
      }),
    ),
  )
  return chosen.map(({ id, deal }, i) => {
    const slots = slotsOf[i] ?? []
    let paidSoFar = 0n
    const extra: DealSnapshot['slots'] = []
    const slotViews = slots.map((slot): DealSlotView => {
      const proofs = acceptedBySlot.get(`${id}/${slot.index}`) ?? []
      // each proof's payment, and the confirmation fee each confirmation of the slot was paid
      const confirmations = BigInt(confirmedBySlot.get(`${id}/${slot.index}`)?.length ?? 0)
      const paid =
        proofs.reduce((sum, log) => sum + BigInt((log.args.payment as bigint | undefined) ?? 0n), 0n) +
        confirmations * confirmationFee
      paidSoFar += paid
      const last = proofs.at(-1)?.args.epoch
      extra.push(last === undefined ? { misses: slot.misses } : { misses: slot.misses, lastProofEpoch: Number(last) })
      return {
        index: slot.index,
        state: slot.state,
        holder: slot.node,
        peerId: peerIds.get(slot.node) ?? null,
        proofsMade: proofs.length,
        proofsMissed: missedBySlot.get(`${id}/${slot.index}`)?.length ?? 0,
        paid: paid.toString(),
        nextEpoch: slot.nextEpoch,
        size: Number(slot.size),
        pricePerByteEpoch: slot.pricePerByteEpoch.toString(),
      }
    })
    const view: DealView = {
      dealId: id.toString(),
      manifestCid: deal.manifestCid,
      size: Number(deal.size),
      k: deal.k,
      n: deal.n,
      startEpoch: deal.startEpoch,
      endEpoch: deal.endEpoch,
      expiresAt: epoch.genesis + deal.endEpoch * epoch.epochSeconds,
      epochsLeft: deal.closed ? 0 : Math.max(0, deal.endEpoch - epoch.epoch),
      closed: deal.closed,
      escrowLeft: deal.escrow.toString(),
      paymentPerEpoch: deal.paymentPerEpoch.toString(),
      paidSoFar: paidSoFar.toString(),
      slots: slotViews,
    }
    return { view, owner: deal.owner, slots: extra }
  })
}

/**
 * The deals `owner` opened, with each slot's holder, proofs made and missed and what it was paid, as
 * `cairn deals --json` prints them.
 *
 * @example
 * ```ts
 * const deals = await userDeals(reader, { owner, fromBlock })
 * ```
 */
export async function userDeals(
  reader: ChainReader,
  params: { owner: Address; fromBlock: bigint },
  options: AbortOptions = {},
): Promise<DealView[]> {
  const deals = await readDeals(reader, params, options)
  return deals.map((deal) => deal.view)
}

/** The newest deals matching `params` (owner, at most `maxDeals`), in ascending ID order. */
async function newestDeals(
  reader: ChainReader,
  count: bigint,
  params: ReadDealsParams,
  at: AbortOptions & { blockNumber: bigint },
): Promise<Array<{ id: bigint; deal: DealRecord }>> {
  const max = params.maxDeals ?? Number.POSITIVE_INFINITY
  const owner = params.owner?.toLowerCase()
  const chosen: Array<{ id: bigint; deal: DealRecord }> = []
  for (let next = count; next >= 1n && chosen.length < max; next -= BigInt(DEAL_READ_BATCH)) {
    const ids: bigint[] = []
    for (let id = next; id >= 1n && id > next - BigInt(DEAL_READ_BATCH); id--) ids.push(id)
    const deals = await Promise.all(ids.map((dealId) => getDeal(reader, { dealId }, at)))
    for (const [i, deal] of deals.entries()) {
      if (chosen.length >= max) break
      if (owner === undefined || deal.owner.toLowerCase() === owner) chosen.push({ id: ids[i] ?? 0n, deal })
    }
  }
  return chosen.reverse()
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const k = key(item)
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [item])
    else group.push(item)
  }
  return groups
}
