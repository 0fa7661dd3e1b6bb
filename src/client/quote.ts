/**
 * What a put will cost, before paying: the slot sizes a file encodes to (exact, from its bytes, or an upper bound
 * from its size), the Registry's current offers, the n cheapest nodes of distinct operators within the price cap,
 * and the escrow the Market will pull for them, as the Market computes it (`Market.quoteDeal`, a view call).
 */
import type { Address } from 'viem'
import {
  type ChainReader,
  getConfirmationFee,
  getEpochInfo,
  getOperator,
  listActiveNodes,
  type NodeRecord,
  quoteDeal,
} from '../chain/index.ts'
import { InvalidArgumentError, NotEnoughNodesError } from '../errors.ts'
import type { AbortOptions } from '../net/index.ts'
import {
  type ByteSource,
  compressSegment,
  DEFAULT_COMPRESSION_LEVEL,
  DEFAULT_SEGMENT_SIZE,
  pieceSize,
  segmenter,
  TAG_SIZE,
} from '../storage/index.ts'
import { DEFAULT_DEAL_DURATION_EPOCHS } from './constants.ts'
import { DEFAULT_DEAL_MAX_PRICE } from './deal-defaults.ts'

/** One node's current offer in the Registry. */
export interface NodeOffer {
  account: Address
  peerId: string
  operator: Address
  pricePerByteEpoch: string
  /** Bytes the node offers. */
  capacity: string
  /** Whether its price is within the quote's price cap. */
  withinMaxPrice: boolean
}

/** The price of storing a file, before paying (token amounts in units, as decimal strings). */
export interface StorageQuote {
  /** File bytes. */
  size: number
  k: number
  n: number
  /** Bytes of each slot (every slot of a file has the same size). */
  slotSize: number
  /** True when the slot size was measured from the file's bytes; false: the upper bound for incompressible data. */
  exact: boolean
  durationEpochs: number
  epochSeconds: number
  /** The price cap per byte per epoch the put signs (`--max-price`). */
  maxPricePerByteEpoch: string
  /** Escrow per epoch (node payments plus the protocol fee) for the chosen nodes. */
  perEpoch: string
  /** The nodes' confirmation fees: n x the Market's `confirmationFee`, paid to each node when it confirms its slot. */
  confirmationFees: string
  /** Escrow the deal pulls from the wallet at once: perEpoch x durationEpochs + confirmationFees (`Market.quoteDeal`). */
  total: string
  /** The n cheapest nodes of distinct operators within the cap, with each slot's cost per epoch (fee aside). */
  nodes: Array<{ account: Address; peerId: string; pricePerByteEpoch: string; perEpoch: string }>
  /**
   * What the deal costs if the put lands on the n dearest nodes within the cap instead (a put places slots by
   * liveness and spread, not by price); equal to `total` when the offers within the cap agree.
   */
  totalAtMost: string
  /** Every active node's offer, cheapest first. */
  offers: NodeOffer[]
}

export interface QuoteParams {
  /** File bytes (needed when `slotSize` is not given). */
  size: number
  /** Bytes of each slot; default: the upper bound from `size` (`slotSizeUpperBound`). */
  slotSize?: number
  k: number
  n: number
  durationEpochs?: number
  maxPricePerByteEpoch?: bigint
  segmentSize?: number
}

/** Nodes whose operator is read at once. */
const OPERATOR_READS_AT_ONCE = 16

/**
 * The slot size of a file of `size` bytes whose segments do not compress (the most it can be): per segment, the
 * ciphertext (plaintext + the AES-GCM tag) padded to k KiB, divided by k.
 *
 * @example
 * ```ts
 * slotSizeUpperBound(10_000_000, 2) // bytes each of the n slots of a 10 MB file holds with k = 2
 * ```
 */
