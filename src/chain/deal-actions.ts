import { type Address, bytesToString, type Hex, hexToBytes, parseEventLogs, stringToBytes, toHex } from 'viem'
import { InvalidArgumentError } from '../errors.ts'
import { atBlock } from './chain-client.ts'
import { toCairnError } from './contract-errors.ts'
import { marketAbi } from './generated/index.ts'
import type {
  ChainCallOptions,
  ChainClient,
  ChainReader,
  DealRecord,
  PaymentMethod,
  SlotRecord,
  SlotState,
} from './interface.ts'
import { readChainLogs } from './log-reader.ts'
import { encodeSlotAcceptance, rootHex, type SlotAcceptance } from './slot-acceptance.ts'
import { signPermit } from './token-actions.ts'
import { sendTransaction } from './transaction.ts'

const SLOT_STATE: SlotState[] = ['pending', 'active', 'open']

export interface CreateDealParams {
  /** The manifest's CID in text form. */
  manifestCid: string
  /** Plaintext size of the file, bytes. */
  size: bigint
  k: number
  /**
   * One Merkle root per slot (n = slots.length), its byte size, the node the client uploaded it to, and that node's
   * signed consent to these terms (`signSlotAcceptance`; without it the Market refuses the slot: `SlotNotAccepted`).
   */
  slots: Array<{ root: Hex | Uint8Array; size: bigint; node: Address; acceptance?: SlotAcceptance }>
  durationEpochs: number
  maxPricePerByteEpoch: bigint
  /** 'permit' (default): one transaction with a signed permit; 'allowance': uses a prior `approve`. */
  payment?: PaymentMethod
}

export interface CreatedDeal {
  dealId: bigint
  escrow: bigint
  startEpoch: number
  endEpoch: number
  transactionHash: Hex
}

/**
 * The escrow `createDeal` will pull, as the Market computes it (`Market.quoteDeal`): per slot and epoch, the node's
 * payment max(price x bytes, minPaymentPerSlotEpoch) plus the protocol fee burned with it, times the epochs, plus
 * one confirmation fee per slot (`getConfirmationFee`, paid to the node when it confirms).
 *
 * @example
 * ```ts
 * const escrow = await quoteDeal(reader, params)
 * ```
 */
export async function quoteDeal(
  client: ChainReader,
  params: Pick<CreateDealParams, 'slots' | 'durationEpochs'>,
  options: ChainCallOptions = {},
): Promise<bigint> {
  try {
    return await client.readContract({
      address: client.contracts.market,
      abi: marketAbi,
      functionName: 'quoteDeal',
      args: [params.slots.map((s) => s.node), params.slots.map((s) => s.size), params.durationEpochs],
    })
  } catch (error) {
    throw toCairnError(error, 'quoteDeal', options.signal)
  }
}

/**
 * What the Market pays a slot's node when it confirms the slot, out of the deal's escrow (its confirmation's gas at
 * the configured gas price; 0 on a devchain). `quoteDeal` includes one per slot.
 *
 * @example
 * ```ts
 * const fee = await getConfirmationFee(reader)
 * ```
 */
export async function getConfirmationFee(client: ChainReader, options: ChainCallOptions = {}): Promise<bigint> {
  try {
    return await client.readContract({
      address: client.contracts.market,
      abi: marketAbi,
      functionName: 'confirmationFee',
      ...(options.blockNumber === undefined ? {} : { blockNumber: options.blockNumber }),
    })
  } catch (error) {
    throw toCairnError(error, 'confirmationFee', options.signal)
  }
}

/**
 * Opens a storage deal and pays its escrow. Every slot carries its node's signed acceptance of the deal's terms. The
 * deal starts at the next epoch; every named node must then `confirmSlot`.
 *
 * @example
 * ```ts
 * const { dealId } = await createDeal(client, { manifestCid: cid.toString(), size: 5_000_000n, k: 1,
 *   slots: roots.map((root, i) => ({ root, size: slotSizes[i]!, node: nodes[i]!, acceptance: accepted[i] })),
 *   durationEpochs: 720, maxPricePerByteEpoch: 2_000_000n })
 * ```
 */
