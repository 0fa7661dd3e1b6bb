/**
 * Builds the WebAssembly SIMD kernel of the erasure coder: generates its WAT text (below), assembles it with the
 * `wabt` npm package (itself wasm; no compiler download) and writes src/storage/erasure/gf256-kernel-wasm.ts with the
 * module as base64. Run after changing the WAT: `npx node scripts/build-erasure-wasm.ts`.
 * test/storage/erasure.test.ts re-assembles the WAT and fails when the checked-in bytes are stale.
 *
 * The kernel: `mul_wW(tables, in, count, out, stride, len)` for W = 1..MAX_GROUP_WIDTH computes W output rows at
 * once, keeping W accumulators in registers while it streams over the `count` inputs. Input j is at in + j*stride,
 * output w at out + w*stride; positions 0..len-1 (len a multiple of 16 x unroll). For each (input j, output w) the caller puts
 * 32 bytes at tables + (j*W + w)*32: the products of the coefficient with 0..15 (low nibble), then with 0x00..0xf0
 * (high nibble). Product of c and a byte x = low[x & 15] ^ high[x >> 4]: two i8x16.swizzle (pshufb) per 16 bytes.
 */
import { writeFileSync } from 'node:fs'

/**
 * Widest output group. Measured per output row (GB/s of input, relaxed, unroll 2): width 1: 20, 2: 25, 3: 26.5,
 * 4: 29, 8: 30.5. Width 4 keeps nearly all of it and the module under 4 KB, the limit browsers put on synchronous
 * `new WebAssembly.Module` on the main thread (the coder's factory is synchronous).
 */
export const MAX_GROUP_WIDTH = 4

/** Relaxed SIMD (Wasm 3.0; V8 >= 11.4): i8x16.relaxed_swizzle is a bare pshufb; ~1.6x the portable kernel here. */
export const RELAXED_VARIANT: KernelVariant = { swizzle: 'i8x16.relaxed_swizzle', unroll: 2 }
/** SIMD 128 only (i8x16.swizzle costs an extra saturating add per lookup): for runtimes without relaxed SIMD. */
export const PORTABLE_VARIANT: KernelVariant = { swizzle: 'i8x16.swizzle', unroll: 2 }

export interface KernelVariant {
  /** `i8x16.relaxed_swizzle` (one pshufb; exact for indices < 16, which nibbles are) or `i8x16.swizzle`. */
  swizzle: 'i8x16.relaxed_swizzle' | 'i8x16.swizzle'
  /** 16-byte vectors per position step: 2 shares each table load between two vectors. */
  unroll: 1 | 2
}

function groupFunction(width: number, variant: KernelVariant): string {
  const { swizzle, unroll } = variant
  const ws = Array.from({ length: width }, (_, w) => w)
  const vs = Array.from({ length: unroll }, (_, v) => v)
  const lines: string[] = []
  const add = (indent: number, line: string) => lines.push(`${' '.repeat(indent)}${line}`)
  add(2, `(func (export "mul_w${width}")`)
  add(4, '(param $tables i32) (param $in i32) (param $count i32) (param $out i32) (param $stride i32) (param $len i32)')
  add(4, '(local $p i32) (local $src i32) (local $t i32) (local $j i32) (local $dst i32) (local $mask v128)')
  add(4, '(local $low v128) (local $high v128)')
  for (const v of vs) add(4, `(local $x${v} v128) (local $lo${v} v128) (local $hi${v} v128)`)
  add(4, ws.flatMap((w) => vs.map((v) => `(local $a${w}_${v} v128)`)).join(' '))
  add(4, '(local.set $mask (i8x16.splat (i32.const 0x0f)))')
  add(4, '(loop $positions')
  for (const w of ws) for (const v of vs) add(6, `(local.set $a${w}_${v} (v128.const i64x2 0 0))`)
  add(6, '(local.set $src (i32.add (local.get $in) (local.get $p)))')
  add(6, '(local.set $t (local.get $tables))')
  add(6, '(local.set $j (local.get $count))')
  add(6, '(loop $inputs')
  for (const v of vs) {
    add(8, `(local.set $x${v} (v128.load offset=${v * 16} (local.get $src)))`)
    add(8, `(local.set $lo${v} (v128.and (local.get $x${v}) (local.get $mask)))`)
    add(8, `(local.set $hi${v} (v128.and (i16x8.shr_u (local.get $x${v}) (i32.const 4)) (local.get $mask)))`)
  }
  for (const w of ws) {
    add(8, `(local.set $low (v128.load offset=${w * 32} (local.get $t)))`)
    add(8, `(local.set $high (v128.load offset=${w * 32 + 16} (local.get $t)))`)
    for (const v of vs) {
      add(
        8,
        `(local.set $a${w}_${v} (v128.xor (local.get $a${w}_${v}) (v128.xor` +
          ` (${swizzle} (local.get $low) (local.get $lo${v})) (${swizzle} (local.get $high) (local.get $hi${v})))))`,
      )
    }
  }
  add(8, `(local.set $t (i32.add (local.get $t) (i32.const ${width * 32})))`)
  add(8, '(local.set $src (i32.add (local.get $src) (local.get $stride)))')
  add(8, '(br_if $inputs (local.tee $j (i32.sub (local.get $j) (i32.const 1)))))')
  add(6, '(local.set $dst (i32.add (local.get $out) (local.get $p)))')
  for (const w of ws) {
    for (const v of vs) add(6, `(v128.store offset=${v * 16} (local.get $dst) (local.get $a${w}_${v}))`)
    if (w < width - 1) add(6, '(local.set $dst (i32.add (local.get $dst) (local.get $stride)))')
  }
  add(
    6,
    `(br_if $positions (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const ${16 * unroll}))) (local.get $len))))`,
  )
  add(2, ')')
  return lines.join('\n')
}