export function slotSizeUpperBound(size: number, k: number, segmentSize = DEFAULT_SEGMENT_SIZE): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new InvalidArgumentError(`size must be a whole number of bytes >= 0, got ${size}`)
  }
  const full = Math.floor(size / segmentSize)
  const rest = size - full * segmentSize
  let total = full * pieceSize(segmentSize + TAG_SIZE, k)
  if (rest > 0 || full === 0) total += pieceSize(rest + TAG_SIZE, k)
  return total
}

/**
 * The exact slot size `source` encodes to: each segment compressed as the encoder does (zstd, kept when it saves 5%),
 * then sealed and padded. Reads the source once; stores nothing.
 *
 * @example
 * ```ts
 * const { size, slotSize } = await measureSlotSize(createReadStream('notes.txt'), 1)
 * ```
 */
export async function measureSlotSize(
  source: ByteSource,
  k: number,
  segmentSize = DEFAULT_SEGMENT_SIZE,
  options: AbortOptions = {},
): Promise<{ size: number; slotSize: number }> {
  let size = 0
  let slotSize = 0
  for await (const segment of segmenter(source, segmentSize, options)) {
    size += segment.bytes.byteLength
    const { bytes } = compressSegment(segment.bytes, DEFAULT_COMPRESSION_LEVEL)
    slotSize += pieceSize(bytes.byteLength + TAG_SIZE, k)
  }
  return { size, slotSize }
}

/**
 * The Registry's active nodes with their operators, cheapest first.
 *
 * @example
 * ```ts
 * const offers = await readOffers(reader, { maxPricePerByteEpoch: 2_000_000n })
 * ```
 */
export async function readOffers(
  reader: ChainReader,
  params: { maxPricePerByteEpoch?: bigint } = {},
  options: AbortOptions = {},
): Promise<Array<NodeOffer & { record: NodeRecord }>> {
  const maxPrice = params.maxPricePerByteEpoch ?? DEFAULT_DEAL_MAX_PRICE
  const nodes = await listActiveNodes(reader, {}, options)
  const operators = new Map<Address, Address>()
  for (let i = 0; i < nodes.length; i += OPERATOR_READS_AT_ONCE) {
    await Promise.all(
      nodes.slice(i, i + OPERATOR_READS_AT_ONCE).map(async (node) => {
        operators.set(node.account, await getOperator(reader, { node: node.account }, options))
      }),
    )
  }
  return nodes
    .map((record) => ({
      record,
      account: record.account,
      peerId: record.peerId,
      operator: operators.get(record.account) ?? record.account,
      pricePerByteEpoch: record.pricePerByteEpoch.toString(),
      capacity: record.capacity.toString(),
      withinMaxPrice: record.pricePerByteEpoch <= maxPrice,
    }))
    .sort((a, b) =>
      a.record.pricePerByteEpoch < b.record.pricePerByteEpoch
        ? -1
        : a.record.pricePerByteEpoch > b.record.pricePerByteEpoch
          ? 1
          : 0,
    )
}

/**
 * One node per operator (its cheapest), in the order given: the nodes a deal may use together.
 */
