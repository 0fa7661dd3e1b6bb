/**
 * The one fixture of the e2e tests: the real `cairn` CLI as child processes (Node 24 via process.execPath, type
 * stripping), long-running ones (devnet, node start) whose stop resolves only once the process is gone, process ends
 * waited for for real (a timeout throws, naming the process), one `waitFor`, and the commands a test runs against a
 * devnet folder (`devnetCli`: run, ok, json, status, getBytes); `startDevnetWithGateway` adds a gateway on port 0 for the
 * API, S3 and dashboard tests.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { createTestClient, http } from 'viem'
import { type ChainReader, getEpochInfo } from '../../src/chain/index.ts'
import type { FileStatus } from '../../src/client/index.ts'
import { type GatewayProcess, spawnGatewayProcess } from '../../src/devnet/index.ts'

export { waitFor } from '../wait-for.ts'

/**
 * Moves a held devchain clock (holdDevchainClock) to the start of the next epoch, one block at that timestamp, and
 * returns the new epoch: tests step epochs instead of waiting for them.
 */
export async function nextEpoch(rpcUrl: string, reader: ChainReader): Promise<number> {
  const info = await getEpochInfo(reader)
  const test = createTestClient({ mode: 'anvil', transport: http(rpcUrl) })
  await test.setNextBlockTimestamp({ timestamp: BigInt(info.endsAt) })
  await test.mine({ blocks: 1 })
  const { epoch } = await getEpochInfo(reader)
  assert.equal(epoch, info.epoch + 1)
  return epoch
}

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: Buffer
  stderr: string
}

/** Runs `cairn ARGS` to completion (SIGKILLed after `timeoutMs`, default 90 s). */
export async function cairn(
  args: string[],
  init: { env?: Record<string, string>; input?: Uint8Array; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...init.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => out.push(c))
  child.stderr.on('data', (c: Buffer) => err.push(c))
  child.stdin.end(init.input === undefined ? undefined : Buffer.from(init.input))
  const timer = setTimeout(() => child.kill('SIGKILL'), init.timeoutMs ?? 90_000)
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
  clearTimeout(timer)
  return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }
}

/** A long-running `cairn` process (devnet, node start) whose stdout lines are collected. */
export interface LongRunning {
  child: ChildProcess
  /** Its process ID. */
  pid: number
  lines: string[]
  stderr: string[]
  /** True until the process has exited (and was reaped). */
  running(): boolean
  /** Resolves with the first stdout line that `match` accepts. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>
  /**
   * Sends `signal` (default SIGTERM), then SIGKILL after `graceMs` (default 10 s); resolves only once the process is
   * gone, and throws if even SIGKILL did not end it within 30 s.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>
}

/** Starts `cairn ARGS` in the background. */
export function startCairn(args: string[], env: Record<string, string> = {}): LongRunning {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const stderr: string[] = []
  let buffer = ''
  child.stdout!.on('data', (c: Buffer) => {
    buffer += c.toString('utf8')
    const parts = buffer.split('\n')
    buffer = parts.pop()!
    lines.push(...parts)
  })
  child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString('utf8')))
  let exited = false
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true
      resolve()
    }),
  )
  const running = () => !exited && child.exitCode === null && child.signalCode === null
  return {
    child,
    pid: child.pid!,
    lines,
    stderr,
    running,
    async waitForLine(match, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        const line = lines.find(match)
        if (line !== undefined) return line
        if (!running()) {
          throw new Error(`process exited (${child.exitCode ?? child.signalCode}): ${stderr.join('').slice(-500)}`)
        }
        await sleep(50)
      }
      throw new Error(`no matching line within ${timeoutMs} ms; stderr: ${stderr.join('').slice(-500)}`)
    },
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (!running()) return
      child.kill(signal)
      if (await within(exit, graceMs)) return
      child.kill('SIGKILL')
      if (await within(exit, 30_000)) return
      throw new Error(`cairn ${args.join(' ')} (pid ${child.pid}) did not exit even after SIGKILL`)
    },
  }
}

/** True when `promise` settles within `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  const timeout = new AbortController()
  const timedOut = sleep(ms, false, { signal: timeout.signal }).catch(() => false)
  const settled = await Promise.race([promise.then(() => true), timedOut])
  timeout.abort()
  return settled
}

/** `dir/devnet.json` as the tests read it. */
export interface DevnetJson {
  nodes: Array<{ peerId: string; pid: number; multiaddrs: string[]; api: string; dataDir: string }>
}

export async function readDevnetJson(dir: string): Promise<DevnetJson> {
  return JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetJson
}

/** True while a process with this ID exists (a zombie not yet reaped by its parent counts as existing). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** What a process is, for error messages: its state (R, S, Z for a zombie...) and command line, from /proc. */
export function describeProcess(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
    return `pid ${pid} (state ${state}): ${cmdline.slice(0, 300)}`
  } catch {
    return `pid ${pid} (gone)`
  }
}

/** Sends `signal` to a process if it exists; ignores one already gone. */
export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal)
  } catch {}
}

