/**
 * Reed-Solomon throughput: wasm-SIMD kernel vs the plain TypeScript kernel, same run, one core.
 * `npm run bench -- erasure [--seconds S]`. MB = 1e6 bytes of *data* (the k data shards) per second.
 * decode: the first min(k, n-k) data shards are lost and rebuilt from parity (the worst case for k=10,n=14: 4).
 * reconstruct: the same shards rebuilt in place (repair); encode: data -> n shards.
 */
import { randomBytes } from 'node:crypto'
import { createErasureCoder, type ErasureImplementationName } from '../src/storage/erasure/index.ts'

const secondsArg = process.argv.indexOf('--seconds')
const SECONDS = secondsArg === -1 ? 0.6 : Number(process.argv[secondsArg + 1])
const SHARD = 256 * 1024

/** Median MB/s over 5 rounds of ~SECONDS/5 each, after a warm-up. */
function measure(bytesPerCall: number, call: () => void): number {
  const deadline = performance.now() + 100
  while (performance.now() < deadline) call()
  const rates: number[] = []
  for (let round = 0; round < 5; round++) {
    let calls = 0
    const start = performance.now()
    let elapsed = 0
    do {
      call()
      calls++
      elapsed = performance.now() - start
    } while (elapsed < (SECONDS * 1000) / 5)
    rates.push((bytesPerCall * calls) / (elapsed / 1000) / 1e6)
  }
  return rates.toSorted((a, b) => a - b)[2]!
}

interface Row {
  implementation: ErasureImplementationName
  k: number
  n: number
  encode: number
  decode: number
  reconstruct: number
}

const rows: Row[] = []
for (const [k, n] of [
  [10, 14],
  [2, 6],
] as const) {
  const data = randomBytes(k * SHARD)
  const lost = Math.min(k, n - k)
  for (const implementation of ['wasm-simd', 'js'] as const) {
    const coder = createErasureCoder({ k, n, implementation })
    const shards = coder.encode(data)
    const partial = (): Array<Uint8Array | undefined> => shards.map((s, i) => (i < lost ? undefined : s))
    const check = coder.decode(partial(), data.length)
    if (!Buffer.from(check).equals(data)) throw new Error(`${implementation} decode is wrong`)
    rows.push({
      implementation,
      k,
      n,
      encode: measure(data.length, () => coder.encode(data)),
      decode: measure(data.length, () => coder.decode(partial(), data.length)),
      reconstruct: measure(data.length, () => coder.reconstruct(partial())),
    })
  }
}

const format = (x: number) => x.toFixed(0).padStart(8)
console.log(`Reed-Solomon, ${SHARD / 1024} KiB shards, one core, MB/s of data (median of 5 rounds)`)
console.log('implementation  k   n    encode    decode  reconstruct')
for (const r of rows) {
  console.log(
    `${r.implementation.padEnd(14)} ${String(r.k).padStart(2)} ${String(r.n).padStart(3)}  ${format(r.encode)}  ${format(r.decode)}  ${format(r.reconstruct)}`,
  )
}
const pick = (implementation: string, k: number) => rows.find((r) => r.implementation === implementation && r.k === k)!
const round = (x: number) => Math.round(x)
console.log(
  JSON.stringify({
    encode_MBps: round(pick('wasm-simd', 10).encode),
    decode_MBps: round(pick('wasm-simd', 10).decode),
    reconstruct_MBps: round(pick('wasm-simd', 10).reconstruct),
    ts_encode_MBps: round(pick('js', 10).encode),
    ts_decode_MBps: round(pick('js', 10).decode),
    ts_reconstruct_MBps: round(pick('js', 10).reconstruct),
    k2n6_encode_MBps: round(pick('wasm-simd', 2).encode),
    k2n6_decode_MBps: round(pick('wasm-simd', 2).decode),
    k2n6_ts_encode_MBps: round(pick('js', 2).encode),
    k2n6_ts_decode_MBps: round(pick('js', 2).decode),
    shard_bytes: SHARD,
  }),
)
