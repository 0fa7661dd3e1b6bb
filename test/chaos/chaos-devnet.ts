/**
 * A devnet for one chaos run: `cairn devnet` as a child process (real node processes on 127.0.0.1, the devchain
 * unless `chain: false`), the user's commands through the real CLI, and a stop that ends every process it started and
 * removes the folder, whatever happened. Built on test/e2e/devnet-fixture.ts.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FileStatus } from '../../src/client/index.ts'
import {
  type CliResult,
  type DevnetJson,
  devnetCli,
  killAndWait,
  type LongRunning,
  processExists,
  readDevnetJson,
  startCairn,
  stopAll,
} from '../e2e/devnet-fixture.ts'

/** A put as the user saw it: success (with its capability) or the failure the CLI printed. */
export interface PutOutcome {
  name: string
  k: number
  n: number
  bytes: Buffer
  ok: boolean
  capability?: string
  /** Exit code and the CLI's error text, for a failed put. */
  code: number | null
  error?: string
  startedAt: number
  endedAt: number
}

export interface ChaosDevnet {
  dir: string
  nodes: DevnetJson['nodes']
  /** Node indexes SIGKILLed so far. */
  killed: Set<number>
  /** `cairn put FILE --k K --n N --json` of `bytes` (written to a file first). */
  put(name: string, bytes: Buffer, k: number, n: number, extra?: string[]): Promise<PutOutcome>
  /** `cairn get CAPABILITY -o FILE`: the bytes, or undefined with the CLI's error. */
  get(capability: string): Promise<{ bytes?: Buffer; error?: string }>
  /** `cairn status CAPABILITY --json`, or undefined when the command failed. */
  status(capability: string): Promise<FileStatus | undefined>
  /** Runs any `cairn` command against this devnet. */
  run(args: string[]): Promise<CliResult>
  /** SIGKILLs node `index` and waits until it is gone. */
  kill(index: number): Promise<void>
  /** True when every slot of the file is held in full by an alive node that is not killed, all on distinct nodes. */
  fullyRedundant(status: FileStatus): boolean
  stop(): Promise<void>
}

export interface ChaosDevnetInit {
  dir: string
  nodes: number
  chain?: boolean
  epochSeconds?: number
  heartbeatMs?: number
  env?: Record<string, string>
  /** A gateway port (0 for a free one) or none. */
  gateway?: boolean
  readyTimeoutMs?: number
}

/** Stops of every devnet still running: the runner calls them at the end and when interrupted. */
const running = new Set<() => Promise<void>>()

/** Adds a clean-up (e.g. unmounting a tmpfs) that stopEveryDevnet runs too; returns the function that removes it. */
export function registerCleanup(cleanup: () => Promise<void>): () => void {
  running.add(cleanup)
  return () => running.delete(cleanup)
}

/** Stops every devnet this process started and has not stopped yet, and runs every registered clean-up. */
export async function stopEveryDevnet(): Promise<void> {
  await Promise.all([...running].map((stop) => stop().catch(() => {})))
}

/** Starts `cairn devnet` in `dir` and waits for "devnet ready"; on failure everything started is stopped. */
export async function startChaosDevnet(init: ChaosDevnetInit): Promise<ChaosDevnet> {
  await mkdir(init.dir, { recursive: true })
  const args = ['devnet', '--dir', init.dir, '--nodes', String(init.nodes)]
  args.push('--heartbeat-ms', String(init.heartbeatMs ?? 1000))
  if (init.chain === false) args.push('--no-chain')
  if (init.epochSeconds !== undefined) args.push('--epoch-seconds', String(init.epochSeconds))
  if (init.gateway === true) args.push('--gateway-port', '0', '--s3-port', '0')
  else args.push('--no-gateway')
  const devnet: LongRunning = startCairn(args, init.env ?? {})
  let state: DevnetJson | undefined
  const stop = async () => {
    running.delete(stop)
    await devnet.stop('SIGTERM', 20_000).catch(() => {})
    const pids = (state?.nodes ?? []).map((n) => n.pid).filter(processExists)
    await stopAll(pids).catch(() => {})
  }
  running.add(stop)
  try {
    await devnet.waitForLine((l) => l.startsWith('devnet ready'), init.readyTimeoutMs ?? 150_000)
    state = await readDevnetJson(init.dir)
  } catch (err) {
    await stop()
    throw err
  }
  const cli = devnetCli(init.dir, { timeoutMs: 180_000 })
  const killed = new Set<number>()
  const nodes = state.nodes
  const inputs = join(init.dir, 'inputs')
  await mkdir(inputs, { recursive: true })
  const killedPeers = () => new Set([...killed].map((i) => nodes[i]!.peerId))
  return {
    dir: init.dir,
    nodes,
    killed,
    async put(name, bytes, k, n, extra = []) {
      const path = join(inputs, name)
      await writeFile(path, bytes)
      const startedAt = Date.now()
      const result = await cli.run(['put', path, '--k', String(k), '--n', String(n), '--json', ...extra])
      const endedAt = Date.now()
      await rm(path, { force: true })
      const base = { name, k, n, bytes, code: result.code, startedAt, endedAt }
      if (result.code === 0) {
        try {
          const { capability } = JSON.parse(result.stdout.toString('utf8')) as { capability: string }
          return { ...base, ok: true, capability }
        } catch {
          return { ...base, ok: false, error: `exit 0 but no JSON on stdout: ${result.stdout.toString('utf8')}` }
        }
      }
      return { ...base, ok: false, error: result.stderr.trim().slice(-400) }
    },
    async get(capability) {
      const out = join(inputs, `get-${Math.random().toString(36).slice(2)}`)
      const result = await cli.run(['get', capability, '-o', out])
      if (result.code !== 0) return { error: result.stderr.trim().slice(-400) }
      const bytes = await readFile(out)
      await rm(out, { force: true })
      return { bytes }
    },
    async status(capability) {
      const result = await cli.run(['status', capability, '--json'])
      if (result.code !== 0) return undefined
      try {
        return JSON.parse(result.stdout.toString('utf8')) as FileStatus
      } catch {
        return undefined
      }
    },
    run: (args) => cli.run(args),
    async kill(index) {
      killed.add(index)
      await killAndWait(nodes[index]!.pid)
    },
    fullyRedundant(status) {
      const dead = killedPeers()
      const peers = status.slots.map((s) => s.peerId)
      return (
        status.slots.every(
          (s) => s.peerId !== null && !dead.has(s.peerId) && s.state === 'alive' && s.held === s.pieces,
        ) && new Set(peers).size === peers.length
      )
    },
    stop,
  }
}

/** Seconds with one decimal. */
export const seconds = (ms: number) => Math.round(ms / 100) / 10

/** p50, p90 and max of a list of figures (null when empty). */
export function distribution(values: number[]): {
  count: number
  p50: number | null
  p90: number | null
  max: number | null
} {
  if (values.length === 0) return { count: 0, p50: null, p90: null, max: null }
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { count: values.length, p50: at(0.5), p90: at(0.9), max: sorted.at(-1)! }
}
