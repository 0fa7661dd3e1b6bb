/**
 * `npm run bench -- transfer-cluster [--size 256MiB] [--bandwidth 100mbit] [--epoch-seconds 10] [--also-uncapped]`
 *
 * The transfer benchmark across the namespace cluster of test/cluster (needs root, `ip`, `nft`, `tc`): the journey a
 * real deployment has, each command on its own host. anvil on the chain host (1 s blocks), `cairn network deploy`,
 * six operators on three /24 subnets funded and started with `--network`/`--announce` (the Registry alone, no
 * bootstrap list), the subnets capped with tc tbf at `--bandwidth` on traffic routed into them (no added latency: the
 * kernel has no netem). Then, on the user host, one file of random bytes: `cairn put` for (k, n) = (1, 3) and (2, 6)
 * (whole command, and its upload part, split at the CLI's "deal N created" line as bench/transfer.ts does), `cairn
 * get` with the output checked by sha2-256, the CLI's CPU seconds (/proc/<pid>/stat) and peak RSS (VmHWM), the CPU
 * seconds of the six nodes, and which host and subnet holds each slot (`cairn status`). Baseline in the same run: raw
 * TCP from the user host to a node host on another subnet (across the cap: the ceiling it allows) and to one on the
 * user's own subnet (bridged, not capped). MB/s = plaintext bytes / 1e6 / wall seconds (start-up included). Prints a
 * table and, last, one JSON line. `--also-uncapped` then removes the caps and measures a second file of the same size
 * on the same network (what the cap costs). Every namespace is removed at the end, also on failure.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { NODE_PROCESS_FLAGS } from '../src/devnet/index.ts'
import { parseByteSize } from '../src/node/index.ts'
import { type Cluster, createCluster, namespaceSupport } from '../test/cluster/cluster.ts'
import { ClusterNetwork } from '../test/cluster/fixtures/network-setup.ts'
import { cpuSeconds, sha256File, writeRandomFile } from './transfer/files-and-procs.ts'

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const MB = 1e6
const BASELINE_PORT = 5001
/** Bytes of each raw TCP baseline: enough for the tbf bucket not to matter, short enough to take seconds. */
const BASELINE_BYTES = 64 * 2 ** 20

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256MiB' },
    bandwidth: { type: 'string', default: '100mbit' },
    'epoch-seconds': { type: 'string', default: '10' },
    'also-uncapped': { type: 'boolean', default: false },
  },
})
const size = parseByteSize(values.size)
const epochSeconds = Number(values['epoch-seconds'])
if (!Number.isInteger(epochSeconds) || epochSeconds < 1) {
  console.error(`error: --epoch-seconds must be a whole number of seconds >= 1 (got ${values['epoch-seconds']})`)
  process.exit(2)
}
const unsupported = namespaceSupport()
if (unsupported !== undefined) {
  console.error(`transfer-cluster needs network namespaces: ${unsupported}`)
  process.exit(2)
}

/** Peak resident set (VmHWM) of a process in bytes; NaN once it is gone. */
function peakRss(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match === null ? Number.NaN : Number(match[1]) * 1024
  } catch {
    return Number.NaN
  }
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
  /** Each stderr line with the seconds since the start at which it arrived. */
  lines: Array<{ at: number; text: string }>
  seconds: number
  /** CPU seconds and peak RSS of the CLI process (last readings before it exited). */
  cpu: number
  peakRss: number
}

/** Runs one `cairn` command on `host`, following its CPU time, peak RSS and the arrival time of its stderr lines. */
async function runCairn(net: ClusterNetwork, host: string, args: string[], timeoutMs: number): Promise<Run> {
  const started = performance.now()
  const process_ = net.cluster.spawn(host, net.argv(args), { env: net.env(host) })
  const pid = process_.child.pid as number
  const lines: Run['lines'] = []
  process_.child.stderr?.on('data', (text: string) => {
    const at = (performance.now() - started) / 1000
    for (const line of text.split(/[\r\n]/)) if (line.trim() !== '') lines.push({ at, text: line })
  })
  let cpu = 0
  let rss = 0
  const read = () => {
    const used = cpuSeconds(pid)
    if (!Number.isNaN(used)) cpu = used
    const peak = peakRss(pid)
    if (!Number.isNaN(peak)) rss = Math.max(rss, peak)
  }
  const poll = setInterval(read, 50)
  const killer = setTimeout(() => process_.child.kill('SIGKILL'), timeoutMs)
  const code = await process_.exited
  clearInterval(poll)
  clearTimeout(killer)
  const seconds = (performance.now() - started) / 1000
  const text = process_.output()
  const split = text.indexOf('\n[stderr]\n')
  const stdout = split === -1 ? text : text.slice(0, split)
  const stderr = split === -1 ? '' : text.slice(split + 10)
  return { code, stdout, stderr, lines, seconds, cpu, peakRss: rss }
}

