/**
 * Storage pipeline throughput, one run: each stage alone on one core, then the whole encode and decode pipeline for
 * (k, n) = (1, 3) and (10, 14) on text-like and random data, on one core and with worker threads on all cores, then
 * peak RSS while encoding and decoding a large stream through a disk piece store.
 *
 * `npm run bench -- pipeline [--mib 256] [--rss-gib 2] [--workers N] [--quick]` (--quick = --mib 32 --rss-gib 0.25)
 * MB = 1e6 bytes of plaintext per second unless a row says otherwise. Prints a table, then one JSON line.
 *
 * The machine is shared, so one-core figures (stages and the workers: 0 pipeline, which run on this thread alone)
 * are MB per CPU-second of this thread (process.threadCpuUsage), with wall-clock figures beside them; all-core
 * figures can only be wall-clock and are compared with the one-core wall-clock run made just before them.
 *
 * serial_bound: the encode throughput the measured stage costs add up to on one core for the same data:
 * time = input/zstd + ciphertext/AES-GCM + ciphertext/RS-encode (k > 1) + piece bytes x (1/sha256 + 1/leaf-hash +
 * 1/tree-fold), where piece bytes is the ciphertext once for k = 1 (replicas are hashed once) and n/k times otherwise.
 * ratio = one-core pipeline encode / serial bound.
 */
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os, { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import type { CID } from 'multiformats/cid'
import {
  compressSegment,
  createErasureCoder,
  createFsPieceStore,
  decodeFile,
  decompressSegment,
  encodeFile,
  type Manifest,
  MerkleRootBuilder,
  pieceCid,
  releaseBuffer,
} from '../src/storage/index.ts'
import { paddedCiphertextSize } from '../src/storage/manifest.ts'
import { decryptSegment, deriveFileKeys, encryptSegment } from '../src/storage/segment-cipher.ts'
import { pieceLeafHashes } from '../src/storage/segment-codec.ts'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const quick = process.argv.includes('--quick')
const MIB = arg('mib', quick ? 32 : 256)
const RSS_GIB = arg('rss-gib', quick ? 0.25 : 2)
const WORKERS = arg('workers', availableParallelism())
const SIZE = MIB * 1024 * 1024
const SEG = 4 * 1024 * 1024
const MB = 1e6

const WORDS =
  'the of and to in storage node piece segment cairn erasure manifest proof slot deal epoch reward a is for on that with as by repair\n'.split(
    ' ',
  )
/** Text-like bytes: words drawn by a linear congruential generator (compresses about like prose, ~0.3). */
function textChunk(size: number, seed: number): Uint8Array {
  const out = Buffer.allocUnsafe(size)
  let x = seed >>> 0
  let i = 0
  while (i < size) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    const word = WORDS[(x >>> 16) % WORDS.length]!
    i += out.write(word, i, 'latin1')
    if (i < size) out[i++] = x & 0x80 ? 0x20 : 0x2c
  }
  return new Uint8Array(out.buffer, out.byteOffset, size)
}

function segments(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < data.byteLength; i += SEG) out.push(data.subarray(i, i + SEG))
  return out
}

/** Runs fn over every segment, returns MB/s of `bytes` (default: the segments' bytes). */
/** CPU seconds used by this thread so far: unlike wall time, it does not count time other processes took. */
function cpuSeconds(): number {
  const { user, system } = process.threadCpuUsage()
  return (user + system) / 1e6
}

/** Runs fn over every segment; MB per CPU-second of this thread (and per wall second) of `bytes`. */
function stage<T extends Uint8Array | Uint8Array[]>(parts: T[], fn: (part: T, index: number) => void, bytes?: number) {
  fn(parts[0]!, 0) // warm-up
  const wall = performance.now()
  const cpu = cpuSeconds()
  for (const [i, part] of parts.entries()) fn(part, i)
  const cpuTime = cpuSeconds() - cpu
  const wallTime = (performance.now() - wall) / 1000
  const total = bytes ?? parts.reduce((s, p) => s + (p instanceof Uint8Array ? p.byteLength : 0), 0)
  stageWall.push(total / wallTime / MB)
  return total / cpuTime / MB
}
const stageWall: number[] = []

