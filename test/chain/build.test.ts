import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SOLC_SETTINGS, staleGeneratedFiles } from '../../scripts/build-contracts.ts'
import { marketAbi } from '../../src/chain/index.ts'

test('src/chain/generated matches what solc compiles from contracts/ (run npm run build:contracts)', () => {
  assert.equal(SOLC_SETTINGS.evmVersion, 'cancun')
  assert.deepEqual(staleGeneratedFiles(), [])
})

test('the generated ABI is typed as const (function names are literal types)', () => {
  const names = marketAbi.filter((item) => item.type === 'function').map((item) => item.name)
  for (const name of ['createDeal', 'confirmSlot', 'submitProof', 'reportMissed', 'repairSlot', 'withdraw']) {
    assert.ok(names.includes(name as (typeof names)[number]), name)
  }
})