/**
 * Raw TCP throughput from `from` to `to`: a server on `to` counts `bytes` from its first byte to the end of the
 * stream, a client on `from` writes them in 1 MiB chunks with backpressure. Returns MB/s.
 */
async function tcpBaseline(cluster: Cluster, from: string, to: string, bytes: number): Promise<number> {
  const server = `import { createServer } from 'node:net'
const server = createServer((socket) => {
  let received = 0, first = 0
  socket.on('data', (chunk) => { if (first === 0) first = performance.now(); received += chunk.length })
  socket.on('end', () => { console.log(JSON.stringify({ received, seconds: (performance.now() - first) / 1000 })); process.exit(0) })
})
server.listen(${BASELINE_PORT}, '0.0.0.0', () => console.log('listening'))`
  const client = `import { connect } from 'node:net'
const chunk = Buffer.alloc(1 << 20, 7)
const socket = connect({ host: ${JSON.stringify(cluster.host(to).address)}, port: ${BASELINE_PORT} }, async () => {
  for (let sent = 0; sent < ${bytes}; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve))
  }
  socket.end()
})
socket.on('close', () => process.exit(0))`
  const listening = cluster.spawn(to, ['node', '--input-type=module', '-e', server])
  await listening.waitForLine((line) => line === 'listening', 15_000)
  const sending = await cluster.run(from, ['node', '--input-type=module', '-e', client], { timeoutMs: 300_000 })
  if (sending.code !== 0) throw new Error(`the TCP baseline client on ${from} failed: ${sending.stderr}`)
  const line = await listening.waitForLine((l) => l.startsWith('{'), 30_000)
  const { received, seconds } = JSON.parse(line) as { received: number; seconds: number }
  if (received !== bytes) throw new Error(`the TCP baseline to ${to} received ${received} of ${bytes} bytes`)
  return received / MB / seconds
}

/**
 * Which host and subnet holds each slot, from `cairn status --json` on the user host (its first JSON line, even when
 * the command is slow to exit); '?' where it cannot tell.
 */
async function slotPlacement(net: ClusterNetwork, capability: string): Promise<string> {
  const args = ['status', capability, '--network', net.networkFile, '--json']
  const run = await net.cluster.run('user', net.argv(args), { env: net.env('user'), timeoutMs: 60_000 })
  const line = run.stdout.split('\n').find((l) => l.startsWith('{'))
  if (line === undefined) return `? (cairn status: ${run.stderr.trim().split('\n').at(-1) ?? run.code})`
  const hostOf = net.hostOf()
  const { slots } = JSON.parse(line) as { slots: Array<{ index: number; peerId: string | null }> }
  return slots
    .map((s) => hostOf.get(s.peerId ?? ''))
    .map((h) => (h === undefined ? '?' : `${h}@${net.cluster.host(h).subnet}`))
    .join(' ')
}

