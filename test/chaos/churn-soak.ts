/**
 * Scenario 10, churn soak (`npm run chaos -- soak --minutes M`): one devnet of 9 nodes with its chain under a steady
 * load of (1,3) and (2,6) puts and gets of small files through the CLI, while nodes leave and join every period (60
 * s; 20 s in the quick form): a join restarts the node that left longest ago from its data dir, a leave SIGKILLs or
 * SIGTERMs a random live node (seeded), never leaving fewer than 8 (n+2) alive. After M minutes every acknowledged
 * file is read back byte-equal (one node still down, as a user would find the network). Figures: get latency (the
 * `cairn get` process as the user runs it), failed gets, and repair bytes per hour: the nodes'
 * `cairn_node_repair_rebuilt_bytes_total` (fed by their `repair:done` events, which no log prints), sampled from every
 * node process every 10 s and right before it leaves, summed over every process that ran.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { killAndWait, type LongRunning, processExists, startCairn, waitForExit } from '../e2e/devnet-fixture.ts'
import { type PutOutcome, registerCleanup, startChaosDevnet } from './chaos-devnet.ts'
import { saysWhy } from './mass-failure.ts'
import { nodeCommand } from './node-restart.ts'
import type { Random } from './random.ts'
import type { ChaosContext, Scenario } from './scenario.ts'

/** Minutes of churn without `--minutes`: the full form, and the quick one. */
export const SOAK_DEFAULT_MINUTES = { full: 3, quick: 1 }
const NODES = 9
/** n+2 of the widest shape, (2,6): a file that lost a holder still has a free live node to heal onto. */
const MIN_ALIVE = 8
const SHAPES: Array<[number, number]> = [
  [1, 3],
  [2, 6],
]
const KiB = 1024
/** Setup (devnet and chain) plus the final read-back, beyond the minutes of churn. */
const OVERHEAD_MS = 15 * 60_000

let minutesGiven: number | undefined

/** Sets the soak's length (`--minutes`); without it the scenario runs SOAK_DEFAULT_MINUTES. */
export function setSoakMinutes(minutes: number): void {
  minutesGiven = minutes
}

const minutesOf = (quick: boolean) => minutesGiven ?? (quick ? SOAK_DEFAULT_MINUTES.quick : SOAK_DEFAULT_MINUTES.full)

/** The q-quantile of `values` (nearest rank), null when empty. */
export function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** One node process's rebuilt-bytes counter, or undefined when its API did not answer. */
async function rebuiltBytes(api: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${api}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
    const line = text.split('\n').find((l) => l.startsWith('cairn_node_repair_rebuilt_bytes_total'))
    return line === undefined ? 0 : Number(line.split(' ').at(-1))
  } catch {
    return undefined
  }
}

/** Sleeps `ms` unless the signal aborts first (then returns at once). */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => {})
}

interface NodeSlot {
  index: number
  args: string[]
  pid: number
  /** The process when this run restarted it (the devnet's own processes otherwise). */
  process?: LongRunning
  /** Up, or left at this time. */
  leftAt?: number | undefined
}

