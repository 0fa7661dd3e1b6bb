/**
 * Plain TypeScript kernel: one 256-byte row of the product table per coefficient, one lookup per byte.
 * The fallback where WebAssembly SIMD is missing; about 10x slower than the SIMD kernel (docs/benchmarks.md).
 */
import { GF_MUL_TABLE } from './galois-field.ts'
import type { GaloisKernel } from './interface.ts'

export function createJsKernel(): GaloisKernel {
  return {
    name: 'js',
    multiply(coefficients, inputs, outputs) {
      const k = inputs.length
      for (let r = 0; r < outputs.length; r++) {
        const out = outputs[r]!
        const length = out.length
        let first = true
        for (let j = 0; j < k; j++) {
          const c = coefficients[r * k + j]!
          if (c === 0) continue
          const input = inputs[j]!
          if (c === 1) {
            if (first) out.set(input.subarray(0, length))
            else for (let p = 0; p < length; p++) out[p]! ^= input[p]!
          } else {
            const row = GF_MUL_TABLE.subarray(c * 256, c * 256 + 256)
            if (first) for (let p = 0; p < length; p++) out[p] = row[input[p]!]!
            else for (let p = 0; p < length; p++) out[p]! ^= row[input[p]!]!
          }
          first = false
        }
        if (first) out.fill(0)
      }
    },
  }
}
