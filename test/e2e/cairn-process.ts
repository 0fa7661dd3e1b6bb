/**
 * Test helpers that run the real `cairn` CLI as child processes (Node 24 via process.execPath, type stripping).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: Buffer
  stderr: string
}

/** Runs `cairn ARGS` to completion. */
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
  lines: string[]
  stderr: string[]
  /** Resolves with the first stdout line that `match` accepts. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>
  /** SIGTERM (or `signal`), then SIGKILL after 10 s; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

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
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    child,
    lines,
    stderr,
    async waitForLine(match, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        const line = lines.find(match)
        if (line !== undefined) return line
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`process exited (${child.exitCode ?? child.signalCode}): ${stderr.join('').slice(-500)}`)
        }
        await sleep(50)
      }
      throw new Error(`no matching line within ${timeoutMs} ms; stderr: ${stderr.join('').slice(-500)}`)
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill(signal)
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(killer)
    },
  }
}

/** Polls `check` until it returns a value other than undefined. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      last = err
    }
    await sleep(200)
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`)
}

export interface DevnetJson {
  nodes: Array<{ peerId: string; pid: number; multiaddrs: string[]; api: string; dataDir: string }>
}

export async function readDevnetJson(dir: string): Promise<DevnetJson> {
  return JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetJson
}

/** Kills a process if it is alive; ignores one already gone. */
export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal)
  } catch {}
}

export async function waitForExit(pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await sleep(50)
  }
}
