/** The client's defaults that derive from the chain's (kept out of constants.ts, which a page's bundle takes). */
import { DEFAULT_PRICE_PER_BYTE_EPOCH } from '../chain/index.ts'

/** The most a user pays a node per byte per epoch when `--max-price` is not given: twice the suggested price. */
export const DEFAULT_DEAL_MAX_PRICE = 2n * DEFAULT_PRICE_PER_BYTE_EPOCH
