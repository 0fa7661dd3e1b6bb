/**
 * `npm run bench -- idle [--nodes 3] [--seconds 60]`
 *
 * What idle storage nodes cost: a fresh devnet (separate node processes on 127.0.0.1, the devchain, no file stored),
 * left to settle for 20 s, then the CPU time of each node process (utime + stime from /proc/<pid>/stat) over the
 * window, as % of one core, and its resident set at the end. Beside it, in the same run, the devchain (anvil) and
 * this benchmark process itself (the floor of a Node process doing nothing but timers). Prints a table and one JSON
 * line.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createDevnet } from '../src/devnet/index.ts'
import { cpuSeconds } from './transfer/files-and-procs.ts'

const { values } = parseArgs({
  options: { nodes: { type: 'string', default: '3' }, seconds: { type: 'string', default: '60' } },
})
const nodeCount = Number(values.nodes)
const seconds = Number(values.seconds)
const SETTLE_MS = 20_000

function rssMB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match === null ? Number.NaN : Number(match[1]) / 1024
}

function anvilPids(): number[] {
  const { execFileSync } = process.getBuiltinModule('node:child_process')
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-f', 'anvil'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map(Number)
  } catch {
    return []
  }
}

const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-idle-'))
const devnet = createDevnet({ dir: join(dir, 'devnet'), nodes: nodeCount, readyTimeoutMs: 300_000 })
try {
  process.stderr.write(`idle: starting a ${nodeCount}-node devnet\n`)
  const state = await devnet.start()
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const pids = state.nodes.map((node) => node.pid)
  const chain = anvilPids()
  const load = loadavg()[0]!
  const before = pids.map(cpuSeconds)
  const chainBefore = chain.map(cpuSeconds)
  const ownBefore = process.cpuUsage()
  process.stderr.write(`idle: measuring ${seconds} s\n`)
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  const percent = (used: number) => Math.round((1000 * used) / seconds) / 10
  const nodes = pids.map((pid, i) => percent(cpuSeconds(pid) - before[i]!))
  const chainPercent = percent(chain.reduce((sum, pid, i) => sum + cpuSeconds(pid) - chainBefore[i]!, 0))
  const own = process.cpuUsage(ownBefore)
  const benchPercent = percent((own.user + own.system) / 1e6)
  const rss = pids.map((pid) => Math.round(rssMB(pid)))
  console.log(
    `${nodeCount} idle devnet nodes, ${seconds} s after ${SETTLE_MS / 1000} s to settle; load ${load.toFixed(1)}`,
  )
  console.log('| process | CPU, % of a core | RSS, MB |')
  console.log('|---|---|---|')
  nodes.forEach((cpu, i) => {
    console.log(`| node ${i} | ${cpu} | ${rss[i]} |`)
  })
  console.log(`| devchain (anvil) | ${chainPercent} | - |`)
  console.log(`| this process (timers only) | ${benchPercent} | - |`)
  const mean = nodes.reduce((a, b) => a + b, 0) / nodes.length
  console.log(
    JSON.stringify({
      nodes: nodeCount,
      seconds,
      node_idle_cpu_percent: nodes,
      node_idle_cpu_percent_mean: Math.round(mean * 100) / 100,
      node_rss_MB: rss,
      chain_idle_cpu_percent: chainPercent,
      bench_process_cpu_percent: benchPercent,
      load_average: Math.round(load * 100) / 100,
    }),
  )
} finally {
  await devnet.stop()
  await rm(dir, { recursive: true, force: true })
}
