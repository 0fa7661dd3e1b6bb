import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { InvalidArgumentError } from '../../src/errors.ts'
import { generatorRow, parityMatrix } from '../../src/storage/erasure/coding-matrix.ts'
import { ReedSolomonErasureCoder } from '../../src/storage/erasure/reed-solomon-coder.ts'
import { createWasmSimdKernel, wasmSimdVariant } from '../../src/storage/erasure/wasm-kernel.ts'
import { createErasureCoder } from '../../src/storage/index.ts'
import { erasureCoderComplianceTests } from './erasure-compliance.ts'

erasureCoderComplianceTests('wasm-simd', (init) => createErasureCoder({ ...init, implementation: 'wasm-simd' }))
erasureCoderComplianceTests(
  'wasm-simd portable (no relaxed SIMD)',
  ({ k, n }) => new ReedSolomonErasureCoder(k, n, createWasmSimdKernel('portable')),
)
erasureCoderComplianceTests('js', (init) => createErasureCoder({ ...init, implementation: 'js' }))

/** Product in GF(2^8) mod 0x11d by shift-and-add, independent of the code's tables. */
function slowMultiply(a: number, b: number): number {
  let product = 0
  for (; b > 0; b >>= 1) {
    if (b & 1) product ^= a
    a <<= 1
    if (a & 0x100) a ^= 0x11d
  }
  return product
}

/** Rank of a square matrix over GF(2^8), by plain elimination with the slow multiply. */
function rank(rows: number[][]): number {
  const m = rows.map((r) => r.slice())
  const size = m.length
  let r = 0
  for (let col = 0; col < size && r < size; col++) {
    const pivot = m.findIndex((row, i) => i >= r && row[col] !== 0)
    if (pivot === -1) continue
    ;[m[r], m[pivot]] = [m[pivot]!, m[r]!]
    const p = m[r]!
    const inv = Array.from({ length: 256 }, (_, x) => x).find((x) => slowMultiply(p[col]!, x) === 1)!
    for (let i = 0; i < size; i++) {
      if (i === r || m[i]![col] === 0) continue
      const factor = slowMultiply(m[i]![col]!, inv)
      m[i] = m[i]!.map((v, c) => v ^ slowMultiply(factor, p[c]!))
    }
    r++
  }
  return r
}

function combinations(n: number, k: number): number[][] {
  if (k === 0) return [[]]
  if (n < k) return []
  return [...combinations(n - 1, k), ...combinations(n - 1, k - 1).map((c) => [...c, n - 1])]
}

describe('Reed-Solomon generator matrix', () => {
  it('has every k x k submatrix invertible, for every (k, n) with n <= 10 (exhaustive)', () => {
    let checked = 0
    for (let n = 2; n <= 10; n++) {
      for (let k = 1; k < n; k++) {
        const parity = parityMatrix(k, n)
        const rows = Array.from({ length: n }, (_, r) => Array.from(generatorRow(parity, k, r)))
        for (const chosen of combinations(n, k)) {
          assert.equal(rank(chosen.map((r) => rows[r]!)), k, `k=${k} n=${n} rows [${chosen}] are dependent`)
          checked++
        }
      }
    }
    assert.ok(checked > 2000)
  })

  it('makes the first parity shard the XOR of the data shards, and k = 1 plain copies', () => {
    const coder = createErasureCoder({ k: 3, n: 5 })
    const shards = coder.encode(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9))
    assert.deepEqual([...shards[3]!], [1 ^ 4 ^ 7, 2 ^ 5 ^ 8, 3 ^ 6 ^ 9])
    assert.notDeepEqual([...shards[4]!], [...shards[3]!])
    assert.deepEqual(Array.from(parityMatrix(1, 5)), [1, 1, 1, 1])
  })
})

describe('createErasureCoder', () => {
  it('rejects invalid k and n with an InvalidArgumentError naming the valid range', () => {
    for (const [k, n, pattern] of [
      [0, 3, /k must be an integer from 1 to 254/],
      [1.5, 3, /k must be/],
      [255, 256, /k must be/],
      [4, 4, /k < n <= 255/],
      [4, 2, /k < n/],
      [10, 256, /n <= 255/],
      [Number.NaN, 3, /k must be/],
    ] as const) {
      assert.throws(
        () => createErasureCoder({ k, n }),
        (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError, `k=${k} n=${n}`)
          assert.equal(err.code, 'ERR_INVALID_ARGUMENT')
          assert.match(err.message, pattern)
          return true
        },
      )
    }
    assert.throws(
      () => createErasureCoder({ k: 2, n: 3, implementation: 'gpu' as 'js' }),
      /unknown erasure implementation/,
    )
  })

  it('picks an implementation automatically and reports it', () => {
    const coder = createErasureCoder({ k: 2, n: 3 })
    assert.equal(coder.implementation, 'wasm-simd', 'Node 24 has WebAssembly SIMD, so auto must pick it')
    const data = randomBytes(10)
    assert.deepEqual(coder.decode([undefined, ...coder.encode(data).slice(1)], 10), new Uint8Array(data))
  })
})

describe('wasm-simd kernel', () => {
  it('is built from the current WAT source (rerun `npx node scripts/build-erasure-wasm.ts` if this fails)', async () => {
    const { assembleErasureKernel, PORTABLE_VARIANT, RELAXED_VARIANT } = await import(
      '../../scripts/build-erasure-wasm.ts'
    )
    const checkedIn = await import('../../src/storage/erasure/gf256-kernel-wasm.ts')
    for (const [variant, base64] of [
      [RELAXED_VARIANT, checkedIn.GF256_KERNEL_RELAXED_WASM_BASE64],
      [PORTABLE_VARIANT, checkedIn.GF256_KERNEL_PORTABLE_WASM_BASE64],
    ] as const) {
      const fresh = await assembleErasureKernel(variant)
      assert.ok(
        Buffer.from(fresh).equals(Buffer.from(base64, 'base64')),
        `the ${variant.swizzle} kernel in src/storage/erasure/gf256-kernel-wasm.ts is stale: run \`npx node scripts/build-erasure-wasm.ts\``,
      )
      assert.ok(fresh.length < 4096, 'browsers refuse synchronous compilation of modules over 4 KB on the main thread')
    }
    assert.equal(wasmSimdVariant(), 'relaxed', 'Node 24 supports relaxed SIMD')
  })

  it('produces exactly the shards of the TypeScript kernel, and rebuilds the same bytes (property)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 40 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.integer({ min: 1, max: n - 1 }),
              fc.uint8Array({ maxLength: 5000 }),
              fc.integer({ min: 0, max: 2 ** 31 }),
            ),
          ),
        ([n, k, data, seed]) => {
          const wasm = createErasureCoder({ k, n, implementation: 'wasm-simd' })
          const js = createErasureCoder({ k, n, implementation: 'js' })
          const a = wasm.encode(data)
          const b = js.encode(data)
          assert.deepEqual(a, b)
          const lose = (shards: Uint8Array[]) => shards.map((s, i) => ((i * 7919 + seed) % n < n - k ? undefined : s))
          assert.deepEqual(wasm.reconstruct(lose(a)), js.reconstruct(lose(b)))
          assert.deepEqual(wasm.decode(lose(a), data.length), js.decode(lose(b), data.length))
        },
      ),
      { numRuns: 100 },
    )
  })
})
