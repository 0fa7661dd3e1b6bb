/**
 * Runs the gateway (src/api/main.ts) as a child process over a devnet, for `cairn devnet` / `npm start`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_GATEWAY_PORT, DEFAULT_S3_PORT, GATEWAY_STATE_FILE, type GatewayState } from '../api/index.ts'
import { AbortedError, TimeoutError, UnreachableError } from '../errors.ts'

export interface GatewayProcessInit {
  devnetDir: string
  /** Gateway data folder; `<devnetDir>/gateway` when absent. */
  dataDir?: string
  port?: number
  s3Port?: number
  publicReads?: boolean
  readyTimeoutMs?: number
}

export interface GatewayProcess {
  url: string
  s3Endpoint: string | undefined
  /** Dashboard URL with the token after `#token=` (print it; do not log it to shared places). */
  dashboard: string
  pid: number
  dataDir: string
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>
}

const MAIN = fileURLToPath(new URL('./gateway-main.ts', import.meta.url))

/**
 * Spawns the gateway process and resolves once it serves (its gateway.json names its pid). Its output goes to
 * `<dataDir>/gateway.log`.
 *
 * @example
 * ```ts
 * const gateway = await spawnGatewayProcess({ devnetDir: '.cairn-devnet' })
 * console.log(`dashboard: ${gateway.dashboard}`)
 * await gateway.stop()
 * ```
 */
export async function spawnGatewayProcess(
  init: GatewayProcessInit,
  options: { signal?: AbortSignal } = {},
): Promise<GatewayProcess> {
  const dataDir = init.dataDir ?? join(init.devnetDir, 'gateway')
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const args = [
    MAIN,
    '--devnet',
    init.devnetDir,
    '--data',
    dataDir,
    '--port',
    String(init.port ?? DEFAULT_GATEWAY_PORT),
    '--s3-port',
    String(init.s3Port ?? DEFAULT_S3_PORT),
  ]
  if (init.publicReads === true) args.push('--public-reads')
  const log = openSync(join(dataDir, 'gateway.log'), 'a')
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', log, log] })
  closeSync(log)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(killer)
  }
  const deadline = Date.now() + (init.readyTimeoutMs ?? 30_000)
  while (true) {
    if (options.signal?.aborted === true) {
      await stop()
      throw new AbortedError('the gateway start was cancelled')
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new UnreachableError(
        `the gateway exited (${child.exitCode ?? child.signalCode}) while starting: see ${join(dataDir, 'gateway.log')}`,
      )
    }
    if (Date.now() > deadline) {
      await stop()
      throw new TimeoutError(`the gateway did not start in time: see ${join(dataDir, 'gateway.log')}`)
    }
    try {
      const state = JSON.parse(await readFile(join(dataDir, GATEWAY_STATE_FILE), 'utf8')) as GatewayState
      if (state.pid === child.pid) {
        const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
        return {
          url: state.url,
          s3Endpoint: state.s3Endpoint,
          dashboard: `${state.url}/#token=${token}`,
          pid: child.pid,
          dataDir,
          stop,
        }
      }
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
