/**
 * Reed-Solomon erasure coding for Cairn's storage layer: `createErasureCoder({ k, n })`.
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
