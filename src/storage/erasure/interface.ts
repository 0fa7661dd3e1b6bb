/**
 * Types of the Reed-Solomon erasure coder. The coder contract itself (`ErasureCoder`) lives in ../interface.ts.
 */
import type { ErasureCoder } from '../interface.ts'

/** `wasm-simd`: WebAssembly SIMD split-nibble kernel; `js`: plain TypeScript table kernel. */
export type ErasureImplementationName = 'wasm-simd' | 'js'

/** `auto` picks `wasm-simd` when the runtime supports WebAssembly SIMD, else `js`. */
export type ErasureImplementation = ErasureImplementationName | 'auto'

export interface ErasureCoderInit {
  /** Data shards: any k of the n shards rebuild the data. 1 <= k < n. */
  k: number
  /** Total shards (data + parity). n <= 255. */
  n: number
  /** Kernel to use; default `auto`. Asking for `wasm-simd` where it is unavailable throws. */
  implementation?: ErasureImplementation
}

/** An `ErasureCoder` that also says which kernel it runs on. */
export interface ReedSolomonCoder extends ErasureCoder {
  readonly implementation: ErasureImplementationName
}

/**
 * The one hot loop of the coder: a matrix product over GF(2^8) applied byte by byte.
 * For each output r and position p < outputs[r].length:
 * outputs[r][p] = XOR over j of coefficients[r * inputs.length + j] * inputs[j][p].
 * Every input has the same length, at least as long as every output. Outputs must not overlap inputs.
 */
export interface GaloisKernel {
  readonly name: ErasureImplementationName
  multiply(coefficients: Uint8Array, inputs: ReadonlyArray<Uint8Array>, outputs: ReadonlyArray<Uint8Array>): void
}