const mbps = (bytes: number, seconds: number) => bytes / MB / seconds
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`
const round = (value: number) => Math.round(value * 10) / 10
const log = (text: string) => process.stderr.write(`transfer-cluster: ${text}\n`)
/** Adds a row to the table, and prints it at once (a later failure keeps what was measured). */
const report = (row: string[]) => {
  rows.push(row)
  log(row.filter((cell) => cell !== '-').join(' | '))
}

const startedAt = new Date()
const loadBefore = loadavg()[0] as number
const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-cluster-'))
const rows: string[][] = []
const result: Record<string, number | string> = {
  date: startedAt.toISOString(),
  size_bytes: size,
  bandwidth: values.bandwidth,
  epoch_seconds: epochSeconds,
}
// Six public node hosts on three /24s; no node behind the NAT (a relayed connection carries only a little data
// before DCUtR upgrades it, which nat.test.ts and the journey test on their own).
const setupStart = performance.now()
const cluster = await createCluster({ bandwidth: values.bandwidth, natNodes: 0 })
const net = new ClusterNetwork(cluster, {
  dir,
  epochSeconds,
  operatorTokens: 2_000n,
  userTokens: 5_000n,
  command: (args) => ['node', ...NODE_PROCESS_FLAGS, CLI, ...args],
  onStep: (step) => log(`${((performance.now() - setupStart) / 1000).toFixed(1)} s ${step}`),
})
try {
  await net.startChain()
  await net.deploy()
  await net.fundAndStartNodes()
  await net.waitUntilListed()
  result.setup_s = round((performance.now() - setupStart) / 1000)
  const nodePids = [...net.nodes.values()].map((p) => p.child.pid as number)
  const nodesCpu = () => nodePids.map(cpuSeconds).reduce((a, b) => a + b, 0)

  const input = join(net.home('user'), 'input.bin')
  log(`writing ${mib(size)} of random data on the user host's folder`)
  const inputSha = await writeRandomFile(input, size)

  // Baselines: the user host (s2) to n1 (s1, routed through the capped bridge) and to n3 (s2, bridged: no cap).
  log('raw TCP baselines')
  const across = await tcpBaseline(cluster, 'user', 'n1', BASELINE_BYTES)
  const within = await tcpBaseline(cluster, 'user', 'n3', BASELINE_BYTES)
  report(['raw TCP user -> n1, across the cap', mib(BASELINE_BYTES), '-', across.toFixed(1), '1.00', '-', '-'])
  report(['raw TCP user -> n3, same /24 (no cap)', mib(BASELINE_BYTES), '-', within.toFixed(0), '-', '-', '-'])
  result.tcp_across_cap_MBps = round(across)
  result.tcp_same_subnet_MBps = round(within)
  const ratio = (mbPerS: number) => (mbPerS / across).toFixed(2)

  const phases = [{ label: '', suffix: '', input, sha: inputSha, lift: false }]
  if (values['also-uncapped'] === true) {
    // The same network with the caps removed, a new file of the same size: what the cap costs.
    const second = join(net.home('user'), 'input-uncapped.bin')
    phases.push({ label: '[no cap] ', suffix: '_uncapped', input: second, sha: '', lift: true })
  }
  for (const phase of phases) {
    if (phase.lift) {
      for (let s = 1; s <= 3; s++) await cluster.uncapBandwidth(`s${s}`)
      phase.sha = await writeRandomFile(phase.input, size)
      const lifted = await tcpBaseline(cluster, 'user', 'n1', BASELINE_BYTES)
      report(['[no cap] raw TCP user -> n1', mib(BASELINE_BYTES), '-', lifted.toFixed(0), '-', '-', '-'])
      result.tcp_user_n1_uncapped_MBps = round(lifted)
    }
    for (const [k, n] of [
      [1, 3],
      [2, 6],
    ] as const) {
      const suffix = `_${k}_${n}${phase.suffix}`
      log(`${phase.label}put (${k}, ${n})`)
      const cpuBeforePut = nodesCpu()
      const put = await runCairn(
        net,
        'user',
        ['put', phase.input, '--k', String(k), '--n', String(n), ...net.asUser()],
        900_000,
      )
      const putNodesCpu = nodesCpu() - cpuBeforePut
      const dealCreated = put.lines.find((line) => /deal \d+ created/.test(line.text))?.at
      const capability = put.stdout.trim().split('\n').at(-1) ?? ''
      if (put.code !== 0 || !capability.startsWith('cairn:')) {
        // the CLI names nodes by peer ID: add the host and subnet
        const reason = [...net.hostOf()].reduce(
          (text, [peerId, host]) => text.replaceAll(peerId, `${peerId} (${host}@${cluster.host(host).subnet})`),
          put.stderr.trim().split('\n').at(-1) ?? `exit code ${put.code}`,
        )
        log(`put (${k}, ${n}) failed: ${reason}`)
        log(
          `the put's last progress lines:\n${put.lines
            .slice(-12)
            .map((l) => `  ${l.at.toFixed(1)} s ${l.text}`)
            .join('\n')}`,
        )
        const failed = [...net.hostOf()].find(([peerId]) => reason.includes(peerId))?.[1]
        if (failed !== undefined) log(`${failed}'s node, last output:\n${net.nodes.get(failed)?.output().slice(-3000)}`)
        report([`${phase.label}cairn put (${k}, ${n}) FAILED`, mib(size), put.seconds.toFixed(1), '-', '-', '-', '-'])
        result[`put_error${suffix}`] = reason
        if (dealCreated !== undefined) result[`put_upload_s${suffix}`] = round(dealCreated)
        continue
      }
      const placement = await slotPlacement(net, capability)
      log(`${phase.label}get (${k}, ${n})`)
      const out = join(net.home('user'), `out-${k}-${n}${phase.suffix}.bin`)
      const cpuBeforeGet = nodesCpu()
      const get = await runCairn(net, 'user', ['get', capability, '-o', out, '--network', net.networkFile], 900_000)
      const getNodesCpu = nodesCpu() - cpuBeforeGet
      if (get.code !== 0) throw new Error(`get (${k}, ${n}) failed: ${get.stderr.trim()}`)
      if ((await sha256File(out)) !== phase.sha) throw new Error(`get (${k}, ${n}) returned different bytes`)
      await rm(out)
      const putMBps = mbps(size, put.seconds)
      const getMBps = mbps(size, get.seconds)
      report([
        `${phase.label}cairn put (${k}, ${n}), whole command`,
        mib(size),
        put.seconds.toFixed(1),
        putMBps.toFixed(1),
        ratio(putMBps),
        put.cpu.toFixed(1),
        mib(put.peakRss),
      ])
      if (dealCreated !== undefined) {
        const uploadMBps = mbps(size, dealCreated)
        report([
          '  upload, until the deal is created',
          '-',
          dealCreated.toFixed(1),
          uploadMBps.toFixed(1),
          ratio(uploadMBps),
          '-',
          '-',
        ])
        report(['  holders confirm the deal', '-', (put.seconds - dealCreated).toFixed(1), '-', '-', '-', '-'])
        result[`put_upload_s${suffix}`] = round(dealCreated)
        result[`put_upload_MBps${suffix}`] = round(uploadMBps)
        result[`put_deal_s${suffix}`] = round(put.seconds - dealCreated)
      }
      report([`  slots: ${placement}`, '-', '-', '-', '-', '-', '-'])
      report([
        `${phase.label}cairn get (${k}, ${n}), sha-256 checked`,
        mib(size),
        get.seconds.toFixed(1),
        getMBps.toFixed(1),
        ratio(getMBps),
        get.cpu.toFixed(1),
        mib(get.peakRss),
      ])
      report([`  CPU s of the 6 nodes: put ${putNodesCpu.toFixed(1)}, get ${getNodesCpu.toFixed(1)}`])
      result[`put_s${suffix}`] = round(put.seconds)
      result[`put_MBps${suffix}`] = round(putMBps)
      result[`get_s${suffix}`] = round(get.seconds)
      result[`get_MBps${suffix}`] = round(getMBps)
      result[`put_cli_cpu_s${suffix}`] = round(put.cpu)
      result[`get_cli_cpu_s${suffix}`] = round(get.cpu)
      result[`put_nodes_cpu_s${suffix}`] = round(putNodesCpu)
      result[`get_nodes_cpu_s${suffix}`] = round(getNodesCpu)
      result[`put_cli_peak_rss_MB${suffix}`] = round(put.peakRss / MB)
      result[`get_cli_peak_rss_MB${suffix}`] = round(get.peakRss / MB)
      result[`slots${suffix}`] = placement
    }
  }
  result.node_peak_rss_MB = round(Math.max(...nodePids.map(peakRss)) / MB)
  result.load_before = round(loadBefore)
  result.load_after = round(loadavg()[0] as number)

  const header = ['what', 'size', 'seconds', 'MB/s', 'x TCP across cap', 'CLI CPU s', 'CLI peak RSS']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length > 1).map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')
  console.log(line(header))
  for (const row of rows) console.log(line(row))
  console.log(
    `(${size} bytes; subnets capped at ${values.bandwidth} by tc tbf, no added latency; load ${result.load_before} -> ${result.load_after}; largest node ${result.node_peak_rss_MB} MB)`,
  )
  console.log(JSON.stringify(result))
} catch (error) {
  process.stderr.write(net.failureReport())
  throw error
} finally {
  await cluster.destroy()
  await rm(dir, { recursive: true, force: true })
}
