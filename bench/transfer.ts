/**
 * `npm run bench -- transfer [--size 1GiB] [--nodes 6] [--no-helia]`
 *
 * On a fresh devnet (separate node processes on 127.0.0.1): put and get throughput of one file through the `cairn`
 * CLI for (k, n) = (1, 3) and (2, 6), next to the raw libp2p stream throughput (same TCP + Noise + Yamux stack, the
 * benchmark process to one node) and Helia's add + bitswap cat of the same file between two processes. Peak RSS of
 * every process is read from /proc/<pid>/status (VmHWM). The CLI runs with the V8 flags bin/cairn.js sets. Throughput is plaintext MB/s (1 MB = 1e6 bytes), wall time
 * of each CLI command including its start-up. A put is also split at the CLI's "deal N created" line into the upload
 * (start-up, encode, store every piece, create the deal) and the wait for the holders to confirm the deal, and the
 * CPU seconds of the CLI and of the nodes during each command are given. A failed put is reported and the run goes
 * on. Prints a table and, last, one JSON line.
 *
 * Whole-cluster cost: CPU seconds per GB (1e9 bytes) of plaintext of a put and of a get, the CLI (read from this
 * process's reaped-children times, so to its last tick) plus every node (utime + stime from /proc/<pid>/stat, before
 * and after the command; idle nodes included); the devchain (anvil) is given beside it, not in it. Against it, the
 * bound the stage costs measured in this process at the start of the run add up to for the same work
 * (bench/transfer/stage-costs.ts), and the ratio cost / bound.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { locateNetwork, openClientSession } from '../src/cli/client-session.ts'
import { createDevnet, NODE_PROCESS_FLAGS } from '../src/devnet/index.ts'
import { parseByteSize, sendToBenchSink } from '../src/node/index.ts'
import { cpuSeconds, sha256File, writeRandomFile } from './transfer/files-and-procs.ts'
import { measureStageCosts, stageBound } from './transfer/stage-costs.ts'

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const HELIA_PEER = fileURLToPath(new URL('./transfer/helia-peer.ts', import.meta.url))

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    nodes: { type: 'string', default: '6' },
    'no-helia': { type: 'boolean', default: false },
  },
})
const size = parseByteSize(values.size)
const nodeCount = Number(values.nodes)
const MB = 1e6

/** Follows a process's peak resident set (VmHWM) until `stop()`. */
function watchPeakRss(pid: number): { stop(): number; peak(): number } {
  let peak = 0
  const read = () => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      if (match !== null) peak = Math.max(peak, Number(match[1]) * 1024)
    } catch {}
  }
  read()
  const timer = setInterval(read, 100)
  return {
    peak: () => {
      read()
      return peak
    },
    stop: () => {
      read()
      clearInterval(timer)
      return peak
    },
  }
}

/** CPU seconds of this process's children that have exited and been waited for (cutime + cstime). */
function reapedChildrenCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[13]) + Number(fields[14])) / 100
}

/** Pids of the running descendants of this process whose command name is `name` (e.g. the devchain's anvil). */
function descendantsNamed(name: string): number[] {
  const parents = new Map<number, { ppid: number; comm: string }>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parents.set(Number(entry), { ppid, comm })
    } catch {}
  }
  const isOurs = (pid: number): boolean => {
    for (let p = parents.get(pid)?.ppid; p !== undefined && p > 1; p = parents.get(p)?.ppid) {
      if (p === process.pid) return true
    }
    return false
  }
  return [...parents].filter(([pid, { comm }]) => comm === name && isOurs(pid)).map(([pid]) => pid)
}

function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
  /** Each stderr line with the seconds since the start at which it arrived. */
  lines: Array<{ at: number; text: string }>
  seconds: number
  peakRss: number
  /** CPU seconds of the process (last reading before it exited). */
  cpu: number
}

async function runProcess(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const started = performance.now()
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  const rss = watchPeakRss(child.pid!)
  let cpu = 0
  const cpuTimer = setInterval(() => {
    const used = cpuSeconds(child.pid!)
    if (!Number.isNaN(used)) cpu = used
  }, 50)
  let stdout = ''
  let stderr = ''
  const lines: Run['lines'] = []
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => {
    const at = (performance.now() - started) / 1000
    for (const text of c.toString().split('\n')) if (text.trim() !== '') lines.push({ at, text })
    stderr += c.toString()
  })
  const reapedBefore = reapedChildrenCpuSeconds()
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  clearInterval(cpuTimer)
  const seconds = (performance.now() - started) / 1000
  // Once reaped, the child's whole CPU time (its threads and its own reaped children) is in ours.
  const reaped = reapedChildrenCpuSeconds() - reapedBefore
  return { code, stdout, stderr, lines, seconds, peakRss: rss.stop(), cpu: reaped > 0 ? reaped : cpu }
}