/** CPU seconds of the whole process (every thread). */
function processCpuSeconds(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

/**
 * All-core speedup expected on idle cores, from CPU time (the machine is shared, so wall-clock speedups mostly
 * measure other people's load): the one-core run's process CPU time (all threads, as for the parallel run: GC
 * helpers included) over the time the parallel run needs at best, which is its total CPU time spread over every
 * core, or the calling thread's own CPU time if that is longer.
 */
function projectedSpeedup(oneCpu: number, mainCpu: number, totalCpu: number): number {
  return oneCpu / Math.max(mainCpu, totalCpu / availableParallelism())
}

function rss(): number {
  return process.memoryUsage.rss() / MB
}

/** Encodes `total` bytes of generated text into a disk store, then decodes them, sampling RSS all along. */
async function rssRun(total: number) {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-rss-'))
  const store = createFsPieceStore({ path: dir })
  await store.start()
  try {
    const base = rss()
    let peak = 0
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20)
    const pool = [0, 1, 2, 3].map((i) => textChunk(SEG, 100 + i))
    function* source() {
      for (let sent = 0, i = 0; sent < total; sent += SEG, i++) {
        // The encoder copies what it is given before asking for more, so one buffer can be reused.
        const chunk = pool[i % pool.length]!
        chunk[0] = i & 0xff // no two segments alike
        chunk[1] = (i >> 8) & 0xff
        yield chunk.subarray(0, Math.min(SEG, total - sent))
      }
    }
    let start = performance.now()
    const { pieces, done } = encodeFile(source(), { k: 10, n: 14, workers: WORKERS })
    // A consumer that owns what it gets: it writes a segment's pieces in parallel, then frees them.
    let batch: Array<{ cid: CID; bytes: Uint8Array }> = []
    for await (const piece of pieces) {
      batch.push(piece)
      if (batch.length === 14) {
        await Promise.all(batch.map((p) => store.put(p.cid, p.bytes)))
        for (const p of batch) releaseBuffer(p.bytes)
        batch = []
      }
      peak = Math.max(peak, rss())
    }
    const file = await done
    const encode = { peak, base, rate: total / MB / ((performance.now() - start) / 1000) }
    // Decode twice: as a consumer that frees each chunk once used (and lets decodeFile free the pieces it read
    // from disk), then as one that leaves everything to the garbage collector.
    const decodes: Array<{ peak: number; rate: number }> = []
    for (const release of [true, false]) {
      peak = 0
      start = performance.now()
      let bytes = 0
      const fetch = ({ cid }: { cid: CID }) => store.get(cid)
      for await (const chunk of decodeFile(file.manifest, file.key, fetch, { releasePieces: release })) {
        bytes += chunk.byteLength
        if (release) releaseBuffer(chunk)
        peak = Math.max(peak, rss())
      }
      if (bytes !== total) throw new Error(`decode returned ${bytes} bytes, expected ${total}`)
      decodes.push({ peak, rate: total / MB / ((performance.now() - start) / 1000) })
    }
    clearInterval(sampler)
    return { encode, decode: decodes[0]!, decodeNoRelease: decodes[1]! }
  } finally {
    await store.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

const rows: Array<[string, string]> = []
const row = (name: string, value: string) => {
  rows.push([name, value])
  process.stderr.write(`${name.padEnd(58)} ${value}\n`)
}
const fmt = (x: number) => `${x.toFixed(0)} MB/s`
/** A stage's rate per CPU-second, with the wall-clock rate of the same run after it. */
const fmtStage = (x: number) => `${fmt(x)} (wall ${fmt(stageWall.at(-1) ?? 0)})`

if (process.argv.includes('--rss-child')) {
  console.log(JSON.stringify(await rssRun(Math.round(RSS_GIB * 1024 ** 3))))
  process.exit(0)
}

process.stderr.write(`generating ${MIB} MiB of text-like and of random data...\n`)
const data = {
  text: textChunk(SIZE, 7),
  random: new Uint8Array(randomBytes(SIZE)),
}
const keys = deriveFileKeys(new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(16)))

// ---- stages, one core ----
const stageRates: Record<string, number> = {}
const compressed: Record<string, Uint8Array[]> = {}
for (const kind of ['text', 'random'] as const) {
  const parts = segments(data[kind])
  const out: Uint8Array[] = []
  stageRates[`zstd_${kind}`] = stage(parts, (p, i) => {
    out[i] = compressSegment(p, 3).bytes
  })
  compressed[kind] = out
  const ratio = out.reduce((s, p) => s + p.byteLength, 0) / SIZE
  row(`zstd -3 compress, ${kind} (kept size ${ratio.toFixed(3)})`, fmtStage(stageRates[`zstd_${kind}`]!))
}
{
  const packed = compressed.text!.map((bytes) => ({ bytes, flags: 1 }))
  const parts = segments(data.text)
  stageRates.unzstd_text = stage(
    parts,
    (p, i) => {
      decompressSegment(packed[i]!.bytes, 1, p.byteLength, i)
    },
    SIZE,
  )
  row('zstd decompress, text (MB/s of output)', fmtStage(stageRates.unzstd_text))
}
const randomParts = segments(data.random)
const sealed: Uint8Array[] = []
stageRates.aes_encrypt = stage(randomParts, (p, i) => {
  sealed[i] = encryptSegment(keys, i, 0, false, p)
})
row('AES-256-GCM encrypt', fmtStage(stageRates.aes_encrypt))
stageRates.aes_decrypt = stage(
  sealed,
  (p, i) => {
    decryptSegment(keys, i, 0, false, p)
  },
  SIZE,
)
row('AES-256-GCM decrypt', fmtStage(stageRates.aes_decrypt))
stageRates.sha256 = stage(randomParts, (p) => {
  pieceCid(p)
})
row('sha256 (piece CID)', fmtStage(stageRates.sha256))
const leafHashes: Uint8Array[] = []
stageRates.leaf_hash = stage(randomParts, (p, i) => {
  leafHashes[i] = pieceLeafHashes(p)
})
row('Merkle leaf hashes (1 KiB leaves)', fmtStage(stageRates.leaf_hash))
// Other ways to hash 1 KiB leaves in Node, with the same hashes (issue 17: per-call overhead dominates; measured here,
// used only if they pay): one node:crypto Hash holding the 0x00 prefix, copied per leaf (Hash.copy(): the storage
// platform's Sha256 has no copy yet), and @noble/hashes (pure JS).
{
  const prefixed = createHash('sha256').update(new Uint8Array([0]))
  const viaCopy: Uint8Array[] = []
  stageRates.leaf_hash_copy = stage(randomParts, (p, i) => {
    const out = new Uint8Array((p.byteLength / 1024) * 32)
    for (let at = 0; at < p.byteLength; at += 1024) {
      out.set(
        prefixed
          .copy()
          .update(p.subarray(at, at + 1024))
          .digest(),
        at / 32,
      )
    }
    viaCopy[i] = out
  })
  if (!viaCopy.every((h, i) => Buffer.from(h).equals(Buffer.from(leafHashes[i]!)))) {
    throw new Error('Hash.copy() leaf hashes differ from pieceLeafHashes')
  }
  row('  same, one Hash copied per leaf (node:crypto Hash.copy)', fmtStage(stageRates.leaf_hash_copy))
  const scratch = new Uint8Array(1025)
  stageRates.leaf_hash_noble = stage(randomParts.slice(0, 8), (p) => {
    for (let at = 0; at < p.byteLength; at += 1024) {
      scratch.set(p.subarray(at, at + 1024), 1)
      nobleSha256(scratch)
    }
  })
  row('  same, @noble/hashes sha256 (pure JS)', fmtStage(stageRates.leaf_hash_noble))
}
{
  const builder = new MerkleRootBuilder()
  stageRates.tree_fold = stage(leafHashes, (h) => builder.appendLeafHashes(h), SIZE + SEG)
  builder.digest()
  row('Merkle tree fold (MB/s of slot data)', fmtStage(stageRates.tree_fold))
}
const coder = createErasureCoder({ k: 10, n: 14 })
const shardSets: Uint8Array[][] = []
stageRates.rs_encode = stage(randomParts, (p, i) => {
  shardSets[i] = coder.encode(p)
})
row(`Reed-Solomon (10,14) encode [${coder.implementation}]`, fmtStage(stageRates.rs_encode))
stageRates.rs_decode = stage(
  shardSets,
  (shards) => {
    coder.decode(
      shards.map((s, j) => (j < 4 ? undefined : s)),
      SEG,
    )
  },
  SIZE,
)
row('Reed-Solomon (10,14) decode, 4 data shards lost', fmtStage(stageRates.rs_decode))
{
  const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-store-'))
  const store = createFsPieceStore({ path: dir })
  await store.start()
  const pieces = randomParts.slice(0, Math.max(4, Math.min(randomParts.length, 32)))
  const cids = pieces.map((p) => pieceCid(p))
  const start = performance.now()
  for (const [i, p] of pieces.entries()) await store.put(cids[i]!, p)
  stageRates.store_write = pieces.reduce((s, p) => s + p.byteLength, 0) / ((performance.now() - start) / 1000) / MB
  await store.stop()
  await rm(dir, { recursive: true, force: true })
  row('fs piece store put, 4 MiB pieces (write, fsync, rename)', fmt(stageRates.store_write))
}

function serialBound(kind: 'text' | 'random', k: number, n: number): number {
  const ciphertext = compressed[kind]!.reduce((s, p) => s + p.byteLength + 16, 0)
  const padded = compressed[kind]!.reduce((s, p) => s + paddedCiphertextSize(p.byteLength + 16, k), 0)
  const hashed = k === 1 ? padded : (padded * n) / k
  const seconds =
    SIZE / MB / stageRates[`zstd_${kind}`]! +
    ciphertext / MB / stageRates.aes_encrypt! +
    (k > 1 ? ciphertext / MB / stageRates.rs_encode! : 0) +
    (hashed / MB) * (1 / stageRates.sha256! + 1 / stageRates.leaf_hash! + 1 / stageRates.tree_fold!)
  return SIZE / MB / seconds
}

// ---- whole pipeline ----
function* chunks(bytes: Uint8Array, size = 1024 * 1024) {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size)
}