function distinctOperators<T extends { operator: Address }>(offers: T[]): T[] {
  const seen = new Set<string>()
  return offers.filter((offer) => {
    const key = offer.operator.toLowerCase()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/**
 * Refuses a price cap below what n nodes of distinct operators ask, naming the cheapest cap that works and the flag;
 * refuses too few operators, naming their count. Exported for `cairn put`, which checks before it uploads.
 */
export function assertOffersWithinCap(offers: NodeOffer[], n: number, maxPricePerByteEpoch: bigint): void {
  const all = distinctOperators(offers)
  if (all.length < n) {
    throw new NotEnoughNodesError(
      `only ${all.length} active node${all.length === 1 ? '' : 's'} of distinct operators in the Registry but n=${n} needs ${n}: lower --n (or --durability) or wait for more nodes`,
      { details: { operators: all.length, n } },
    )
  }
  const within = distinctOperators(offers.filter((o) => BigInt(o.pricePerByteEpoch) <= maxPricePerByteEpoch))
  if (within.length < n) {
    const cheapest = all[n - 1]!.pricePerByteEpoch
    throw new InvalidArgumentError(
      `--max-price ${maxPricePerByteEpoch} is below the offers: the cheapest ${n} nodes of distinct operators ask up to ${cheapest} per byte per epoch (${within.length} within the cap): pass --max-price ${cheapest} or more ("cairn quote FILE" shows the offers)`,
      { details: { maxPricePerByteEpoch: maxPricePerByteEpoch.toString(), cheapest, within: within.length, n } },
    )
  }
}

/**
 * Quotes a deal: the n cheapest nodes of distinct operators within the price cap, each slot's cost per epoch, the
 * total escrow (the Market's own `quoteDeal`), and every offer. Throws like `assertOffersWithinCap`.
 *
 * @example
 * ```ts
 * const quote = await quoteStorage(reader, { size: 5_000_000, k: 1, n: 3, durationEpochs: 1_000 })
 * console.log(quote.total)
 * ```
 */
export async function quoteStorage(
  reader: ChainReader,
  params: QuoteParams,
  options: AbortOptions = {},
): Promise<StorageQuote> {
  const durationEpochs = params.durationEpochs ?? DEFAULT_DEAL_DURATION_EPOCHS
  if (!Number.isInteger(durationEpochs) || durationEpochs < 1 || durationEpochs >= 2 ** 32) {
    throw new InvalidArgumentError(`--duration must be a whole number of epochs from 1 to ${2 ** 32 - 1}`)
  }
  const maxPrice = params.maxPricePerByteEpoch ?? DEFAULT_DEAL_MAX_PRICE
  const slotSize = params.slotSize ?? slotSizeUpperBound(params.size, params.k, params.segmentSize)
  const [offers, epoch] = await Promise.all([
    readOffers(reader, { maxPricePerByteEpoch: maxPrice }, options),
    getEpochInfo(reader, options),
  ])
  assertOffersWithinCap(offers, params.n, maxPrice)
  const within = distinctOperators(offers.filter((o) => o.withinMaxPrice))
  const cheapest = within.slice(0, params.n)
  const dearest = distinctOperators([...offers.filter((o) => o.withinMaxPrice)].reverse()).slice(0, params.n)
  const slots = (chosen: typeof cheapest) =>
    chosen.map((o) => ({ root: new Uint8Array(32), node: o.account, size: BigInt(slotSize) }))
  // quoteDeal is the escrow itself: per epoch x epochs + one confirmation fee per slot; the per-epoch figures leave
  // the confirmation fees out.
  const [total, firstEpoch, totalAtMost, perNode, confirmationFee] = await Promise.all([
    quoteDeal(reader, { slots: slots(cheapest), durationEpochs }, options),
    quoteDeal(reader, { slots: slots(cheapest), durationEpochs: 1 }, options),
    quoteDeal(reader, { slots: slots(dearest), durationEpochs }, options),
    Promise.all(cheapest.map((o) => quoteDeal(reader, { slots: slots([o]), durationEpochs: 1 }, options))),
    getConfirmationFee(reader, options),
  ])
  const confirmationFees = confirmationFee * BigInt(cheapest.length)
  return {
    size: params.size,
    k: params.k,
    n: params.n,
    slotSize,
    exact: params.slotSize !== undefined,
    durationEpochs,
    epochSeconds: epoch.epochSeconds,
    maxPricePerByteEpoch: maxPrice.toString(),
    perEpoch: (firstEpoch - confirmationFees).toString(),
    confirmationFees: confirmationFees.toString(),
    total: total.toString(),
    nodes: cheapest.map((o, i) => ({
      account: o.account,
      peerId: o.peerId,
      pricePerByteEpoch: o.pricePerByteEpoch,
      perEpoch: (perNode[i]! - confirmationFee).toString(),
    })),
    totalAtMost: totalAtMost.toString(),
    offers: offers.map(({ record: _record, ...offer }) => offer),
  }
}
