import { formatUnits } from 'viem'
import { TOKEN_DECIMALS, TOKEN_SYMBOL } from '../chain/index.ts'

/** Token units as CAIRN for people: `12.5 CAIRN` (up to 6 decimals shown, `<0.000001` for dust). */
export function formatTokens(units: bigint): string {
  if (units > 0n && units < 10n ** BigInt(TOKEN_DECIMALS - 6)) return `<0.000001 ${TOKEN_SYMBOL}`
  const text = formatUnits(units, TOKEN_DECIMALS)
  const [whole, fraction = ''] = text.split('.')
  const trimmed = fraction.slice(0, 6).replace(/0+$/, '')
  return `${whole}${trimmed === '' ? '' : `.${trimmed}`} ${TOKEN_SYMBOL}`
}