interface PipelineResult {
  kind: string
  k: number
  n: number
  /** One core, MB per CPU-second of the coding thread. */
  encode1: number
  /** One core, MB per wall second (the baseline of the all-core speedup). */
  encode1Wall: number
  /** Worker threads on all cores, MB per wall second. */
  encodeAll: number
  decode: number
  decodeWall: number
  decodeAll: number
  bound: number
}
const results: PipelineResult[] = []
const projections: Array<{ encode: number; decode: number }> = []
{
  // Start the shared worker pool once (a one-time cost per process), outside the timed runs.
  const start = performance.now()
  const { pieces, done } = encodeFile([new Uint8Array(1024)], { workers: WORKERS })
  for await (const _ of pieces);
  await done
  row(`worker pool start (${WORKERS} threads, once per process)`, `${(performance.now() - start).toFixed(0)} ms`)
}
for (const kind of ['text', 'random'] as const) {
  for (const [k, n] of [
    [1, 3],
    [10, 14],
  ] as const) {
    const encodeRun = async (workers: number, keep: boolean) => {
      const map = new Map<string, Uint8Array>()
      const start = performance.now()
      const cpu = cpuSeconds()
      const all = processCpuSeconds()
      const { pieces, done } = encodeFile(chunks(data[kind]), { k, n, workers })
      for await (const piece of pieces) if (keep) map.set(`${piece.segment}/${piece.slot}`, piece.bytes)
      const file = await done
      const rate = SIZE / MB / ((performance.now() - start) / 1000)
      const mainCpu = cpuSeconds() - cpu
      return { rate, cpuRate: SIZE / MB / mainCpu, mainCpu, totalCpu: processCpuSeconds() - all, map, file }
    }
    // Warm-up (JIT, coder tables) on two segments, untimed.
    for (const workers of [0, WORKERS]) {
      const warm = encodeFile([data[kind].subarray(0, 2 * SEG)], { k, n, workers })
      for await (const _ of warm.pieces);
      await warm.done
    }
    const one = await encodeRun(0, true)
    const all = await encodeRun(WORKERS, false)
    const manifest: Manifest = one.file.manifest
    const fetch = async ({ segment, slot }: { segment: number; slot: number }) => one.map.get(`${segment}/${slot}`)!
    const decodeRun = async (workers: number) => {
      const start = performance.now()
      const cpu = cpuSeconds()
      const allCpu = processCpuSeconds()
      let bytes = 0
      // The all-core run is the pieces' last use, so it may move them to the workers as a disk or network fetcher's
      // fresh buffers would be (releasePieces); the one-core run reads them in place. Neither copies.
      const init = { workers, releasePieces: workers > 0 }
      for await (const chunk of decodeFile(manifest, one.file.key, fetch, init)) bytes += chunk.byteLength
      if (bytes !== SIZE) throw new Error(`decode returned ${bytes} bytes, expected ${SIZE}`)
      const mainCpu = cpuSeconds() - cpu
      const totalCpu = processCpuSeconds() - allCpu
      return { rate: SIZE / MB / ((performance.now() - start) / 1000), cpuRate: SIZE / MB / mainCpu, mainCpu, totalCpu }
    }
    const decodeOne = await decodeRun(0)
    const decode = decodeOne.cpuRate
    const decodeAllRun = await decodeRun(WORKERS)
    const decodeAll = decodeAllRun.rate
    const bound = serialBound(kind, k, n)
    results.push({
      kind,
      k,
      n,
      encode1: one.cpuRate,
      encode1Wall: one.rate,
      encodeAll: all.rate,
      decode,
      decodeWall: decodeOne.rate,
      decodeAll,
      bound,
    })
    row(
      `encode (${k},${n}) ${kind}, 1 core (CPU time) / serial bound`,
      `${fmt(one.cpuRate)} / ${fmt(bound)} = ${(one.cpuRate / bound).toFixed(2)}`,
    )
    row(
      `encode (${k},${n}) ${kind}, ${WORKERS} workers vs 1 core (wall)`,
      `${fmt(all.rate)} vs ${fmt(one.rate)} = ${(all.rate / one.rate).toFixed(2)}x`,
    )
    const encodeProjected = projectedSpeedup(one.totalCpu, all.mainCpu, all.totalCpu)
    row(
      `encode (${k},${n}) ${kind}, ${WORKERS} workers, projected from CPU time`,
      `${encodeProjected.toFixed(2)}x (calling thread ${((all.mainCpu / all.totalCpu) * 100).toFixed(0)}% of CPU)`,
    )
    row(`decode (${k},${n}) ${kind}, 1 core (CPU time)`, fmt(decode))
    const decodeProjected = projectedSpeedup(decodeOne.totalCpu, decodeAllRun.mainCpu, decodeAllRun.totalCpu)
    row(
      `decode (${k},${n}) ${kind}, ${WORKERS} workers vs 1 core (wall)`,
      `${fmt(decodeAll)} vs ${fmt(decodeOne.rate)} = ${(decodeAll / decodeOne.rate).toFixed(2)}x`,
    )
    row(`decode (${k},${n}) ${kind}, ${WORKERS} workers, projected from CPU time`, `${decodeProjected.toFixed(2)}x`)
    projections.push({ encode: encodeProjected, decode: decodeProjected })
  }
}

