/**
 * Starts a real devnet (`cairn devnet`, separate node processes) and the gateway process (spawnGatewayProcess) on
 * 127.0.0.1 with free ports and a temp folder, for end-to-end tests of the API, S3 and the dashboard.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { type GatewayProcess, spawnGatewayProcess } from '../../src/devnet/index.ts'

const ROOT = new URL('../../', import.meta.url).pathname

export interface DevnetHarness {
  dir: string
  url: string
  s3Endpoint: string
  token: string
  gatewayDir: string
  nodes: Array<{ peerId: string; pid: number }>
  /** Kills one storage node with SIGKILL. */
  killNode(index: number): void
  stop(): Promise<void>
}

function firstLine(
  child: ChildProcess,
  match: (line: string) => boolean,
  what: string,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms`)), timeoutMs)
    lines.on('line', (line) => {
      if (match(line)) {
        clearTimeout(timer)
        resolve(line)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited with ${code} while starting`))
    })
  })
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(killer)
}

export async function startDevnetWithGateway(
  init: { nodes?: number; publicReads?: boolean; chain?: boolean } = {},
): Promise<DevnetHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-e2e-api-'))
  let devnet: ChildProcess | undefined
  let gateway: GatewayProcess | undefined
  const stop = async (): Promise<void> => {
    await gateway?.stop()
    await stopChild(devnet)
    await rm(dir, { recursive: true, force: true })
  }
  try {
    devnet = spawn(
      process.execPath,
      // Without the devnet's own gateway on the fixed port 7070 (this harness starts one on port 0); off-chain unless
      // `chain` (API and S3 semantics over real nodes; test/e2e/chain*.test.ts cover paid deals in depth).
      [
        'src/cli/main.ts',
        'devnet',
        '--dir',
        dir,
        '--nodes',
        String(init.nodes ?? 4),
        '--heartbeat-ms',
        '250',
        ...(init.chain === true ? [] : ['--no-chain']),
        '--no-gateway',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    await firstLine(devnet, (line) => line.startsWith('devnet ready'), 'the devnet', 90_000)
    gateway = await spawnGatewayProcess({
      devnetDir: dir,
      port: 0,
      s3Port: 0,
      ...(init.publicReads ? { publicReads: true } : {}),
    })
    const ready = { url: gateway.url, s3Endpoint: gateway.s3Endpoint ?? '' }
    const gatewayDir = join(dir, 'gateway')
    const state = JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as {
      nodes: Array<{ peerId: string; pid: number }>
    }
    return {
      dir,
      url: ready.url,
      s3Endpoint: ready.s3Endpoint,
      token: (await readFile(join(gatewayDir, 'api-token'), 'utf8')).trim(),
      gatewayDir,
      nodes: state.nodes,
      killNode(index) {
        const node = state.nodes[index]
        if (node !== undefined) process.kill(node.pid, 'SIGKILL')
      },
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
