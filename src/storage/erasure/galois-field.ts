/**
 * Arithmetic in GF(2^8) with the reducing polynomial 0x11d: addition is XOR, multiplication goes through log/exp
 * tables, and a full 256 x 256 product table serves the plain TypeScript kernel (row c is "multiply by c").
 */
import { GF256_POLYNOMIAL } from './constants.ts'

/** GF_EXP[i] = 2^i, doubled in length so GF_EXP[a + b] needs no modulo. */
export const GF_EXP = new Uint8Array(512)
/** GF_LOG[x] = i such that 2^i = x, for x != 0 (GF_LOG[0] is unused). */
export const GF_LOG = new Uint8Array(256)

{
  let x = 1
  for (let i = 0; i < 255; i++) {
    GF_EXP[i] = x
    GF_LOG[x] = i
    x <<= 1
    if (x & 0x100) x ^= GF256_POLYNOMIAL
  }
  for (let i = 255; i < 512; i++) GF_EXP[i] = GF_EXP[i - 255]!
}

export function gfMultiply(a: number, b: number): number {
  if (a === 0 || b === 0) return 0
  return GF_EXP[GF_LOG[a]! + GF_LOG[b]!]!
}

export function gfInverse(a: number): number {
  if (a === 0) throw new RangeError('0 has no inverse in GF(2^8)')
  return GF_EXP[255 - GF_LOG[a]!]!
}

/** GF_MUL_TABLE[c * 256 + x] = c * x. 64 KiB. */
export const GF_MUL_TABLE = new Uint8Array(256 * 256)
for (let c = 1; c < 256; c++) {
  for (let x = 1; x < 256; x++) GF_MUL_TABLE[c * 256 + x] = GF_EXP[GF_LOG[c]! + GF_LOG[x]!]!
}