export async function createDeal(
  client: ChainClient,
  params: CreateDealParams,
  options: ChainCallOptions = {},
): Promise<CreatedDeal> {
  if (!Number.isInteger(params.k) || params.k < 1 || params.k > 255) {
    throw new InvalidArgumentError(`invalid k ${params.k}`)
  }
  if (!Number.isInteger(params.durationEpochs) || params.durationEpochs < 0 || params.durationEpochs >= 2 ** 32) {
    throw new InvalidArgumentError(`invalid duration ${params.durationEpochs}`)
  }
  const dealParams = {
    manifestCid: toHex(stringToBytes(params.manifestCid)),
    size: params.size,
    k: params.k,
    slotRoots: params.slots.map((s) => rootHex(s.root)),
    slotSizes: params.slots.map((s) => s.size),
    nodes: params.slots.map((s) => s.node),
    durationEpochs: params.durationEpochs,
    maxPricePerByteEpoch: params.maxPricePerByteEpoch,
    acceptances: params.slots.map((s) => encodeSlotAcceptance(s.acceptance)),
  }
  const market = client.contracts.market
  let receipt: Awaited<ReturnType<typeof sendTransaction>>
  if ((params.payment ?? 'permit') === 'permit') {
    // Quote and sign inside the account's turn: concurrent deals of one wallet must not sign the same permit nonce.
    receipt = await sendTransaction(
      client,
      'createDeal',
      async () => {
        const value = await quoteDeal(client, params, options)
        const permit = await signPermit(client, { spender: 'market', value }, options)
        return {
          address: market,
          abi: marketAbi,
          functionName: 'createDealWithPermit' as const,
          args: [dealParams, permit] as const,
        }
      },
      options,
    )
  } else {
    receipt = await sendTransaction(
      client,
      'createDeal',
      { address: market, abi: marketAbi, functionName: 'createDeal', args: [dealParams] },
      options,
    )
  }
  const [created] = parseEventLogs({ abi: marketAbi, eventName: 'DealCreated', logs: receipt.logs })
  if (created === undefined) throw new InvalidArgumentError('createDeal: the receipt has no DealCreated event')
  return {
    dealId: created.args.dealId,
    escrow: created.args.escrow,
    startEpoch: Number(created.args.startEpoch),
    endEpoch: Number(created.args.endEpoch),
    transactionHash: receipt.transactionHash,
  }
}

/**
 * The named node accepts its slot (it holds the slot's data and will prove it every epoch).
 *
 * @example
 * ```ts
 * await confirmSlot(nodeClient, { dealId, slotIndex: 2 })
 * ```
 */
export async function confirmSlot(
  client: ChainClient,
  params: { dealId: bigint; slotIndex: number },
  options: ChainCallOptions = {},
) {
  return sendTransaction(
    client,
    'confirmSlot',
    {
      address: client.contracts.market,
      abi: marketAbi,
      functionName: 'confirmSlot',
      args: [params.dealId, BigInt(params.slotIndex)],
    },
    options,
  )
}

/**
 * Extends a running deal by `extraEpochs`, paying paymentPerEpoch x extraEpochs.
 *
 * @example
 * ```ts
 * await topUpDeal(client, { dealId, extraEpochs: 24 })
 * ```
 */
