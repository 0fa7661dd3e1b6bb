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
import { GF256_KERNEL_WASM_BASE64 } from './gf256-kernel-wasm.ts'
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
  view: Uint8Array
}

let shared: KernelInstance | null | undefined

function decodeBase64(base64: string): Uint8Array {
  const binary = atob(base64)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

function instantiate(): KernelInstance | null {
  if (shared !== undefined) return shared
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly
    const bytes = decodeBase64(GF256_KERNEL_WASM_BASE64)
    if (wasm === undefined || !wasm.validate(bytes)) return (shared = null)
    const memory = new wasm.Memory({ initial: 1 })
    const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } })
    const groups: GroupFunction[] = []
    let maxWidth = 0
    while (typeof instance.exports[`mul_w${maxWidth + 1}`] === 'function') {
      maxWidth++
      groups[maxWidth] = instance.exports[`mul_w${maxWidth}`] as GroupFunction
    }
    if (maxWidth === 0) return (shared = null)
    shared = { memory, groups, maxWidth, view: new Uint8Array(memory.buffer) }
  } catch {
    shared = null
  }
  return shared
}

/** True when this runtime can run the WebAssembly SIMD kernel. */
export function wasmSimdAvailable(): boolean {
  return instantiate() !== null
}

/** Group widths covering `rows` outputs: as many full groups as possible, then the remainder. */
function groupWidths(rows: number, maxWidth: number): number[] {
  const widths: number[] = []
  for (let left = rows; left > 0; left -= maxWidth) widths.push(Math.min(left, maxWidth))
  return widths
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

/** Throws when WebAssembly SIMD is unavailable (check `wasmSimdAvailable()` first). */
export function createWasmSimdKernel(): GaloisKernel {
  const kernel = instantiate()
  if (kernel === null) throw new Error('WebAssembly SIMD is not available in this runtime')
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
        Math.ceil(size / 16) * 16,
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
      memory.set(tables, tablesAt)
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
            Math.ceil(length / 16) * 16,
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