const mbps = (bytes: number, seconds: number) => bytes / MB / seconds
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`

const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-transfer-'))
const devnetDir = join(dir, 'devnet')
const input = join(dir, 'input.bin')
const rows: string[][] = []
const result: Record<string, number | boolean | string | Record<string, number>> = {
  size_bytes: size,
  nodes: nodeCount,
}
const GB = size / 1e9
// A loaded machine starts six nodes and a devchain slowly: 5 minutes before giving up.
const devnet = createDevnet({
  dir: devnetDir,
  nodes: nodeCount,
  env: { CAIRN_BENCH_SINK: '1' },
  readyTimeoutMs: 300_000,
})
const helia: ChildProcess[] = []
let devnetPids: number[] = []
try {
  process.stderr.write(`transfer: writing ${mib(size)} of random data\n`)
  const inputSha = await writeRandomFile(input, size)
  result.load_average_start = loadAverage()
  process.stderr.write('transfer: measuring stage costs\n')
  const costs = await measureStageCosts()
  result.stage_cpu_s_per_GB = Object.fromEntries(Object.entries(costs).map(([name, c]) => [name, round(c, 3)]))
  process.stderr.write(`transfer: starting a ${nodeCount}-node devnet\n`)
  const state = await devnet.start()
  devnetPids = state.nodes.map((n) => n.pid)
  const chainPids = descendantsNamed('anvil')
  const chainCpu = () => chainPids.reduce((sum, pid) => sum + (cpuSeconds(pid) || 0), 0)
  const nodeRss = state.nodes.map((n) => watchPeakRss(n.pid))

  // Raw libp2p stream: this process (a client host, like the CLI's) to one node's sink.
  const session = await openClientSession(await locateNetwork({ devnet: devnetDir }))
  process.stderr.write('transfer: libp2p stream to a node\n')
  // Bounded: a stalled stream is reported and the run goes on (seen once under a load average of 36).
  let stalled: ReturnType<typeof setTimeout> | undefined
  const streamSeconds = await Promise.race([
    sendToBenchSink(session.network.libp2p, state.nodes[0]!.peerId, size),
    new Promise<number>((resolve) => {
      stalled = setTimeout(() => resolve(Number.NaN), 60_000 + (size / 1e6) * 1000)
    }),
  ])
  clearTimeout(stalled)
  if (Number.isNaN(streamSeconds)) process.stderr.write('transfer: the libp2p stream stalled; going on without it\n')
  await session.close()
  const streamMBps = mbps(size, streamSeconds)
  rows.push(['libp2p stream (client -> node)', mib(size), streamSeconds.toFixed(1), streamMBps.toFixed(0), '-'])
  result.stream_MBps = round(streamMBps)

  for (const [k, n] of [
    [1, 3],
    [2, 6],
  ] as const) {
    if (n > nodeCount) continue
    const suffix = k === 1 && n === 3 ? '' : `_${k}_${n}`
    process.stderr.write(`transfer: put (${k}, ${n})\n`)
    const nodesBeforePut = state.nodes.map((node) => cpuSeconds(node.pid))
    const chainBeforePut = chainCpu()
    const put = await runProcess([
      ...NODE_PROCESS_FLAGS,
      CLI,
      'put',
      input,
      '--k',
      String(k),
      '--n',
      String(n),
      '--devnet',
      devnetDir,
    ])
    const putNodesCpu = nodesCpuSince(nodesBeforePut)
    const putChainCpu = chainCpu() - chainBeforePut
    const dealCreated = put.lines.find((line) => /^deal \d+ created/.test(line.text))?.at
    const capability = put.stdout.trim().split('\n').at(-1) ?? ''
    if (put.code !== 0 || !capability.startsWith('cairn:')) {
      const reason = put.stderr.trim().split('\n').at(-1) ?? `exit code ${put.code}`
      process.stderr.write(`transfer: put (${k}, ${n}) failed: ${reason}\n`)
      rows.push([`cairn put (${k}, ${n}) FAILED`, mib(size), put.seconds.toFixed(1), '-', mib(put.peakRss)])
      if (dealCreated !== undefined) {
        rows.push([
          `  upload, until the deal is created`,
          '-',
          dealCreated.toFixed(1),
          mbps(size, dealCreated).toFixed(0),
          '-',
        ])
      }
      result[`put_error${suffix}`] = reason
      if (dealCreated !== undefined) result[`put_upload_s${suffix}`] = round(dealCreated)
      continue
    }
    process.stderr.write(`transfer: get (${k}, ${n})\n`)
    const out = join(dir, `out-${k}-${n}.bin`)
    const nodesBeforeGet = state.nodes.map((node) => cpuSeconds(node.pid))
    const chainBeforeGet = chainCpu()
    const get = await runProcess([...NODE_PROCESS_FLAGS, CLI, 'get', capability, '-o', out, '--devnet', devnetDir])
    const getNodesCpu = nodesCpuSince(nodesBeforeGet)
    const getChainCpu = chainCpu() - chainBeforeGet
    if (get.code !== 0) throw new Error(`get (${k}, ${n}) failed: ${get.stderr.trim()}`)
    if ((await sha256File(out)) !== inputSha) throw new Error(`get (${k}, ${n}) returned different bytes`)
    await rm(out)
    rows.push([
      `cairn put (${k}, ${n})`,
      mib(size),
      put.seconds.toFixed(1),
      mbps(size, put.seconds).toFixed(0),
      mib(put.peakRss),
    ])
    if (dealCreated !== undefined) {
      rows.push([
        `  upload, until the deal is created`,
        '-',
        dealCreated.toFixed(1),
        mbps(size, dealCreated).toFixed(0),
        '-',
      ])
      rows.push([`  holders confirm the deal`, '-', (put.seconds - dealCreated).toFixed(1), '-', '-'])
      result[`put_upload_s${suffix}`] = round(dealCreated)
      result[`put_deal_s${suffix}`] = round(put.seconds - dealCreated)
    }
    const bound = stageBound(costs, k, n)
    const putNodesTotal = putNodesCpu.reduce((a, b) => a + b, 0)
    const getNodesTotal = getNodesCpu.reduce((a, b) => a + b, 0)
    const putPerGB = (put.cpu + putNodesTotal) / GB
    const getPerGB = (get.cpu + getNodesTotal) / GB
    rows.push([
      `  CPU s: CLI ${put.cpu.toFixed(1)}, nodes ${putNodesCpu.map((c) => c.toFixed(1)).join(' ')}, chain ${putChainCpu.toFixed(1)}`,
      '-',
      '-',
      '-',
      '-',
    ])
    rows.push([
      `  CPU s/GB: ${putPerGB.toFixed(1)} (CLI ${(put.cpu / GB).toFixed(1)}, nodes ${(putNodesTotal / GB).toFixed(1)}); bound ${bound.put.toFixed(1)} (CLI ${bound.putClient.toFixed(1)}, holders ${bound.putHolders.toFixed(1)}) = ${(putPerGB / bound.put).toFixed(1)}x`,
      '-',
      '-',
      '-',
      '-',
    ])
    rows.push([
      `cairn get (${k}, ${n})`,
      mib(size),
      get.seconds.toFixed(1),
      mbps(size, get.seconds).toFixed(0),
      mib(get.peakRss),
    ])
    rows.push([
      `  CPU s: CLI ${get.cpu.toFixed(1)}, nodes ${getNodesCpu.map((c) => c.toFixed(1)).join(' ')}, chain ${getChainCpu.toFixed(1)}`,
      '-',
      '-',
      '-',
      '-',
    ])
    rows.push([
      `  CPU s/GB: ${getPerGB.toFixed(1)} (CLI ${(get.cpu / GB).toFixed(1)}, nodes ${(getNodesTotal / GB).toFixed(1)}); bound ${bound.get.toFixed(1)} (CLI ${bound.getClient.toFixed(1)}, holders ${bound.getHolders.toFixed(1)}) = ${(getPerGB / bound.get).toFixed(1)}x`,
      '-',
      '-',
      '-',
      '-',
    ])
    result[`put_cpu_s_per_GB${suffix}`] = round(putPerGB)
    result[`get_cpu_s_per_GB${suffix}`] = round(getPerGB)
    result[`bound_put_cpu_s_per_GB${suffix}`] = round(bound.put)
    result[`bound_get_cpu_s_per_GB${suffix}`] = round(bound.get)
    result[`put_cpu_vs_bound${suffix}`] = round(putPerGB / bound.put, 2)
    result[`get_cpu_vs_bound${suffix}`] = round(getPerGB / bound.get, 2)
    result[`put_nodes_cpu_s_per_GB${suffix}`] = round(putNodesTotal / GB)
    result[`bound_put_holders_cpu_s_per_GB${suffix}`] = round(bound.putHolders)
    result[`get_nodes_cpu_s${suffix}`] = round(getNodesTotal)
    result[`put_chain_cpu_s${suffix}`] = round(putChainCpu)
    result[`get_chain_cpu_s${suffix}`] = round(getChainCpu)
    result[`put_cli_cpu_s${suffix}`] = round(put.cpu)
    result[`put_nodes_cpu_s${suffix}`] = round(putNodesTotal)
    result[`get_cli_cpu_s${suffix}`] = round(get.cpu)
    result[`put_MBps${suffix}`] = round(mbps(size, put.seconds))
    result[`get_MBps${suffix}`] = round(mbps(size, get.seconds))
    result[`put_client_peak_rss_MB${suffix}`] = round(put.peakRss / MB)
    result[`get_client_peak_rss_MB${suffix}`] = round(get.peakRss / MB)
    result[`put_goal_MBps${suffix}`] = round((streamMBps * 0.5 * k) / n)
  }
  const nodePeaks = nodeRss.map((w) => w.stop())
  const nodePeak = Math.max(...nodePeaks)
  rows.push(['cairn nodes (max of all)', '-', '-', '-', mib(nodePeak)])
  result.node_peak_rss_MB = round(nodePeak / MB)
  result.get_goal_MBps = round(streamMBps * 0.5)
  await devnet.stop()

  if (values['no-helia'] !== true) {
    process.stderr.write('transfer: Helia add and bitswap cat\n')
    const adder = spawn(process.execPath, [HELIA_PEER, 'add', input, join(dir, 'helia-a')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    helia.push(adder)
    const adderRss = watchPeakRss(adder.pid!)
    const addedLine = await new Promise<string>((resolve, reject) => {
      let text = ''
      adder.stdout!.on('data', (c: Buffer) => {
        text += c.toString()
        if (text.includes('\n')) resolve(text.split('\n')[0]!)
      })
      adder.once('exit', (code) => reject(new Error(`the Helia adder exited (${code})`)))
    })
    const added = JSON.parse(addedLine) as { cid: string; multiaddrs: string[]; addSeconds: number }
    const cat = await runProcess([HELIA_PEER, 'cat', added.cid, added.multiaddrs[0]!, join(dir, 'helia-b')])
    if (cat.code !== 0) throw new Error(`Helia cat failed: ${cat.stderr.trim()}`)
    const catted = JSON.parse(cat.stdout) as { seconds: number; bytes: number; sha256: string }
    if (catted.sha256 !== inputSha) throw new Error('Helia cat returned different bytes')
    const servingPeak = adderRss.stop()
    adder.kill('SIGTERM')
    rows.push([
      'helia add (in process)',
      mib(size),
      added.addSeconds.toFixed(1),
      mbps(size, added.addSeconds).toFixed(0),
      '-',
    ])
    rows.push([
      'helia bitswap cat',
      mib(size),
      catted.seconds.toFixed(1),
      mbps(size, catted.seconds).toFixed(0),
      mib(cat.peakRss),
    ])
    rows.push(['helia serving process', '-', '-', '-', mib(servingPeak)])
    result.helia_add_MBps = round(mbps(size, added.addSeconds))
    result.helia_cat_MBps = round(mbps(size, catted.seconds))
    result.helia_serving_peak_rss_MB = round(servingPeak / MB)
    result.helia_cat_peak_rss_MB = round(cat.peakRss / MB)
    result.get_vs_helia_cat = round(Number(result.get_MBps) / Number(result.helia_cat_MBps))
  }
  result.get_goal_met = Number(result.get_MBps) >= Number(result.get_goal_MBps)
  result.put_goal_met = Number(result.put_MBps) >= Number(result.put_goal_MBps)
  result.rss_goal_met = [
    result.node_peak_rss_MB,
    result.put_client_peak_rss_MB,
    result.get_client_peak_rss_MB,
    result.put_client_peak_rss_MB_2_6 ?? 0,
    result.get_client_peak_rss_MB_2_6 ?? 0,
  ].every((v) => Number(v) < 256)
  result.load_average_end = loadAverage()

  const header = ['what', 'size', 'seconds', 'MB/s', 'peak RSS']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')
  console.log(line(header))
  for (const row of rows) console.log(line(row))
  console.log(JSON.stringify(result))
} finally {
  for (const child of helia) child.kill('SIGKILL')
  await devnet.stop()
  await rm(dir, { recursive: true, force: true })
}

/** CPU seconds each devnet node used since `before` (readings of cpuSeconds, same order as state.nodes). */
function nodesCpuSince(before: number[]): number[] {
  return devnetPids.map((pid, i) => cpuSeconds(pid) - before[i]!)
}

function round(value: number, digits = 1): number {
  return Math.round(value * 10 ** digits) / 10 ** digits
}
