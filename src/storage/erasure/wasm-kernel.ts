/**
 * WebAssembly SIMD kernel (see scripts/build-erasure-wasm.ts for the WAT and how it works). One module instance is
 * shared by every coder: calls are synchronous, so they never interleave. Its memory grows to the largest stripe
 * block seen and is reused, so the hot path allocates nothing but the caller's output shards.
 *
 * Bytes are processed in column blocks: block b of every input is copied into wasm memory, the kernel computes
 * block b of every output there, and the outputs are copied out, so one pass touches (inputs + outputs) x block
 * bytes, which stays in L2.
 */
import { WASM_BLOCK_BUDGET } from './constants.ts'
import { GF_MUL_TABLE } from './galois-field.ts'
import { GF256_KERNEL_PORTABLE_WASM_BASE64, GF256_KERNEL_RELAXED_WASM_BASE64 } from './gf256-kernel-wasm.ts'
import type { GaloisKernel } from './interface.ts'

const PAGE = 65536

type GroupFunction = (
  tables: number,
  input: number,
  count: number,
  output: number,
  stride: number,
  length: number,
) => void

/** The part of the WebAssembly JS API used here (the repo's tsconfig has no DOM lib, which is where its types live). */
interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean
  Memory: new (descriptor: { initial: number }) => WasmMemory
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> }
}

interface KernelInstance {
  memory: WasmMemory
  /** groups[w] computes w outputs per pass, for w = 1..maxWidth. */
  groups: GroupFunction[]
  maxWidth: number
  /** The tables now at address 0 of memory (skips re-copying them when one coder runs many stripes). */
  loadedTables: Uint8Array | undefined
  view: Uint8Array
}

/** `relaxed` uses i8x16.relaxed_swizzle (Wasm 3.0), `portable` only SIMD 128. Both give identical bytes. */
export type WasmKernelVariant = 'relaxed' | 'portable'

const MODULES: Record<WasmKernelVariant, string> = {
  relaxed: GF256_KERNEL_RELAXED_WASM_BASE64,
  portable: GF256_KERNEL_PORTABLE_WASM_BASE64,
}
/** Kernels process positions in steps of this many bytes (16-byte vectors x unroll 2). */
const STEP = 32

const shared = new Map<WasmKernelVariant, KernelInstance | null>()

function decodeBase64(base64: string): Uint8Array {
  const binary = atob(base64)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

function instantiate(variant: WasmKernelVariant): KernelInstance | null {
  let kernel = shared.get(variant)
  if (kernel !== undefined) return kernel
  kernel = null
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly
    const bytes = decodeBase64(MODULES[variant])
    if (wasm?.validate(bytes) === true) {
      const memory = new wasm.Memory({ initial: 1 })
      const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } })
      const groups: GroupFunction[] = []
      let maxWidth = 0
      while (typeof instance.exports[`mul_w${maxWidth + 1}`] === 'function') {
        maxWidth++
        groups[maxWidth] = instance.exports[`mul_w${maxWidth}`] as GroupFunction
      }
      if (maxWidth > 0)
        kernel = { memory, groups, maxWidth, loadedTables: undefined, view: new Uint8Array(memory.buffer) }
    }
  } catch {
    // No WebAssembly, no SIMD, or a browser main thread refusing synchronous compilation: use another kernel.
  }
  shared.set(variant, kernel)
  return kernel
}

/** The best wasm kernel this runtime runs, or null when WebAssembly SIMD is unavailable. */
export function wasmSimdVariant(): WasmKernelVariant | null {
  if (instantiate('relaxed') !== null) return 'relaxed'
  if (instantiate('portable') !== null) return 'portable'
  return null
}

/** Group widths covering `rows` outputs in as few groups as possible, split evenly (5 -> 3 + 2, not 4 + 1). */
function groupWidths(rows: number, maxWidth: number): number[] {
  const groups = Math.ceil(rows / maxWidth)
  return Array.from({ length: groups }, (_, g) => Math.floor(rows / groups) + (g < rows % groups ? 1 : 0))
}

/** Nibble tables laid out group by group, as the kernel reads them. */
function buildTables(coefficients: Uint8Array, k: number, widths: ReadonlyArray<number>): Uint8Array {
  const rows = widths.reduce((a, b) => a + b, 0)
  const tables = new Uint8Array(rows * k * 32)
  let offset = 0
  let first = 0
  for (const width of widths) {
    for (let j = 0; j < k; j++) {
      for (let w = 0; w < width; w++) {
        const row = (coefficients[(first + w) * k + j] ?? 0) * 256
        for (let x = 0; x < 16; x++) {
          tables[offset + x] = GF_MUL_TABLE[row + x]!
          tables[offset + 16 + x] = GF_MUL_TABLE[row + (x << 4)]!
        }
        offset += 32
      }
    }
    first += width
  }
  return tables
}

/** Throws when the variant is unavailable (check `wasmSimdVariant()` first); default: the best available. */
export function createWasmSimdKernel(variant: WasmKernelVariant | null = wasmSimdVariant()): GaloisKernel {
  const kernel = variant === null ? null : instantiate(variant)
  if (kernel === null) throw new Error(`WebAssembly SIMD (${variant ?? 'any'}) is not available in this runtime`)
  const tableCache = new WeakMap<Uint8Array, Uint8Array>()

  return {
    name: 'wasm-simd',
    multiply(coefficients, inputs, outputs) {
      const k = inputs.length
      const rows = outputs.length
      const size = inputs[0]?.length ?? 0
      if (rows === 0 || size === 0) return
      const widths = groupWidths(rows, kernel.maxWidth)
      let tables = tableCache.get(coefficients)
      if (tables === undefined) {
        tables = buildTables(coefficients, k, widths)
        tableCache.set(coefficients, tables)
      }
      const block = Math.min(
        Math.ceil(size / STEP) * STEP,
        Math.max(256, Math.floor(WASM_BLOCK_BUDGET / (k + rows) / 256) * 256),
      )
      const tablesAt = 0
      const inputsAt = Math.ceil(tables.length / 64) * 64
      const outputsAt = inputsAt + k * block
      const needed = outputsAt + rows * block
      if (kernel.memory.buffer.byteLength < needed) {
        kernel.memory.grow(Math.ceil((needed - kernel.memory.buffer.byteLength) / PAGE))
        kernel.view = new Uint8Array(kernel.memory.buffer)
      }
      const memory = kernel.view
      if (kernel.loadedTables !== tables) {
        memory.set(tables, tablesAt)
        kernel.loadedTables = tables
      }
      for (let offset = 0; offset < size; offset += block) {
        const length = Math.min(block, size - offset)
        for (let j = 0; j < k; j++) {
          const input = inputs[j]!
          memory.set(input.subarray(offset, offset + length), inputsAt + j * block)
        }
        let first = 0
        for (const width of widths) {
          kernel.groups[width]!(
            tablesAt + first * k * 32,
            inputsAt,
            k,
            outputsAt + first * block,
            block,
            Math.ceil(length / STEP) * STEP,
          )
          first += width
        }
        for (let r = 0; r < rows; r++) {
          const output = outputs[r]!
          const wanted = Math.min(length, output.length - offset)
          if (wanted > 0) output.set(memory.subarray(outputsAt + r * block, outputsAt + r * block + wanted), offset)
        }
      }
    },
  }
}