export async function topUpDeal(
  client: ChainClient,
  params: { dealId: bigint; extraEpochs: number; payment?: PaymentMethod },
  options: ChainCallOptions = {},
) {
  const market = client.contracts.market
  const args = [params.dealId, params.extraEpochs] as const
  if ((params.payment ?? 'permit') === 'permit') {
    const deal = await getDeal(client, { dealId: params.dealId }, options)
    const value = deal.paymentPerEpoch * BigInt(params.extraEpochs)
    const permit = await signPermit(client, { spender: 'market', value }, options)
    return sendTransaction(
      client,
      'topUp',
      { address: market, abi: marketAbi, functionName: 'topUpWithPermit', args: [...args, permit] },
      options,
    )
  }
  return sendTransaction(client, 'topUp', { address: market, abi: marketAbi, functionName: 'topUp', args }, options)
}

/**
 * The owner ends a deal after the current epoch and gets the unspent escrow back.
 *
 * @example
 * ```ts
 * await endDeal(client, { dealId })
 * ```
 */
export async function endDeal(client: ChainClient, params: { dealId: bigint }, options: ChainCallOptions = {}) {
  return sendTransaction(
    client,
    'endDeal',
    { address: client.contracts.market, abi: marketAbi, functionName: 'endDeal', args: [params.dealId] },
    options,
  )
}

/**
 * After a deal's last epoch: settles its missed proofs, frees its slots and refunds the owner. Anyone may call it.
 *
 * @example
 * ```ts
 * await closeDeal(client, { dealId })
 * ```
 */
export async function closeDeal(client: ChainClient, params: { dealId: bigint }, options: ChainCallOptions = {}) {
  return sendTransaction(
    client,
    'closeDeal',
    { address: client.contracts.market, abi: marketAbi, functionName: 'closeDeal', args: [params.dealId] },
    options,
  )
}

/**
 * Pays the client its earnings and mints its rewards (pull payment).
 *
 * @example
 * ```ts
 * await withdrawEarnings(nodeClient)
 * ```
 */
export async function withdrawEarnings(client: ChainClient, options: ChainCallOptions = {}) {
  return sendTransaction(
    client,
    'withdraw',
    { address: client.contracts.market, abi: marketAbi, functionName: 'withdraw', args: [] },
    options,
  )
}

/**
 * A deal's state.
 *
 * @example
 * ```ts
 * const deal = await getDeal(reader, { dealId: 1n })
 * ```
 */
export async function getDeal(
  client: ChainReader,
  params: { dealId: bigint },
  options: ChainCallOptions = {},
): Promise<DealRecord> {
  try {
    const d = await client.readContract({
      address: client.contracts.market,
      abi: marketAbi,
      functionName: 'getDeal',
      args: [params.dealId],
      ...atBlock(options),
    })
    return {
      id: d.id,
      owner: d.owner,
      manifestCid: bytesToString(hexToBytes(d.manifestCid)),
      size: d.size,
      k: d.k,
      n: d.n,
      startEpoch: d.startEpoch,
      endEpoch: d.endEpoch,
      escrow: d.escrow,
      paymentPerEpoch: d.paymentPerEpoch,
      maxPricePerByteEpoch: d.maxPricePerByteEpoch,
      closed: d.closed,
    }
  } catch (error) {
    throw toCairnError(error, 'getDeal', options.signal)
  }
}

/**
 * One slot of a deal.
 *
 * @example
 * ```ts
 * const slot = await getSlot(reader, { dealId, slotIndex: 0 })
 * ```
 */
export async function getSlot(
  client: ChainReader,
  params: { dealId: bigint; slotIndex: number },
  options: ChainCallOptions = {},
): Promise<SlotRecord> {
  try {
    const s = await client.readContract({
      address: client.contracts.market,
      abi: marketAbi,
      functionName: 'getSlot',
      args: [params.dealId, BigInt(params.slotIndex)],
      ...atBlock(options),
    })
    return {
      index: params.slotIndex,
      root: s.root,
      node: s.node,
      nextEpoch: s.nextEpoch,
      state: SLOT_STATE[s.state] ?? 'pending',
      misses: s.misses,
      size: s.size,
      pricePerByteEpoch: s.pricePerByteEpoch,
      bounty: s.bounty,
    }
  } catch (error) {
    throw toCairnError(error, 'getSlot', options.signal)
  }
}

