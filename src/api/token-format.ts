/**
 * Token amounts for people, from integer units and without floating point: `12.5 CAIRN`, `1,000.0000 CAIRN`,
 * `0.00000000102 CAIRN`, never `1.02e-9`. Browser-safe (no Node or viem import): the dashboard and the CLI share it.
 */

/** CAIRN's decimals: amounts travel as integer units of 10^-18 CAIRN. */
export const DEFAULT_TOKEN_DECIMALS = 18
export const DEFAULT_TOKEN_SYMBOL = 'CAIRN'
/** Fraction digits shown when the caller does not say. */
export const DEFAULT_MAX_FRACTION_DIGITS = 6
/** Digits kept of an amount too small for the fraction digits shown. */
export const DEFAULT_SIGNIFICANT_DIGITS = 3

export interface TokenAmountFormat {
  /** Decimals of the token (default 18). */
  decimals?: number
  /** Written after the number and a space (default `CAIRN`); `''` for none. */
  symbol?: string
  /** Fraction digits shown at most; further digits are cut, not rounded, so an amount never reads larger (default 6). */
  maxFractionDigits?: number
  /** Fraction digits always shown, padded with zeros (default 0: trailing zeros are trimmed). */
  minFractionDigits?: number
  /** Thousands separators (`,`) in the whole part (default false). */
  grouping?: boolean
  /**
   * A non-zero amount that `maxFractionDigits` would show as zero: `significant` writes it out to its first
   * `significantDigits` digits (`0.00000000102`), `threshold` writes `<0.000001` (default `significant`).
   */
  dust?: 'significant' | 'threshold'
  /** Digits kept of a dust amount (default 3). */
  significantDigits?: number
}

/**
 * Writes `amount` (integer units, as a bigint or a decimal string) as a decimal number of tokens.
 *
 * @example
 * ```ts
 * formatTokenAmount(12_500_000_000_000_000_000n) // '12.5 CAIRN'
 * formatTokenAmount('1020000000') // '0.00000000102 CAIRN'
 * formatTokenAmount(10n ** 21n, { maxFractionDigits: 4, minFractionDigits: 4, grouping: true }) // '1,000.0000 CAIRN'
 * ```
 */
export function formatTokenAmount(amount: bigint | string, format: TokenAmountFormat = {}): string {
  const decimals = format.decimals ?? DEFAULT_TOKEN_DECIMALS
  const symbol = format.symbol ?? DEFAULT_TOKEN_SYMBOL
  const maxFractionDigits = format.maxFractionDigits ?? DEFAULT_MAX_FRACTION_DIGITS
  const minFractionDigits = Math.min(format.minFractionDigits ?? 0, maxFractionDigits)
  const value = typeof amount === 'bigint' ? amount : BigInt(amount)
  const sign = value < 0n ? '-' : ''
  const digits = (value < 0n ? -value : value).toString().padStart(decimals + 1, '0')
  let whole = digits.slice(0, digits.length - decimals)
  const fraction = digits.slice(digits.length - decimals)
  let shown = fraction.slice(0, maxFractionDigits).replace(/0+$/, '')
  const suffix = symbol === '' ? '' : ` ${symbol}`
  if (value !== 0n && whole === '0' && shown === '') {
    if (format.dust === 'threshold')
      return `${sign}<${maxFractionDigits === 0 ? '1' : `0.${'1'.padStart(maxFractionDigits, '0')}`}${suffix}`
    const first = fraction.search(/[1-9]/)
    shown = fraction.slice(0, first + (format.significantDigits ?? DEFAULT_SIGNIFICANT_DIGITS)).replace(/0+$/, '')
  }
  shown = shown.padEnd(minFractionDigits, '0')
  if (format.grouping === true) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${sign}${whole}${shown === '' ? '' : `.${shown}`}${suffix}`
}