/** The kernel's WAT source. Memory is imported so the host can grow it and view it without re-instantiating. */
export function erasureKernelWat(variant: KernelVariant): string {
  const functions = Array.from({ length: MAX_GROUP_WIDTH }, (_, i) => groupFunction(i + 1, variant))
  return [
    ';; Generated by scripts/build-erasure-wasm.ts: GF(2^8) split-nibble multiply-accumulate, W outputs per pass.',
    '(module',
    '  (import "env" "memory" (memory 1))',
    ...functions,
    ')',
    '',
  ].join('\n')
}

export async function assembleErasureKernel(variant: KernelVariant): Promise<Uint8Array> {
  const { default: initWabt } = await import('wabt')
  const wabt = await initWabt()
  const module = wabt.parseWat('gf256-kernel.wat', erasureKernelWat(variant), {
    simd: true,
    relaxed_simd: variant.swizzle === 'i8x16.relaxed_swizzle',
  })
  try {
    module.validate()
    return module.toBinary({}).buffer
  } finally {
    module.destroy()
  }
}

function base64Constant(name: string, comment: string, bytes: Uint8Array): string {
  const lines =
    Buffer.from(bytes)
      .toString('base64')
      .match(/.{1,100}/g) ?? []
  return `/** ${comment} (${bytes.length} bytes) */\nexport const ${name} =\n${lines.map((l) => `  '${l}'`).join(' +\n')}\n`
}

/** The text of src/storage/erasure/gf256-kernel-wasm.ts. */
export async function kernelModuleSource(): Promise<string> {
  return [
    '// Generated by scripts/build-erasure-wasm.ts from the WAT text there; do not edit. Rebuild with',
    '// `npx node scripts/build-erasure-wasm.ts` (test/storage/erasure.test.ts fails when this is stale).',
    '',
    base64Constant(
      'GF256_KERNEL_RELAXED_WASM_BASE64',
      'Kernel with i8x16.relaxed_swizzle',
      await assembleErasureKernel(RELAXED_VARIANT),
    ),
    base64Constant(
      'GF256_KERNEL_PORTABLE_WASM_BASE64',
      'Kernel with i8x16.swizzle (SIMD 128 only)',
      await assembleErasureKernel(PORTABLE_VARIANT),
    ),
  ].join('\n')
}

export const KERNEL_MODULE_PATH = new URL('../src/storage/erasure/gf256-kernel-wasm.ts', import.meta.url)

if (import.meta.main) {
  writeFileSync(KERNEL_MODULE_PATH, await kernelModuleSource())
  console.log(`wrote ${KERNEL_MODULE_PATH.pathname}`)
}
