/**
 * Network throughput between two processes on 127.0.0.1 (TCP, Noise, Yamux), same run:
 * - raw stream: one libp2p stream, 256 KiB writes with send()/onDrain() backpressure (the baseline);
 * - piece store / fetch: Cairn's `/cairn/piece/1.0.0` with 4 MiB pieces, 4 requests in flight (includes the
 *   receiver's sha2-256 check and an in-memory PieceStore.put, and the fetcher's check).
 * `npm run bench -- stream [--mib N]` (N: MiB per measurement, default 512). MB = 1e6 B. The machine is shared with
 * other engineers' builds: the load average is printed, and figures move with it. Beside each rate, the CPU seconds
 * per GB (1e9 B) moved of both processes together (this one's `process.cpuUsage()`, the other's /proc/<pid>/stat),
 * which moves far less with the load than the rate does.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createNetwork, type Network } from '../src/net/index.ts'
import { createMemoryPieceStore, pieceCid } from '../src/storage/index.ts'
import { cpuSeconds } from './transfer/files-and-procs.ts'

const SINK_PROTOCOL = '/cairn-bench/sink/1.0.0'
const WRITE_SIZE = 256 * 1024
const PIECE_SIZE = 4 * 1024 * 1024
const CONCURRENCY = 4

async function startHost(): Promise<Network> {
  const network = createNetwork(
    { pieceStore: createMemoryPieceStore() },
    { privateKey: await generateKeyPair('Ed25519'), devnet: true, mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'] },
  )
  await network.start()
  return network
}

if (process.argv.includes('--serve')) {
  // the remote process: a piece-serving host plus a sink that counts bytes and answers with the count
  const network = await startHost()
  await network.libp2p.handle(SINK_PROTOCOL, async (stream: Stream) => {
    let bytes = 0
    for await (const chunk of stream) bytes += chunk.byteLength
    stream.send(new TextEncoder().encode(String(bytes)))
    await stream.close()
  })
  process.stdout.write(`${JSON.stringify({ address: network.multiaddrs()[0] })}\n`)
  process.on('SIGTERM', () => void network.stop().then(() => process.exit(0)))
} else {
  const mibArg = process.argv.indexOf('--mib')
  const totalMiB = mibArg === -1 ? 512 : Number(process.argv[mibArg + 1])
  const total = totalMiB * 1024 * 1024
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string]
    const { address } = JSON.parse(line) as { address: string }
    const remote = peerIdFromString(
      multiaddr(address)
        .getComponents()
        .findLast((c) => c.name === 'p2p')!.value!,
    )
    const local = await startHost()
    await local.libp2p.dial(multiaddr(address))
    const loadBefore = loadavg()[0]!
    /** CPU seconds of both processes so far. */
    const bothCpu = () => {
      const own = process.cpuUsage()
      return (own.user + own.system) / 1e6 + cpuSeconds(child.pid!)
    }

    // raw stream baseline
    const block = randomBytes(WRITE_SIZE)
    let cpuStart = bothCpu()
    let started = performance.now()
    const stream = await local.libp2p.dialProtocol(remote, SINK_PROTOCOL)
    for (let sent = 0; sent < total; sent += WRITE_SIZE) {
      if (!stream.send(block)) await stream.onDrain()
    }
    await stream.close()
    let reply = ''
    for await (const chunk of stream) reply += new TextDecoder().decode(chunk.subarray())
    const rawSeconds = (performance.now() - started) / 1000
    const rawCpu = bothCpu() - cpuStart
    if (Number(reply) !== Math.floor(total / WRITE_SIZE) * WRITE_SIZE) throw new Error(`sink counted ${reply}`)

    // piece protocol: store then fetch
    const count = Math.max(CONCURRENCY, Math.floor(total / PIECE_SIZE))
    const distinct = Array.from({ length: 8 }, () => randomBytes(PIECE_SIZE))
    const pieces = Array.from({ length: count }, (_, i) => {
      const bytes = Buffer.from(distinct[i % distinct.length]!)
      bytes.writeUInt32BE(i, 0) // every piece distinct, so every store is real work
      return bytes
    })
    const cids = pieces.map((p) => pieceCid(p))
    const runPool = async (work: (i: number) => Promise<void>) => {
      let next = 0
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < count) await work(next++)
        }),
      )
    }
    cpuStart = bothCpu()
    started = performance.now()
    await runPool((i) => local.storePiece(remote.toString(), cids[i]!, pieces[i]!))
    const storeSeconds = (performance.now() - started) / 1000
    const storeCpu = bothCpu() - cpuStart
    cpuStart = bothCpu()
    started = performance.now()
    await runPool(async (i) => {
      const bytes = await local.fetchPiece(remote.toString(), cids[i]!)
      if (bytes.byteLength !== PIECE_SIZE) throw new Error('short piece')
    })
    const fetchSeconds = (performance.now() - started) / 1000
    const fetchCpu = bothCpu() - cpuStart
    const loadAfter = loadavg()[0]!
    await local.stop()

    const pieceBytes = count * PIECE_SIZE
    const rows = [
      ['raw libp2p stream (baseline)', total, rawSeconds, rawCpu],
      [`piece store, ${CONCURRENCY} in flight`, pieceBytes, storeSeconds, storeCpu],
      [`piece fetch, ${CONCURRENCY} in flight`, pieceBytes, fetchSeconds, fetchCpu],
    ] as const
    const mbps = (bytes: number, seconds: number) => Math.round(bytes / seconds / 1e6)
    const perGB = (cpu: number, bytes: number) => Math.round((cpu / (bytes / 1e9)) * 100) / 100
    const rawRate = mbps(total, rawSeconds)
    console.log(
      `two processes on 127.0.0.1, TCP + Noise + Yamux; load average ${loadBefore.toFixed(2)} -> ${loadAfter.toFixed(2)}`,
    )
    console.log('| measurement | MiB | seconds | MB/s | x raw | CPU s per GB (both processes) |')
    console.log('|---|---|---|---|---|---|')
    for (const [name, bytes, seconds, cpu] of rows) {
      const rate = mbps(bytes, seconds)
      console.log(
        `| ${name} | ${bytes / 1048576} | ${seconds.toFixed(2)} | ${rate} | ${(rate / rawRate).toFixed(2)} | ${perGB(cpu, bytes)} |`,
      )
    }
    console.log(
      JSON.stringify({
        raw_stream_MBps: rawRate,
        piece_store_MBps: mbps(pieceBytes, storeSeconds),
        piece_fetch_MBps: mbps(pieceBytes, fetchSeconds),
        raw_stream_cpu_s_per_GB: perGB(rawCpu, total),
        piece_store_cpu_s_per_GB: perGB(storeCpu, pieceBytes),
        piece_fetch_cpu_s_per_GB: perGB(fetchCpu, pieceBytes),
        piece_bytes: PIECE_SIZE,
        concurrency: CONCURRENCY,
        mib: totalMiB,
        load_average: Math.round(loadBefore * 100) / 100,
      }),
    )
  } finally {
    child.kill('SIGTERM')
  }
}