export const churnSoak: Scenario = {
  name: 'churn-soak',
  number: 10,
  get timeoutMs() {
    return { full: minutesOf(false) * 60_000 + OVERHEAD_MS, quick: minutesOf(true) * 60_000 + OVERHEAD_MS }
  },
  async run(context: ChaosContext) {
    const minutes = minutesOf(context.quick)
    const periodMs = context.quick ? 20_000 : 60_000
    const failures: string[] = []
    const devnet = await startChaosDevnet({ dir: join(context.workDir, 'devnet'), nodes: NODES })
    const restarted = new Set<LongRunning>()
    const unregister = registerCleanup(async () => {
      await Promise.all([...restarted].map((p) => p.stop('SIGTERM', 10_000).catch(() => {})))
    })
    // Repair counters: the last value read from each node process (a restarted process starts again from 0).
    const rebuiltByPid = new Map<number, number>()
    const files: PutOutcome[] = []
    const getMs: number[] = []
    let gets = 0
    let getsFailed = 0
    let getsWrongBytes = 0
    let puts = 0
    let putsFailed = 0
    let putsWithoutMessage = 0
    let joins = 0
    let leaves = 0
    let joinsFailed = 0
    const leaveSignals = { SIGKILL: 0, SIGTERM: 0 }
    let lost = 0
    let finalRetried = 0
    const nodes: NodeSlot[] = []
    try {
      for (const [index, node] of devnet.nodes.entries()) {
        nodes.push({ index, args: await nodeCommand(devnet, index, node.pid), pid: node.pid })
      }
      const sample = async (slot: NodeSlot) => {
        const bytes = await rebuiltBytes(devnet.nodes[slot.index]!.api)
        if (bytes !== undefined) rebuiltByPid.set(slot.pid, bytes)
      }
      const sampleAll = () => Promise.all(nodes.filter((s) => s.leftAt === undefined).map(sample))
      await sampleAll()
      const started = Date.now()
      const end = started + minutes * 60_000
      const running = () => Date.now() < end && !context.signal.aborted
      context.log(`${minutes} min of churn every ${periodMs / 1000} s on ${NODES} nodes (at least ${MIN_ALIVE} alive)`)

      const putter = async (rng: Random) => {
        for (let i = 0; running(); i++) {
          const [k, n] = SHAPES[rng.int(0, SHAPES.length - 1)]!
          const outcome = await devnet.put(`soak-${i}-k${k}n${n}`, rng.bytes(rng.int(4 * KiB, 256 * KiB)), k, n)
          puts++
          if (outcome.ok) files.push(outcome)
          else {
            putsFailed++
            context.log(`put ${outcome.name} failed (exit ${outcome.code}): ${outcome.error?.split('\n').at(-1)}`)
            if (!saysWhy(outcome.error) || outcome.code === 0) {
              putsWithoutMessage++
              failures.push(`put ${outcome.name} failed without a clear message: ${outcome.error}`)
            }
          }
          await pause(1_000, context.signal)
        }
      }
      const getter = async (rng: Random) => {
        while (running()) {
          if (files.length === 0) {
            await pause(1_000, context.signal)
            continue
          }
          const file = files[rng.int(0, files.length - 1)]!
          const began = Date.now()
          const got = await devnet.get(file.capability!)
          gets++
          if (got.bytes === undefined) {
            getsFailed++
            context.log(`get of ${file.name} failed: ${got.error?.split('\n').at(-1)}`)
          } else if (!got.bytes.equals(file.bytes)) {
            getsFailed++
            getsWrongBytes++
            failures.push(`a get of ${file.name} (${file.k},${file.n}) returned different bytes`)
          } else getMs.push(Date.now() - began)
          await pause(1_000, context.signal)
        }
      }
      const churn = async (rng: Random) => {
        // Ticks on a fixed grid (started + k x period): a slow restart does not stretch the period (a grid point it
        // overran is skipped, not made up for).
        for (let tick = 1; running(); tick = Math.max(tick + 1, Math.ceil((Date.now() - started) / periodMs))) {
          await pause(Math.min(started + tick * periodMs, end) - Date.now(), context.signal)
          if (!running()) break
          await sampleAll()
          // Join: the node that left longest ago comes back from its data dir.
          const down = nodes.filter((s) => s.leftAt !== undefined).sort((a, b) => a.leftAt! - b.leftAt!)
          const back = down[0]
          if (back !== undefined) {
            const node = startCairn(back.args)
            restarted.add(node)
            try {
              await node.waitForLine((l) => l.includes('"event":"ready"'), 90_000)
              back.pid = node.pid
              back.process = node
              back.leftAt = undefined
              joins++
              context.log(`join: node ${back.index} restarted from its data dir (pid ${node.pid})`)
            } catch (err) {
              joinsFailed++
              failures.push(`node ${back.index} did not start again from its data dir: ${(err as Error).message}`)
              await node.stop('SIGKILL').catch(() => {})
              restarted.delete(node)
            }
          }
          // Leave: a random live node, SIGKILL or SIGTERM, while at least MIN_ALIVE stay.
          const alive = nodes.filter((s) => s.leftAt === undefined)
          if (alive.length - 1 < MIN_ALIVE) continue
          const victim = rng.pick(alive, 1)[0]!
          const signal = rng.next() < 0.5 ? 'SIGKILL' : 'SIGTERM'
          await sample(victim)
          if (signal === 'SIGKILL') await killAndWait(victim.pid)
          else {
            process.kill(victim.pid, 'SIGTERM')
            await waitForExit(victim.pid, 30_000).catch(() => killAndWait(victim.pid))
          }
          victim.leftAt = Date.now()
          leaves++
          leaveSignals[signal]++
          context.log(`leave: node ${victim.index} (${signal}), ${alive.length - 1} alive, ${files.length} files`)
        }
      }
      const sampler = async () => {
        while (running()) {
          await pause(10_000, context.signal)
          await sampleAll()
        }
      }
      await Promise.all([
        putter(context.rng.fork('puts')),
        getter(context.rng.fork('gets')),
        churn(context.rng.fork('churn')),
        sampler(),
      ])
      await sampleAll()
      const churnMs = Date.now() - started
      // Every node process that should be up still is (none died on its own; an interrupted run is stopping them).
      for (const slot of nodes.filter((s) => s.leftAt === undefined && !context.signal.aborted)) {
        const up = slot.process === undefined ? processExists(slot.pid) : slot.process.running()
        if (!up) failures.push(`node ${slot.index} (pid ${slot.pid}) exited on its own during the soak`)
      }
      // The end: every acknowledged file, read back byte-equal (a failed read is tried once more 10 s later).
      context.log(`reading back ${files.length} acknowledged files`)
      const finalMs: number[] = []
      for (const file of files) {
        if (context.signal.aborted) break
        const began = Date.now()
        let got = await devnet.get(file.capability!)
        finalMs.push(Date.now() - began)
        if (got.bytes === undefined || !got.bytes.equals(file.bytes)) {
          finalRetried++
          await pause(10_000, context.signal)
          got = await devnet.get(file.capability!)
        }
        if (got.bytes === undefined || !got.bytes.equals(file.bytes)) {
          lost++
          failures.push(
            `acknowledged ${file.name} (${file.k},${file.n}) ${got.bytes === undefined ? `unreadable: ${got.error}` : 'read back different bytes'}`,
          )
        }
      }
      // Nodes jailed on chain (missed proofs) and back: `chain:unjailed` lines of every node process, left or not.
      let unjails = 0
      for (const slot of nodes) {
        const log = await readFile(join(devnet.dir, `node-${slot.index}`, 'node.log'), 'utf8').catch(() => '')
        unjails += log.split('\n').filter((l) => l.includes('"event":"chain:unjailed"')).length
      }
      for (const node of restarted) unjails += node.lines.filter((l) => l.includes('"event":"chain:unjailed"')).length
      const repairBytes = [...rebuiltByPid.values()].reduce((a, b) => a + b, 0)
      const figures = {
        acknowledged_files: files.length,
        lost_files: lost,
        get_p50_ms: quantile(getMs, 0.5),
        get_p99_ms: quantile(getMs, 0.99),
        gets,
        gets_failed: getsFailed,
        repair_bytes_per_hour: Math.round(repairBytes / (churnMs / 3_600_000)),
        joins,
        leaves,
        minutes,
        goals: { lost_files: 0 },
      }
      return {
        ok: lost === 0 && failures.length === 0,
        runs: 1,
        failures,
        ...figures,
        details: {
          nodes: NODES,
          min_alive: MIN_ALIVE,
          period_s: periodMs / 1000,
          chain: true,
          repair_settings: 'devnet defaults',
          churn_s: Math.round(churnMs / 1000),
          leave_signals: leaveSignals,
          joins_failed: joinsFailed,
          puts,
          puts_failed: putsFailed,
          puts_failed_without_message: putsWithoutMessage,
          gets_wrong_bytes: getsWrongBytes,
          get_max_ms: getMs.length === 0 ? null : Math.max(...getMs),
          repair_rebuilt_bytes: repairBytes,
          node_processes_sampled: rebuiltByPid.size,
          final_reads_retried: finalRetried,
          final_read_p50_ms: quantile(finalMs, 0.5),
          final_read_max_ms: finalMs.length === 0 ? null : Math.max(...finalMs),
          unjails_seen: unjails,
          get_latency: 'wall time of one `cairn get` process (Node start included), successful gets only',
        },
      }
    } finally {
      await Promise.all([...restarted].map((p) => p.stop('SIGTERM', 10_000).catch(() => {})))
      unregister()
      await devnet.stop()
    }
  },
}
