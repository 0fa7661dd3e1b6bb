/** `cairn quote`'s text: the confirmation fees are shown when the network charges them, so the lines add up to the total. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatQuote, type QuoteOutput } from '../../src/cli/command-quote.ts'

const base: QuoteOutput = {
  size: 1_000_000,
  k: 1,
  n: 3,
  slotSize: 1_001_472,
  exact: false,
  durationEpochs: 10,
  epochSeconds: 3600,
  maxPricePerByteEpoch: '1000000',
  perEpoch: '420000000000000000',
  confirmationFees: '0',
  total: '4200000000000000000',
  nodes: [],
  totalAtMost: '4200000000000000000',
  offers: [],
}

test('a quote with confirmation fees names them; one without does not', () => {
  assert.doesNotMatch(formatQuote(base), /^confirm/m)
  const text = formatQuote({
    ...base,
    confirmationFees: '600000000000000000',
    total: '4800000000000000000',
    totalAtMost: '4800000000000000000',
  })
  assert.match(
    text,
    /^confirm {5}0\.6 CAIRN \(600000000000000000 units: one fee per slot, paid to its node when it confirms\)$/m,
  )
  assert.match(text, /^total {7}4\.8 CAIRN/m)
})