// ---- RSS over a large stream, through a disk store, in a fresh process (this one holds the test data) ----
let rssEncode = 0
let rssDecode = 0
let rssEncodeWorkers = 0
let rssDecodeNoRelease = 0
if (RSS_GIB > 0) {
  for (const workers of [0, WORKERS]) {
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--rss-child', '--rss-gib', String(RSS_GIB), '--workers', String(workers)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
    )
    if (child.status !== 0) throw new Error(`the RSS run failed with status ${child.status}`)
    const report = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {
      encode: { peak: number; base: number; rate: number }
      decode: { peak: number; rate: number }
      decodeNoRelease: { peak: number; rate: number }
    }
    if (workers === 0) {
      rssEncode = report.encode.peak
      rssDecode = report.decode.peak
    } else {
      rssEncodeWorkers = report.encode.peak
    }
    row(
      `RSS: encode ${RSS_GIB} GiB (10,14) text into fs store, ${workers} workers`,
      `peak ${report.encode.peak.toFixed(0)} MB (idle ${report.encode.base.toFixed(0)} MB), ${fmt(report.encode.rate)}`,
    )
    row(`RSS: then decode it from the fs store`, `peak ${report.decode.peak.toFixed(0)} MB, ${fmt(report.decode.rate)}`)
    row(
      `RSS: decode again, consumer leaves buffers to the GC`,
      `peak ${report.decodeNoRelease.peak.toFixed(0)} MB, ${fmt(report.decodeNoRelease.rate)}`,
    )
    if (workers === 0) rssDecodeNoRelease = report.decodeNoRelease.peak
  }
}

