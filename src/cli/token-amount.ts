import { formatTokenAmount } from '../api/index.ts'
import { TOKEN_DECIMALS, TOKEN_SYMBOL } from '../chain/index.ts'

/** Token units as CAIRN for people: `12.5 CAIRN` (up to 6 decimals shown, `<0.000001` for dust). */
export function formatTokens(units: bigint): string {
  return formatTokenAmount(units, {
    decimals: TOKEN_DECIMALS,
    symbol: TOKEN_SYMBOL,
    maxFractionDigits: 6,
    dust: 'threshold',
  })
}
