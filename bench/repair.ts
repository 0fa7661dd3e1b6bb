/**
 * `npm run bench -- repair [--size 256MiB] [--nodes 7] [--heartbeat-ms 1000] [--confirm-ms 1000]`
 *
 * Self-healing without the owner, on a fresh devnet (separate node processes on 127.0.0.1, no chain): one file is put
 * with (k, n) = (2, 6) through the `cairn` CLI, the holder of slot 0 is SIGKILLed, and the nodes' repair logs
 * (`repair.jsonl`) give the times: detect = SIGKILL until a holder finds the slot without a live holder; repair = the
 * repairer's rebuild (fetch k pieces per segment from the other holders, Reed-Solomon, send to the new node);
 * full redundancy = SIGKILL until the new node holds every piece of the slot (and `cairn status` shows n live holders).
 * Repair throughput is the rebuilt slot's bytes over the repair time (MB = 1e6 bytes). The repair waits `--confirm-ms`
 * after detection (the node default, 20 s, keeps a quick restart from counting as a loss). Prints a table and, last,
 * one JSON line.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createDevnet, NODE_PROCESS_FLAGS } from '../src/devnet/index.ts'
import { parseByteSize } from '../src/node/index.ts'
import { parseCapability } from '../src/storage/index.ts'

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256MiB' },
    nodes: { type: 'string', default: '7' },
    'heartbeat-ms': { type: 'string', default: '1000' },
    'confirm-ms': { type: 'string', default: '1000' },
  },
})
const size = parseByteSize(values.size)
const nodeCount = Number(values.nodes)
const heartbeatMs = Number(values['heartbeat-ms'])
const confirmMs = Number(values['confirm-ms'])
const K = 2
const N = 6
const MB = 1e6

interface LogLine {
  at: number
  type: string
  slot?: number
  manifestCid?: string
  bytes?: number
  ms?: number
  target?: string
  newHolder?: string
}

async function cairn(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...NODE_PROCESS_FLAGS, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString()
  })
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, stdout, stderr }
}

async function readLog(dataDir: string): Promise<LogLine[]> {
  const text = await readFile(join(dataDir, 'repair.jsonl'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as LogLine)
}

const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-repair-'))
const devnet = createDevnet({
  dir,
  nodes: nodeCount,
  heartbeatIntervalMs: heartbeatMs,
  chain: false,
  env: { CAIRN_REPAIR_CHECK_MS: '500', CAIRN_REPAIR_CONFIRM_MS: String(confirmMs) },
})
try {
  const state = await devnet.start()
  const file = join(dir, 'file.bin')
  const handle = await open(file, 'w')
  for (let written = 0; written < size; written += 16 * 1024 * 1024) {
    await handle.write(randomBytes(Math.min(16 * 1024 * 1024, size - written)))
  }
  await handle.close()
  const putStarted = performance.now()
  const put = await cairn(['put', file, '--k', String(K), '--n', String(N), '--json', '--devnet', dir])
  if (put.code !== 0) throw new Error(`put failed: ${put.stderr}`)
  const putSeconds = (performance.now() - putStarted) / 1000
  const { capability } = JSON.parse(put.stdout) as { capability: string }
  const manifestCid = parseCapability(capability).manifestCid.toString()
  await rm(file)
  const status = async () => {
    const result = await cairn(['status', capability, '--json', '--devnet', dir])
    if (result.code !== 0) throw new Error(`status failed: ${result.stderr}`)
    return JSON.parse(result.stdout) as {
      slots: Array<{ index: number; peerId: string; state: string; held: number; pieces: number }>
    }
  }
  const before = await status()
  const victim = before.slots[0]!.peerId
  const victimNode = state.nodes.find((n) => n.peerId === victim)!
  const others = state.nodes.filter((n) => n.peerId !== victim)
  process.kill(victimNode.pid, 'SIGKILL')
  const killedAt = Date.now()
  let lost: LogLine | undefined
  let done: LogLine | undefined
  let adopted: LogLine | undefined
  const deadline = killedAt + 10 * 60_000
  while (Date.now() < deadline && (done === undefined || adopted === undefined)) {
    await sleep(200)
    const logs = (await Promise.all(others.map((n) => readLog(n.dataDir)))).flat()
    const ofFile = logs.filter((l) => l.at >= killedAt && l.manifestCid === manifestCid)
    lost ??= ofFile.filter((l) => l.type === 'repair:slot-lost').sort((a, b) => a.at - b.at)[0]
    done ??= ofFile.find((l) => l.type === 'repair:done')
    adopted ??= ofFile.find((l) => l.type === 'repair:adopted')
  }
  if (lost === undefined || done === undefined || adopted === undefined) throw new Error('no repair within 10 min')
  const full = await status()
  const healthy = full.slots.filter((s) => s.state === 'alive' && s.held === s.pieces && s.peerId !== victim).length
  const detectS = (lost.at - killedAt) / 1000
  const repairS = done.ms! / 1000
  const fullS = (Math.max(done.at, adopted.at) - killedAt) / 1000
  const repairMBps = done.bytes! / MB / repairS
  const rows: Array<[string, string]> = [
    ['file', `${(size / MB).toFixed(1)} MB, (k, n) = (${K}, ${N}), ${nodeCount} nodes, heartbeat ${heartbeatMs} ms`],
    ['put (CLI, wall)', `${putSeconds.toFixed(1)} s`],
    ['detect (SIGKILL -> slot lost)', `${detectS.toFixed(1)} s`],
    ['confirm wait (setting)', `${(confirmMs / 1000).toFixed(1)} s`],
    ['repair (rebuild + send slot)', `${repairS.toFixed(1)} s, ${(done.bytes! / MB).toFixed(1)} MB`],
    ['repair throughput', `${repairMBps.toFixed(1)} MB/s of rebuilt slot`],
    ['SIGKILL -> full redundancy', `${fullS.toFixed(1)} s`],
    ['status after', `${healthy}/${N} slots alive and complete`],
  ]
  const width = Math.max(...rows.map((r) => r[0].length))
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`)
  console.log(
    JSON.stringify({
      bench: 'repair',
      size,
      k: K,
      n: N,
      nodes: nodeCount,
      heartbeat_ms: heartbeatMs,
      confirm_ms: confirmMs,
      put_s: Number(putSeconds.toFixed(2)),
      detect_s: Number(detectS.toFixed(2)),
      repair_s: Number(repairS.toFixed(2)),
      full_redundancy_s: Number(fullS.toFixed(2)),
      repair_MBps: Number(repairMBps.toFixed(1)),
      slots_alive: healthy,
    }),
  )
} finally {
  await devnet.stop()
  await rm(dir, { recursive: true, force: true })
}