const head = results.find((r) => r.kind === 'text' && r.k === 10)!
console.log('\n| measure | result |\n|---|---|')
for (const [name, value] of rows) console.log(`| ${name} | ${value} |`)
console.log(
  JSON.stringify({
    bench: 'pipeline',
    mib: MIB,
    workers: WORKERS,
    headline: 'text, (k, n) = (10, 14)',
    encode_MBps: Math.round(head.encode1),
    encode_all_cores_MBps: Math.round(head.encodeAll),
    encode_wall_MBps: Math.round(head.encode1Wall),
    all_core_speedup: Number((head.encodeAll / head.encode1Wall).toFixed(2)),
    all_core_speedup_projected: Number(projections[results.indexOf(head)]!.encode.toFixed(2)),
    decode_MBps: Math.round(head.decode),
    decode_all_cores_MBps: Math.round(head.decodeAll),
    decode_wall_MBps: Math.round(head.decodeWall),
    serial_bound_MBps: Math.round(head.bound),
    ratio: Number((head.encode1 / head.bound).toFixed(2)),
    pipelines: results.map((r, i) => ({
      kind: r.kind,
      k: r.k,
      n: r.n,
      encode_MBps: Math.round(r.encode1),
      encode_wall_MBps: Math.round(r.encode1Wall),
      encode_all_cores_MBps: Math.round(r.encodeAll),
      decode_MBps: Math.round(r.decode),
      decode_all_cores_MBps: Math.round(r.decodeAll),
      serial_bound_MBps: Math.round(r.bound),
      ratio: Number((r.encode1 / r.bound).toFixed(2)),
      encode_speedup_projected: Number(projections[i]!.encode.toFixed(2)),
      decode_speedup_projected: Number(projections[i]!.decode.toFixed(2)),
    })),
    load_average: os.loadavg().map((x) => Number(x.toFixed(1))),
    stages_MBps: Object.fromEntries(Object.entries(stageRates).map(([k, v]) => [k, Math.round(v)])),
    rss_gib: RSS_GIB,
    rss_encode_peak_MB: Math.round(rssEncode),
    rss_decode_peak_MB: Math.round(rssDecode),
    rss_encode_peak_workers_MB: Math.round(rssEncodeWorkers),
    rss_decode_peak_gc_only_MB: Math.round(rssDecodeNoRelease),
  }),
)