/** Waits until process `pid` is gone; throws, describing it, if it is still there after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (processExists(pid)) {
    if (Date.now() >= deadline) {
      throw new Error(`process still running ${timeoutMs} ms after it was told to stop: ${describeProcess(pid)}`)
    }
    await sleep(50)
  }
}

/** Sends `signal` (default SIGKILL) to a process and waits until it is gone (throws after `timeoutMs`). */
export async function killAndWait(pid: number, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 30_000): Promise<void> {
  killQuietly(pid, signal)
  await waitForExit(pid, timeoutMs)
}

/**
 * Cleanup: SIGTERM to every process of `pids` still there, SIGKILL to those still there after `graceMs`, then waits
 * until all are gone (throws naming any that is not).
 */
export async function stopAll(pids: number[], graceMs = 10_000): Promise<void> {
  for (const pid of pids) killQuietly(pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (pids.some(processExists) && Date.now() < deadline) await sleep(50)
  for (const pid of pids) killQuietly(pid, 'SIGKILL')
  await Promise.all(pids.map((pid) => waitForExit(pid)))
}

/** The `cairn` commands a test runs against one devnet folder (found through CAIRN_DEVNET). */
export interface DevnetCli {
  /** Runs `cairn ARGS` (stdin from `input`) and returns its result, whatever the exit code. */
  run(args: string[], input?: Uint8Array): Promise<CliResult>
  /** Runs `cairn ARGS`, asserts exit code 0 and returns stdout as text. */
  ok(args: string[]): Promise<string>
  /** Runs `cairn ARGS`, asserts exit code 0 and parses stdout as JSON. */
  json<T>(args: string[]): Promise<T>
  /** `cairn status CAPABILITY --json`. */
  status(capability: string): Promise<FileStatus>
  /** `cairn get CAPABILITY -o FILE EXTRA...`, asserting exit code 0: the bytes read and stderr (the file is removed). */
  getBytes(capability: string, extraArgs?: string[]): Promise<{ bytes: Buffer; stderr: string }>
}

/** The commands against the devnet in `dir`; each is SIGKILLed after `timeoutMs` (default 120 s). */
export function devnetCli(dir: string, init: { timeoutMs?: number } = {}): DevnetCli {
  const timeoutMs = init.timeoutMs ?? 120_000
  const run = (args: string[], input?: Uint8Array) =>
    cairn(args, { env: { CAIRN_DEVNET: dir }, timeoutMs, ...(input === undefined ? {} : { input }) })
  const ok = async (args: string[]) => {
    const result = await run(args)
    assert.equal(result.code, 0, `cairn ${args.join(' ')} failed: ${result.stderr}`)
    return result.stdout.toString('utf8')
  }
  const json = async <T>(args: string[]) => JSON.parse(await ok(args)) as T
  return {
    run,
    ok,
    json,
    status: (capability) => json<FileStatus>(['status', capability, '--json']),
    async getBytes(capability, extraArgs = []) {
      const out = join(dir, `out-${Math.random().toString(36).slice(2)}`)
      const result = await run(['get', capability, '-o', out, ...extraArgs])
      assert.equal(result.code, 0, result.stderr)
      const bytes = await readFile(out)
      await rm(out, { force: true })
      return { bytes, stderr: result.stderr }
    },
  }
}

/** A devnet and a gateway process of its own on free ports, for the API, S3 and dashboard tests. */
export interface DevnetWithGateway {
  dir: string
  url: string
  s3Endpoint: string
  token: string
  gatewayDir: string
  nodes: DevnetJson['nodes']
  /** Kills one storage node with SIGKILL. */
  killNode(index: number): void
  /** Stops the gateway, the devnet and every node, and removes the folder. */
  stop(): Promise<void>
}

/**
 * Starts `cairn devnet` (`nodes` nodes, default 4; off-chain unless `chain`) without its own gateway on the fixed port
 * 7070, then a gateway process on port 0 (spawnGatewayProcess). On failure everything started is stopped.
 */
export async function startDevnetWithGateway(
  init: { nodes?: number; publicReads?: boolean; chain?: boolean } = {},
): Promise<DevnetWithGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-e2e-api-'))
  const args = ['devnet', '--dir', dir, '--nodes', String(init.nodes ?? 4), '--heartbeat-ms', '250', '--no-gateway']
  const devnet = startCairn(init.chain === true ? args : [...args, '--no-chain'])
  let gateway: GatewayProcess | undefined
  let state: DevnetJson | undefined
  const stop = async (): Promise<void> => {
    await gateway?.stop()
    await devnet.stop('SIGTERM', 15_000)
    await stopAll((state?.nodes ?? []).map((n) => n.pid))
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await devnet.waitForLine((line) => line.startsWith('devnet ready'), 90_000)
    state = await readDevnetJson(dir)
    gateway = await spawnGatewayProcess({ devnetDir: dir, port: 0, s3Port: 0, publicReads: init.publicReads === true })
    const gatewayDir = join(dir, 'gateway')
    const nodes = state.nodes
    return {
      dir,
      url: gateway.url,
      s3Endpoint: gateway.s3Endpoint ?? '',
      token: (await readFile(join(gatewayDir, 'api-token'), 'utf8')).trim(),
      gatewayDir,
      nodes,
      killNode: (index) => killQuietly(nodes[index]!.pid),
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
