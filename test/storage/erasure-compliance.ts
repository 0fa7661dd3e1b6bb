/**
 * Compliance suite for `ErasureCoder` implementations: every kernel runs exactly these tests.
 * Usage: `erasureCoderComplianceTests('wasm-simd', (init) => createErasureCoder({ ...init, implementation: 'wasm-simd' }))`.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { InvalidArgumentError, NotEnoughPiecesError } from '../../src/errors.ts'
import type { ErasureCoder } from '../../src/storage/index.ts'

export type ErasureCoderSetup = (init: { k: number; n: number }) => ErasureCoder

/** Every subset of {0..n-1}, as ascending index arrays. */
function subsets(n: number): number[][] {
  const all: number[][] = []
  for (let mask = 0; mask < 1 << n; mask++) {
    const s: number[] = []
    for (let i = 0; i < n; i++) if (mask & (1 << i)) s.push(i)
    all.push(s)
  }
  return all
}

function keepOnly(shards: ReadonlyArray<Uint8Array>, present: ReadonlyArray<number>): Array<Uint8Array | undefined> {
  return shards.map((s, i) => (present.includes(i) ? s : undefined))
}

function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, message: string): void {
  assert.equal(actual.length, expected.length, `${message}: length`)
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `${message}: bytes differ`)
}

/** Checks encode's layout, then decode and reconstruct from `present`. */
function checkStripe(coder: ErasureCoder, data: Uint8Array, present: ReadonlyArray<number>): void {
  const { k, n } = coder
  const shards = coder.encode(data)
  const size = coder.shardSize(data.length)
  assert.equal(shards.length, n)
  for (const s of shards) assert.equal(s.length, size)
  const padded = new Uint8Array(k * size)
  padded.set(data)
  for (let j = 0; j < k; j++) assertBytesEqual(shards[j]!, padded.subarray(j * size, (j + 1) * size), `data shard ${j}`)
  const label = `k=${k} n=${n} size=${data.length} present=[${present}]`
  assertBytesEqual(coder.decode(keepOnly(shards, present), data.length), data, `decode ${label}`)
  const partial = keepOnly(shards, present)
  const rebuilt = coder.reconstruct(partial)
  assert.equal(rebuilt.length, n)
  for (let i = 0; i < n; i++) {
    assertBytesEqual(rebuilt[i]!, shards[i]!, `reconstruct shard ${i} ${label}`)
    assert.equal(partial[i], rebuilt[i], 'reconstruct fills the array it was given')
    if (present.includes(i)) assert.equal(rebuilt[i], shards[i], 'present shards are kept as they are')
  }
}

