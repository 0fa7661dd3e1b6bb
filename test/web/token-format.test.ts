/**
 * The one token formatter (src/api/token-format.ts) as the dashboard and the CLI use it: decimal strings from bigint
 * units, never exponent notation, no floating-point loss.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { formatUnits } from 'viem'
import { formatTokenAmount } from '../../src/api/index.ts'
import { formatTokens as cliFormatTokens } from '../../src/cli/token-amount.ts'
import { formatTokens as webFormatTokens } from '../../web/src/format.ts'

const CAIRN = 10n ** 18n
const units = fc.bigInt({ min: 0n, max: 10n ** 30n })
/** Any non-negative amount: dust (below 10^-6 CAIRN) as often as large ones. */
const amounts = fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 12n }), units)

describe('token amounts', () => {
  it('the dashboard writes tiny amounts as decimals, never in exponent notation', () => {
    assert.equal(webFormatTokens('1020000000'), '0.00000000102 CAIRN')
    assert.equal(webFormatTokens('1'), '0.000000000000000001 CAIRN')
    assert.equal(webFormatTokens('123456789'), '0.000000000123 CAIRN')
    assert.equal(webFormatTokens('50000000000000'), '0.00005 CAIRN')
    fc.assert(
      fc.property(amounts, (value) => {
        assert.doesNotMatch(webFormatTokens(value.toString()), /e/i)
      }),
    )
  })

  it('the dashboard keeps its 4 decimals and thousands separators for other amounts', () => {
    assert.equal(webFormatTokens('0'), '0.0000 CAIRN')
    assert.equal(webFormatTokens((950n * CAIRN).toString()), '950.0000 CAIRN')
    assert.equal(webFormatTokens((1_234_567n * CAIRN + CAIRN / 2n).toString()), '1,234,567.5000 CAIRN')
    assert.equal(webFormatTokens('123456789012345', 18, 'TKN'), '0.0001 TKN')
    assert.equal(webFormatTokens(undefined), '–')
  })

  it('the CLI prints what it printed before: up to 6 decimals, <0.000001 for dust', () => {
    const before = (value: bigint): string => {
      if (value > 0n && value < 10n ** 12n) return '<0.000001 CAIRN'
      const [whole, fraction = ''] = formatUnits(value, 18).split('.')
      const trimmed = fraction.slice(0, 6).replace(/0+$/, '')
      return `${whole}${trimmed === '' ? '' : `.${trimmed}`} CAIRN`
    }
    fc.assert(fc.property(amounts, (value) => assert.equal(cliFormatTokens(value), before(value))))
    assert.equal(cliFormatTokens(12n * CAIRN + CAIRN / 2n), '12.5 CAIRN')
  })

  it('loses no digit: every digit shown is exact, whatever the size', () => {
    fc.assert(
      fc.property(units, (value) => {
        const text = formatTokenAmount(value, { maxFractionDigits: 18, symbol: '' })
        assert.equal(text, formatUnits(value, 18))
      }),
    )
    assert.equal(formatTokenAmount(-1_500_000n, { decimals: 6 }), '-1.5 CAIRN')
    assert.equal(formatTokenAmount(7n, { decimals: 0, symbol: 'X' }), '7 X')
  })
})
