import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidArgumentError } from '../../src/errors.ts'
import { DEFAULT_K, DEFAULT_N, encodeFile, redundancyPolicy } from '../../src/storage/index.ts'

const MESSAGE = /^k and n must be whole numbers with 1 <= k < n <= 255 .*: use --k\/--n within that range$/

describe('redundancy policy', () => {
  it('applies the defaults', () => {
    assert.deepEqual(redundancyPolicy(), { k: DEFAULT_K, n: DEFAULT_N })
    assert.deepEqual(redundancyPolicy(undefined, 5), { k: DEFAULT_K, n: 5 })
    assert.deepEqual(redundancyPolicy(2, undefined), { k: 2, n: DEFAULT_N })
  })

  it('accepts every pair with 1 <= k < n <= 255', () => {
    for (const [k, n] of [
      [1, 2],
      [1, 3],
      [2, 4],
      [4, 6],
      [10, 14],
      [254, 255],
      [1, 255],
    ] as const) {
      assert.deepEqual(redundancyPolicy(k, n), { k, n })
    }
  })

  it('refuses every other pair with one message that names the range and the pair', () => {
    for (const [k, n] of [
      [1, 1],
      [2, 2],
      [3, 2],
      [5, 3],
      [0, 3],
      [-1, 3],
      [255, 255],
      [1, 256],
      [1.5, 3],
      [2, 4.5],
      [Number.NaN, 3],
      [1, Number.POSITIVE_INFINITY],
    ] as const) {
      assert.throws(
        () => redundancyPolicy(k, n),
        (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError, `${k}, ${n}`)
          assert.equal(err.code, 'ERR_INVALID_ARGUMENT')
          assert.match(err.message, MESSAGE)
          assert.ok(err.message.includes(`got k=${k}, n=${n}`), err.message)
          return true
        },
      )
    }
  })

  it('is the check the encoder applies', () => {
    assert.throws(() => encodeFile([], { k: 2, n: 2 }), { message: MESSAGE })
    assert.throws(() => encodeFile([], { n: 1 }), { message: MESSAGE })
    assert.doesNotThrow(() => encodeFile([], { k: 1, n: 2 }).done.catch(() => {}))
  })
})