export function erasureCoderComplianceTests(name: string, setup: ErasureCoderSetup): void {
  describe(`erasure coder compliance: ${name}`, () => {
    it('sizes shards as ceil(length / k), k = 1 being plain replication', () => {
      const coder = setup({ k: 10, n: 14 })
      assert.equal(coder.k, 10)
      assert.equal(coder.n, 14)
      assert.deepEqual(
        [0, 1, 9, 10, 11, 1000, 1001].map((l) => coder.shardSize(l)),
        [0, 1, 1, 1, 2, 100, 101],
      )
      const replication = setup({ k: 1, n: 3 })
      assert.equal(replication.shardSize(12345), 12345)
      const data = randomBytes(777)
      for (const shard of replication.encode(data)) assertBytesEqual(shard, data, 'replica')
    })

    it('round-trips the required (k, n) pairs at sizes 0, 1, k-1, k, k+1 and random, losing n-k shards', () => {
      for (const [k, n] of [
        [1, 3],
        [2, 6],
        [4, 6],
        [10, 14],
        [1, 2],
        [254, 255],
      ] as const) {
        const coder = setup({ k, n })
        for (const size of new Set([0, 1, k - 1, k, k + 1, 1 + Math.floor(Math.random() * 5000)])) {
          const data = randomBytes(size)
          const all = Array.from({ length: n }, (_, i) => i)
          checkStripe(coder, data, all)
          checkStripe(coder, data, all.slice(n - k)) // the first n-k shards (all data first) are lost
          checkStripe(coder, data, all.slice(0, k)) // all parity lost
          const shuffled = all.toSorted(() => Math.random() - 0.5)
          checkStripe(
            coder,
            data,
            shuffled.slice(0, k).toSorted((a, b) => a - b),
          )
        }
      }
    })

    it('rebuilds from every pattern of up to n-k missing shards, for every (k, n) with n <= 7', () => {
      for (let n = 2; n <= 7; n++) {
        for (let k = 1; k < n; k++) {
          const coder = setup({ k, n })
          const data = randomBytes(3 * k + 2)
          for (const present of subsets(n)) {
            if (present.length >= k) checkStripe(coder, data, present)
          }
        }
      }
    })

    it('rebuilds from random patterns for random (k, n) and data (property)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 64 }).chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.integer({ min: 1, max: n - 1 }),
              fc.uint8Array({ maxLength: 3000 }),
              fc.shuffledSubarray(
                Array.from({ length: n }, (_, i) => i),
                { minLength: 0, maxLength: n },
              ),
            ),
          ),
          ([n, k, data, lost]) => {
            const coder = setup({ k, n })
            const present = Array.from({ length: n }, (_, i) => i).filter((i) => !lost.slice(0, n - k).includes(i))
            checkStripe(coder, data, present)
          },
        ),
        { numRuns: 150 },
      )
    })

    it('round-trips large stripes (multi-block) for (10, 14) and (2, 6)', () => {
      for (const [k, n, size] of [
        [10, 14, 3 * 1024 * 1024 + 7],
        [2, 6, 1024 * 1024 + 1],
        [5, 200, 300 * 1024 + 3],
      ] as const) {
        const coder = setup({ k, n })
        const data = randomBytes(size)
        const all = Array.from({ length: n }, (_, i) => i)
        checkStripe(coder, data, all.slice(n - k))
        checkStripe(coder, data, all.filter((i) => i % 4 !== 1).slice(0, k))
      }
    })

    it('throws NotEnoughPiecesError with fewer than k shards, saying how many were present and needed', () => {
      const coder = setup({ k: 4, n: 6 })
      const shards: Array<Uint8Array | undefined> = coder.encode(randomBytes(100))
      shards[0] = shards[2] = shards[5] = undefined
      for (const call of [() => coder.decode(shards, 100), () => coder.reconstruct(shards.slice())]) {
        assert.throws(call, (err: unknown) => {
          assert.ok(err instanceof NotEnoughPiecesError)
          assert.equal(err.code, 'ERR_NOT_ENOUGH_PIECES')
          assert.match(err.message, /3 of 6 present/)
          assert.match(err.message, /k=4 needed/)
          return true
        })
      }
      const empty = setup({ k: 2, n: 3 }).encode(new Uint8Array(0))
      assert.throws(() => setup({ k: 2, n: 3 }).decode([empty[0], undefined, undefined], 0), NotEnoughPiecesError)
    })

    it('rejects shards of unequal sizes, a wrong shard count and a length that does not fit the shards', () => {
      const coder = setup({ k: 4, n: 6 })
      const shards: Array<Uint8Array | undefined> = coder.encode(randomBytes(100))
      shards[3] = new Uint8Array(24)
      assert.throws(() => coder.decode(shards, 100), { name: 'InvalidArgumentError', message: /unequal sizes/ })
      assert.throws(() => coder.reconstruct(shards), InvalidArgumentError)
      const good = coder.encode(randomBytes(100))
      assert.throws(() => coder.decode(good.slice(0, 5), 100), { name: 'InvalidArgumentError', message: /n=6/ })
      assert.throws(() => coder.decode(good, 101), { name: 'InvalidArgumentError', message: /25 bytes cannot hold/ })
      assert.throws(() => coder.shardSize(-1), InvalidArgumentError)
    })

    it('handles empty data: n empty shards that decode and reconstruct', () => {
      const coder = setup({ k: 3, n: 5 })
      const shards = coder.encode(new Uint8Array(0))
      assert.equal(shards.length, 5)
      for (const s of shards) assert.equal(s.length, 0)
      checkStripe(coder, new Uint8Array(0), [1, 3, 4])
    })
  })
}