/**
 * All slots of a deal.
 *
 * @example
 * ```ts
 * const slots = await getSlots(reader, { dealId })
 * ```
 */
export async function getSlots(
  client: ChainReader,
  params: { dealId: bigint },
  options: ChainCallOptions = {},
): Promise<SlotRecord[]> {
  const deal = await getDeal(client, params, options)
  return Promise.all(
    Array.from({ length: deal.n }, (_, slotIndex) => getSlot(client, { dealId: params.dealId, slotIndex }, options)),
  )
}

/**
 * Number of deals ever created (deal IDs run from 1 to this).
 *
 * @example
 * ```ts
 * const count = await getDealCount(reader)
 * ```
 */
export async function getDealCount(client: ChainReader, options: ChainCallOptions = {}): Promise<bigint> {
  try {
    return await client.readContract({
      address: client.contracts.market,
      abi: marketAbi,
      functionName: 'dealCount',
      ...atBlock(options),
    })
  } catch (error) {
    throw toCairnError(error, 'getDealCount', options.signal)
  }
}

/** A slot a node currently holds (or is named for). */
export interface HeldSlotRecord {
  dealId: bigint
  slot: SlotRecord
  deal: DealRecord
}

/**
 * The slots `node` holds or is named for in deals that are not closed: from the `SlotAssigned` and `SlotRepaired`
 * events since `fromBlock` (the deployment block is a good start; read in windows of the client's `logBlockRange`),
 * checked against the current slot state. The node's chain service keeps this up to date from events instead
 * (node/chain-service/market-events.ts); this is the one-shot read.
 *
 * @example
 * ```ts
 * for (const { dealId, slot } of await getNodeSlots(reader, { node: account, fromBlock: deployment.blockNumber })) {
 *   if (slot.state === 'pending') await confirmSlot(client, { dealId, slotIndex: slot.index })
 * }
 * ```
 */
export async function getNodeSlots(
  client: ChainReader,
  params: { node: Address; fromBlock?: bigint },
  options: ChainCallOptions = {},
): Promise<HeldSlotRecord[]> {
  let logs: Array<{ dealId: bigint; slot: bigint }>
  try {
    const fromBlock = params.fromBlock ?? 0n
    const toBlock = await client.getBlockNumber({ cacheTime: 0 })
    const read = (eventName: string) =>
      readChainLogs(
        client,
        { contract: 'market', eventNames: [eventName], args: { node: params.node }, fromBlock, toBlock },
        options,
      )
    const [assigned, repaired] = await Promise.all([read('SlotAssigned'), read('SlotRepaired')])
    logs = [...assigned, ...repaired].map((log) => ({
      dealId: log.args.dealId as bigint,
      slot: log.args.slot as bigint,
    }))
  } catch (error) {
    throw toCairnError(error, 'getNodeSlots', options.signal)
  }
  // Every deal and slot is read at once (not one round trip after another): a node runs this every tick.
  const slots = new Map(logs.map((log) => [`${log.dealId}:${log.slot}`, log]))
  const deals = new Map<bigint, Promise<DealRecord>>()
  for (const { dealId } of slots.values()) {
    if (!deals.has(dealId)) deals.set(dealId, getDeal(client, { dealId }, options))
  }
  const held: HeldSlotRecord[] = []
  await Promise.all(
    [...slots.values()].map(async ({ dealId, slot: index }) => {
      const deal = await deals.get(dealId)!
      if (deal.closed) return
      const slot = await getSlot(client, { dealId, slotIndex: Number(index) }, options)
      if (slot.node === params.node && slot.state !== 'open') held.push({ dealId, slot, deal })
    }),
  )
  return held.sort((a, b) => (a.dealId === b.dealId ? a.slot.index - b.slot.index : a.dealId < b.dealId ? -1 : 1))
}
