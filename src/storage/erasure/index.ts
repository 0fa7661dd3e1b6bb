/**
 * Reed-Solomon erasure coding for Cairn's storage layer: `createErasureCoder({ k, n })`.
 *
 * Design (figures: `npm run bench -- erasure`, k=10 n=14, 256 KiB shards, one core of the shared 2-core machine,
 * MB/s of data; see docs/benchmarks.md):
 * - Code: systematic, generator = identity over a Cauchy matrix scaled so the first parity row and column are all
 *   ones (./coding-matrix.ts). Every k x k submatrix is invertible (tested exhaustively for n <= 10), k = 1 is
 *   replication, parity shard k is the XOR of the data. Decoding inverts only an e x e Cauchy submatrix, e = number
 *   of lost data shards (<= n-k), and caches the recovery matrix per loss pattern.
 * - Kernel: everything byte-heavy is one product "outputs = coefficients x inputs" (./interface.ts GaloisKernel).
 *   Chosen: a WebAssembly SIMD split-nibble kernel (two 16-entry tables per coefficient, two byte shuffles per 16
 *   bytes), written as WAT in scripts/build-erasure-wasm.ts, assembled by the wabt npm package and checked in as
 *   base64: no native addon, no compiler download, works in browsers. With i8x16.relaxed_swizzle (a bare pshufb)
 *   the kernel runs ~4,800 MB/s, ~3,000 with the portable i8x16.swizzle (extra saturating add per lookup); the
 *   portable module is the fallback for runtimes without relaxed SIMD, and the plain TypeScript kernel (32-bit
 *   word table lookups, ~250-430 MB/s) the fallback without WebAssembly SIMD. Measured alternatives: 8 outputs per
 *   pass instead of 4 gained ~5% per output but doubled the module past browsers' 4 KB synchronous-compile limit;
 *   Rust-to-wasm npm coders run ~600-700 MB/s here (FIELD-NOTES).
 * - Memory: one shared wasm instance; data goes through it in column blocks of WASM_BLOCK_BUDGET (256 KiB for all
 *   rows), so wasm memory stays small and L2-resident and the hot path allocates only the shards it returns.
 *   End to end, encode runs ~1,800 MB/s and decode (4 data shards lost) ~2,500 MB/s: encode's remaining cost is
 *   allocating and filling n fresh shards, which the ErasureCoder contract requires.
 */
import { InvalidArgumentError } from '../../errors.ts'
import { DEFAULT_ERASURE_IMPLEMENTATION, MAX_ERASURE_SHARDS } from './constants.ts'
import type { ErasureCoderInit, ErasureImplementation, GaloisKernel, ReedSolomonCoder } from './interface.ts'
import { createJsKernel } from './js-kernel.ts'
import { ReedSolomonErasureCoder } from './reed-solomon-coder.ts'
import { createWasmSimdKernel, wasmSimdVariant } from './wasm-kernel.ts'

export type { ErasureCoder } from '../interface.ts'
export { DEFAULT_ERASURE_IMPLEMENTATION, MAX_ERASURE_SHARDS } from './constants.ts'
export type {
  ErasureCoderInit,
  ErasureImplementation,
  ErasureImplementationName,
  ReedSolomonCoder,
} from './interface.ts'

/**
 * Creates a systematic Reed-Solomon k-of-n coder: shards 0..k-1 are the data cut in k equal parts (the last
 * zero-padded), shards k..n-1 parity; any k shards rebuild the data. k = 1 is plain replication.
 *
 * @example
 * ```ts
 * const coder = createErasureCoder({ k: 10, n: 14 })
 * const shards: Array<Uint8Array | undefined> = coder.encode(data)
 * shards[0] = shards[3] = undefined // lost
 * const back = coder.decode(shards, data.length) // equal to data
 * ```
 */
export function createErasureCoder(init: ErasureCoderInit): ReedSolomonCoder {
  const { k, n } = init
  if (!Number.isInteger(k) || k < 1 || k >= MAX_ERASURE_SHARDS) {
    throw new InvalidArgumentError(
      `erasure k must be an integer from 1 to ${MAX_ERASURE_SHARDS - 1} (data shards), got ${k}`,
      { details: { k, n } },
    )
  }
  if (!Number.isInteger(n) || n <= k || n > MAX_ERASURE_SHARDS) {
    throw new InvalidArgumentError(
      `erasure n must be an integer with k < n <= ${MAX_ERASURE_SHARDS} (total shards), got k=${k}, n=${n}: use for example n=${Math.min(k + Math.max(1, Math.ceil(k / 2)), MAX_ERASURE_SHARDS)}`,
      { details: { k, n } },
    )
  }
  return new ReedSolomonErasureCoder(k, n, selectKernel(init.implementation ?? DEFAULT_ERASURE_IMPLEMENTATION))
}

function selectKernel(implementation: ErasureImplementation): GaloisKernel {
  switch (implementation) {
    case 'js':
      return createJsKernel()
    case 'auto':
      return wasmSimdVariant() !== null ? createWasmSimdKernel() : createJsKernel()
    case 'wasm-simd':
      if (wasmSimdVariant() === null) {
        throw new InvalidArgumentError(
          "WebAssembly SIMD is not available in this runtime: use implementation 'auto' or 'js'",
        )
      }
      return createWasmSimdKernel()
    default:
      throw new InvalidArgumentError(
        `unknown erasure implementation '${implementation}': use 'auto', 'wasm-simd' or 'js'`,
      )
  }
}
