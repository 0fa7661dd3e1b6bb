/**
 * `GET /api/v1/quote?size=&k=&n=&duration=&maxPrice=`: the price of an upload before paying it, for the dashboard's
 * upload dialog and scripts. The slot size is the upper bound from the size (the gateway has not seen the bytes);
 * the total is the Market's own `quoteDeal` for the n cheapest nodes of distinct operators within the cap.
 */
import type { ChainReader } from '../chain/index.ts'
import { quoteStorage } from '../client/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import type { AbortOptions } from '../net/index.ts'
import { redundancyPolicy } from '../storage/index.ts'
import type { QuoteInfo } from './quote-info.ts'

/** Largest size a quote accepts (1 PiB): beyond it the arithmetic is no longer exact in a double. */
const MAX_QUOTE_SIZE = 2 ** 50

/** Answers quotes (a gateway with a chain has one). */
export interface QuoteService {
  quote(params: QuoteQuery, options?: AbortOptions): Promise<QuoteInfo>
}

export interface QuoteQuery {
  size: number
  k: number
  n: number
  durationEpochs?: number
  maxPricePerByteEpoch?: bigint
}

/**
 * The quote service of a gateway over `reader`.
 *
 * @example
 * ```ts
 * const quotes = createQuoteService(reader)
 * const { total } = await quotes.quote({ size: 1_000_000, k: 1, n: 3 })
 * ```
 */
export function createQuoteService(reader: ChainReader): QuoteService {
  return {
    quote: (params, options = {}) => quoteStorage(reader, params, options),
  }
}

/**
 * Reads the query of `GET /api/v1/quote`: size (bytes, required), k and n (default 1 of 3), duration (epochs) and
 * maxPrice (units per byte per epoch). Throws `InvalidArgumentError` naming the parameter.
 */
export function parseQuoteQuery(query: Record<string, string | undefined>): QuoteQuery {
  const whole = (name: string, min: number, max: number): number | undefined => {
    const text = query[name]
    if (text === undefined || text === '') return undefined
    const value = Number(text)
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got '${text.slice(0, 40)}'`)
    }
    return value
  }
  const size = whole('size', 0, MAX_QUOTE_SIZE)
  if (size === undefined) throw new InvalidArgumentError('size is required: the upload size in bytes (?size=1048576)')
  const { k, n } = redundancyPolicy(whole('k', 1, 255), whole('n', 1, 255))
  const duration = whole('duration', 1, 2 ** 32 - 1)
  const maxPrice = query.maxPrice
  if (maxPrice !== undefined && maxPrice !== '' && !/^\d{1,40}$/.test(maxPrice)) {
    throw new InvalidArgumentError(`maxPrice must be a whole number of token units per byte per epoch`)
  }
  return {
    size,
    k,
    n,
    ...(duration === undefined ? {} : { durationEpochs: duration }),
    ...(maxPrice === undefined || maxPrice === '' ? {} : { maxPricePerByteEpoch: BigInt(maxPrice) }),
  }
}
