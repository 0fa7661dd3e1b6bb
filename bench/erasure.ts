/**
 * Reed-Solomon throughput: the wasm-SIMD kernels (relaxed and portable) vs the plain TypeScript kernel, same run,
 * one core. `npm run bench -- erasure [--seconds S]` (S: measuring time per cell, default 0.6).
 * MB/s = 1e6 bytes of *data* (the k data shards) per second; median of 5 rounds, best round in parentheses.
 * - encode: data -> n fresh shards (allocation and copies included, as the pipeline calls it);
 * - kernel: the parity product alone into preallocated shards (what encode costs without allocating);
 * - decode: the first min(k, n-k) data shards lost (4 for k=10,n=14), the data rebuilt from parity;
 * - reconstruct: the same shards rebuilt in place (repair).
 * The machine is shared with other builds: the load average is printed, and figures move with it.
 */
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { parityMatrix } from '../src/storage/erasure/coding-matrix.ts'
import type { GaloisKernel } from '../src/storage/erasure/interface.ts'
import { createJsKernel } from '../src/storage/erasure/js-kernel.ts'
import { ReedSolomonErasureCoder } from '../src/storage/erasure/reed-solomon-coder.ts'
import { createWasmSimdKernel, wasmSimdVariant } from '../src/storage/erasure/wasm-kernel.ts'

const secondsArg = process.argv.indexOf('--seconds')
const SECONDS = secondsArg === -1 ? 0.6 : Number(process.argv[secondsArg + 1])
const SHARD = 256 * 1024

interface Rate {
  median: number
  best: number
}

function measure(bytesPerCall: number, call: () => void): Rate {
  const warmUntil = performance.now() + 100
  while (performance.now() < warmUntil) call()
  const rates: number[] = []
  for (let round = 0; round < 5; round++) {
    let calls = 0
    let elapsed = 0
    const start = performance.now()
    do {
      call()
      calls++
      elapsed = performance.now() - start
    } while (elapsed < (SECONDS * 1000) / 5)
    rates.push((bytesPerCall * calls) / (elapsed / 1000) / 1e6)
  }
  rates.sort((a, b) => a - b)
  return { median: rates[2]!, best: rates[4]! }
}

const kernels: Array<[string, () => GaloisKernel]> = [
  ['wasm-simd relaxed', () => createWasmSimdKernel('relaxed')],
  ['wasm-simd portable', () => createWasmSimdKernel('portable')],
  ['js', () => createJsKernel()],
]
const operations = ['encode', 'kernel', 'decode', 'reconstruct'] as const
type Operation = (typeof operations)[number]
const results = new Map<string, Rate>()
const key = (name: string, k: number, operation: Operation) => `${name}/${k}/${operation}`

const loadBefore = loadavg()[0]!
for (const [k, n] of [
  [10, 14],
  [2, 6],
] as const) {
  const data = randomBytes(k * SHARD)
  const lost = Math.min(k, n - k)
  const parity = parityMatrix(k, n)
  for (const [name, makeKernel] of kernels) {
    const kernel = makeKernel()
    const coder = new ReedSolomonErasureCoder(k, n, kernel)
    const shards = coder.encode(data)
    const partial = (): Array<Uint8Array | undefined> => shards.map((s, i) => (i < lost ? undefined : s))
    if (!Buffer.from(coder.decode(partial(), data.length)).equals(data)) throw new Error(`${name} decode is wrong`)
    const parityOut = shards.slice(k).map((s) => new Uint8Array(s.length))
    const run: Record<Operation, () => void> = {
      encode: () => coder.encode(data),
      kernel: () => kernel.multiply(parity, shards.slice(0, k), parityOut),
      decode: () => coder.decode(partial(), data.length),
      reconstruct: () => coder.reconstruct(partial()),
    }
    for (const operation of operations) results.set(key(name, k, operation), measure(data.length, run[operation]))
  }
}

const cell = (r: Rate) => `${r.median.toFixed(0)} (${r.best.toFixed(0)})`.padStart(14)
console.log(
  `Reed-Solomon, ${SHARD / 1024} KiB shards, one core, MB/s of data: median (best) of 5 rounds; ` +
    `load average ${loadBefore.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}; auto picks ${wasmSimdVariant()}`,
)
console.log(`${'implementation'.padEnd(19)} k   n ${operations.map((o) => o.padStart(14)).join('')}`)
for (const [k, n] of [
  [10, 14],
  [2, 6],
] as const) {
  for (const [name] of kernels) {
    const row = operations.map((o) => cell(results.get(key(name, k, o))!)).join('')
    console.log(`${name.padEnd(19)}${String(k).padStart(2)} ${String(n).padStart(3)} ${row}`)
  }
}
const median = (name: string, k: number, operation: Operation) =>
  Math.round(results.get(key(name, k, operation))!.median)
const json: Record<string, number | string> = {}
for (const [prefix, name] of [
  ['', 'wasm-simd relaxed'],
  ['portable_', 'wasm-simd portable'],
  ['ts_', 'js'],
] as const) {
  for (const operation of operations) json[`${prefix}${operation}_MBps`] = median(name, 10, operation)
  json[`${prefix}k2n6_encode_MBps`] = median(name, 2, 'encode')
  json[`${prefix}k2n6_decode_MBps`] = median(name, 2, 'decode')
}
json.shard_bytes = SHARD
json.load_average = Number(loadBefore.toFixed(2))
console.log(JSON.stringify(json))
