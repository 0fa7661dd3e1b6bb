/**
 * What `GET /api/v1/quote` answers (browser-safe: types only): the price of storing `size` bytes with k of n for
 * `durationEpochs`, before paying, as `cairn quote --json` prints it (token amounts in units, as decimal strings).
 */
export interface QuoteInfo {
  size: number
  k: number
  n: number
  /** Bytes of each slot: the upper bound from the size (incompressible data); a put of compressible data pays less. */
  slotSize: number
  exact: boolean
  durationEpochs: number
  epochSeconds: number
  maxPricePerByteEpoch: string
  /** Escrow per epoch: node payments and the protocol fee. */
  perEpoch: string
  /** One confirmation fee per slot, paid to each node when it confirms its slot (0 on a devnet). */
  confirmationFees: string
  /** Escrow the deal pulls at once: perEpoch x durationEpochs + confirmationFees (the Market's `quoteDeal`). */
  total: string
  /** The deal's cost on the dearest nodes within the cap (equal to `total` when the offers agree). */
  totalAtMost: string
  nodes: Array<{ account: string; peerId: string; pricePerByteEpoch: string; perEpoch: string }>
  offers: Array<{
    account: string
    peerId: string
    operator: string
    pricePerByteEpoch: string
    capacity: string
    withinMaxPrice: boolean
  }>
}
