import type { Address } from 'viem'
import { type ChainReader, getDeal, getDealCount, getNode, getSlots, marketAbi } from '../chain/index.ts'
import type { AbortOptions } from '../node/index.ts'

/** One deal as `cairn deals --json` prints it (token amounts in units, as decimal strings). */
export interface DealView {
  dealId: string
  manifestCid: string
  size: number
  k: number
  n: number
  startEpoch: number
  endEpoch: number
  closed: boolean
  escrowLeft: string
  paymentPerEpoch: string
  paidSoFar: string
  slots: Array<{
    index: number
    state: string
    holder: Address
    peerId: string | null
    proofsMade: number
    proofsMissed: number
    paid: string
    nextEpoch: number
    /** Slot bytes and the node's price per byte per epoch (token units): paid = proofs x size x price. */
    size: number
    pricePerByteEpoch: string
  }>
}

/**
 * The deals `owner` opened, with each slot's holder, proofs made and missed (from the Market's events) and what it
 * was paid.
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
  // Events and state as of one block: proofs landing meanwhile must not make escrow and payments disagree.
  const blockNumber = await reader.getBlockNumber({ cacheTime: 0 })
  const at = { ...options, blockNumber }
  const count = await getDealCount(reader, at)
  const market = reader.contracts.market
  const [accepted, missed] = await Promise.all([
    reader.getContractEvents({
      address: market,
      abi: marketAbi,
      eventName: 'ProofAccepted',
      fromBlock: params.fromBlock,
      toBlock: blockNumber,
    }),
    reader.getContractEvents({
      address: market,
      abi: marketAbi,
      eventName: 'ProofMissed',
      fromBlock: params.fromBlock,
      toBlock: blockNumber,
    }),
  ])
  const peerIds = new Map<Address, string | null>()
  const out: DealView[] = []
  for (let id = 1n; id <= count; id++) {
    const deal = await getDeal(reader, { dealId: id }, at)
    if (deal.owner.toLowerCase() !== params.owner.toLowerCase()) continue
    const slots = await getSlots(reader, { dealId: id }, at)
    let paidSoFar = 0n
    const slotViews = []
    for (const slot of slots) {
      const mine = (log: { args: { dealId?: bigint | undefined; slot?: bigint | undefined } }) =>
        log.args.dealId === id && Number(log.args.slot) === slot.index
      const proofs = accepted.filter(mine)
      const paid = proofs.reduce((sum, log) => sum + (log.args.payment ?? 0n), 0n)
      paidSoFar += paid
      if (!peerIds.has(slot.node)) {
        const node = await getNode(reader, { account: slot.node }, at).catch(() => undefined)
        peerIds.set(slot.node, node === undefined || node.peerId === '' ? null : node.peerId)
      }
      slotViews.push({
        index: slot.index,
        state: slot.state,
        holder: slot.node,
        peerId: peerIds.get(slot.node) ?? null,
        proofsMade: proofs.length,
        proofsMissed: missed.filter(mine).length,
        paid: paid.toString(),
        nextEpoch: slot.nextEpoch,
        size: Number(slot.size),
        pricePerByteEpoch: slot.pricePerByteEpoch.toString(),
      })
    }
    out.push({
      dealId: id.toString(),
      manifestCid: deal.manifestCid,
      size: Number(deal.size),
      k: deal.k,
      n: deal.n,
      startEpoch: deal.startEpoch,
      endEpoch: deal.endEpoch,
      closed: deal.closed,
      escrowLeft: deal.escrow.toString(),
      paymentPerEpoch: deal.paymentPerEpoch.toString(),
      paidSoFar: paidSoFar.toString(),
      slots: slotViews,
    })
  }
  return out
}
