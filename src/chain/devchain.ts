/**
 * The embedded devchain: anvil from the @foundry-rs/anvil npm package (its binary ships inside the platform
 * package; nothing is downloaded), run as a child process on 127.0.0.1 with its state in the data folder. The
 * contracts are deployed once; their addresses are saved beside the state and reused on every restart. A resumed
 * chain's clock starts again at its last block's timestamp: the time it was stopped never happened on chain.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { open, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { arch, platform } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createPublicClient, type Hex, http } from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { ChainError, InvalidArgumentError, NotFoundError, TimeoutError } from '../errors.ts'
import { mkdirDurable, writeFileDurable } from '../storage/index.ts'
import { createChainClient } from './chain-client.ts'
import {
  DEVCHAIN_FILES,
  DEVCHAIN_START_TIMEOUT_MS,
  DEVNET_ACCOUNT_ETHER,
  DEVNET_ACCOUNT_TOKENS,
  DEVNET_ACCOUNTS,
  DEVNET_BLOCK_TIME,
  DEVNET_CHAIN_ID,
  DEVNET_CONFIRMATION_FEE,
  DEVNET_EPOCH_SECONDS,
  DEVNET_MIN_PAYMENT_PER_SLOT_EPOCH,
  DEVNET_MNEMONIC,
  DEVNET_RESPONSE_WINDOW_BLOCKS,
  DEVNET_STATE_INTERVAL,
  DEVNET_UNBONDING_DELAY_SECONDS,
} from './constants.ts'
import { deployContracts } from './deploy.ts'
import type { ChainCallOptions, Deployment, Devchain, DevchainInit } from './interface.ts'

/** Path of the anvil binary inside its platform npm package (no download, no postinstall needed). */
export function anvilBinary(): string {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[platform() as string]
  const cpu = { x64: 'amd64', arm64: 'arm64' }[arch() as string]
  if (os === undefined || cpu === undefined) {
    throw new NotFoundError(`anvil has no npm build for ${platform()}-${arch()}: pass an RPC URL of another chain`)
  }
  const pkg = `@foundry-rs/anvil-${os}-${cpu}`
  try {
    const require = createRequire(import.meta.url)
    return join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', os === 'win32' ? 'anvil.exe' : 'anvil')
  } catch (error) {
    throw new NotFoundError(`${pkg} is not installed: run npm install`, { cause: error })
  }
}

/** Private keys of the first `count` accounts of the devnet mnemonic. */
export function devnetPrivateKeys(count: number): Hex[] {
  return Array.from({ length: count }, (_, addressIndex) => {
    const key = mnemonicToAccount(DEVNET_MNEMONIC, { addressIndex }).getHdKey().privateKey
    if (key === null) throw new ChainError('cannot derive a devnet key')
    return `0x${Buffer.from(key).toString('hex')}` as Hex
  })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ')
  } catch {
    return ''
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (!alive(pid)) return true
    await sleep(50)
  }
  return !alive(pid)
}

/** Stops an anvil left running by a parent that was killed (found through the pid file of `dir`). */
async function stopStale(dir: string, statePath: string): Promise<void> {
  const pidFile = join(dir, DEVCHAIN_FILES.pid)
  let pid: number
  try {
    pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10)
  } catch {
    return
  }
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
    const cmd = await commandLine(pid)
    // Only ours: an anvil whose state file is this folder's (a reused pid belongs to someone else).
    if (cmd === '' || (cmd.includes('anvil') && cmd.includes(statePath))) {
      process.kill(pid, 'SIGTERM')
      if (!(await waitForExit(pid, 5_000))) {
        process.kill(pid, 'SIGKILL')
        await waitForExit(pid, 2_000)
      }
    }
  }
  await rm(pidFile, { force: true })
}

function listen(child: ChildProcess, logPath: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolvePort, reject) => {
    let output = ''
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      const match = /Listening on [\d.]+:(\d+)/.exec(output)
      if (match !== null) {
        cleanup()
        resolvePort(Number(match[1]))
      }
    }
    const onExit = (code: number | null) => {
      cleanup()
      void writeFile(logPath, output).catch(() => {})
      reject(
        new ChainError(
          `anvil exited (code ${code}) before listening: ${output.trim().split('\n').slice(-3).join(' ')}`,
        ),
      )
    }
    const onAbort = () => {
      cleanup()
      reject(new TimeoutError('anvil did not start listening in time', { cause: signal.reason }))
    }
    const cleanup = () => {
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      signal.removeEventListener('abort', onAbort)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Bytes of the state file read to find its last block's timestamp (anvil writes the block header first). */
const STATE_HEAD_BYTES = 4096

/**
 * Timestamp (unix seconds) of the last block in anvil's saved state, or undefined when there is none. anvil writes
 * `{"block":{"number":...,"timestamp":"0x..."` first, so the head of the file is enough; any other layout is parsed
 * whole.
 */
async function savedBlockTimestamp(statePath: string): Promise<number | undefined> {
  let head: string
  try {
    const file = await open(statePath, 'r')
    try {
      const { buffer, bytesRead } = await file.read(Buffer.alloc(STATE_HEAD_BYTES), 0, STATE_HEAD_BYTES, 0)
      head = buffer.subarray(0, bytesRead).toString('utf8')
    } finally {
      await file.close()
    }
  } catch {
    return undefined
  }
  const match = /^\{"block":\{[^{}]*?"timestamp":"?(0x[0-9a-fA-F]+|\d+)/.exec(head)
  let value: unknown = match?.[1]
  if (value === undefined) {
    try {
      value = (JSON.parse(await readFile(statePath, 'utf8')) as { block?: { timestamp?: unknown } }).block?.timestamp
    } catch {
      return undefined
    }
  }
  const seconds = typeof value === 'string' || typeof value === 'number' ? Number(value) : Number.NaN
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : undefined
}

async function readDeployment(path: string): Promise<Deployment | undefined> {
  try {
    const json = JSON.parse(await readFile(path, 'utf8'), (_key, value: unknown) =>
      typeof value === 'string' && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value,
    ) as Deployment
    return json
  } catch {
    return undefined
  }
}

function writeDeployment(path: string, deployment: Deployment): Promise<void> {
  const text = JSON.stringify(
    deployment,
    (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value),
    2,
  )
  return writeFileDurable(path, `${text}\n`)
}

/**
 * Starts (or resumes) the devchain in `init.dir`: stops a stale anvil found through the pid file, starts anvil on
 * 127.0.0.1 with `--state` in the folder (saved every second, so even a SIGKILL keeps the chain), deploys the
 * contracts on the first start (funding every test account with ether and CAIRN) and reuses them afterwards. A
 * resumed chain's clock goes on from its last block's timestamp, not from the wall clock, so the epochs do not run
 * while the devchain is stopped.
 *
 * @example
 * ```ts
 * const devchain = await startDevchain({ dir: join(dataDir, 'chain'), epochSeconds: 20 })
 * try { ... } finally { await devchain.stop() }
 * ```
 */
export async function startDevchain(init: DevchainInit, options: ChainCallOptions = {}): Promise<Devchain> {
  const dir = resolve(init.dir)
  const accounts = init.accounts ?? DEVNET_ACCOUNTS
  const blockTime = init.blockTime ?? DEVNET_BLOCK_TIME
  const port = init.port ?? 0
  if (!Number.isInteger(accounts) || accounts < 1 || accounts > 1000) {
    throw new InvalidArgumentError(`accounts must be 1..1000, got ${accounts}`)
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError(`invalid port ${port}`)
  await mkdirDurable(dir)
  const statePath = join(dir, DEVCHAIN_FILES.state)
  const deploymentPath = join(dir, DEVCHAIN_FILES.deployment)
  await stopStale(dir, statePath)
  // Resuming: anvil would stamp the next block with the wall clock, counting every epoch the chain was stopped as
  // missed by every node. Its clock starts at the last block's timestamp instead (and runs from there).
  const resumeAt = await savedBlockTimestamp(statePath)

  const args = [
    '--host', '127.0.0.1',
    '--port', String(port),
    '--chain-id', String(DEVNET_CHAIN_ID),
    '--accounts', String(accounts),
    '--balance', String(DEVNET_ACCOUNT_ETHER),
    '--mnemonic', DEVNET_MNEMONIC,
    '--hardfork', 'cancun',
    '--state', statePath,
    '--state-interval', String(DEVNET_STATE_INTERVAL),
    ...(blockTime > 0 ? ['--block-time', String(blockTime), '--mixed-mining'] : []),
    ...(resumeAt === undefined ? [] : ['--timestamp', String(resumeAt)]),
  ] // biome-ignore format: one flag per line pair
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const pid = child.pid
  if (pid === undefined) throw new ChainError('anvil could not be started')
  await writeFileDurable(join(dir, DEVCHAIN_FILES.pid), `${pid}\n`)

  let exited = false
  child.once('exit', () => {
    exited = true
  })
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM')
      if (!(await waitForExit(pid, 10_000))) child.kill('SIGKILL')
      await waitForExit(pid, 2_000)
    }
    await rm(join(dir, DEVCHAIN_FILES.pid), { force: true })
  }

  try {
    const signal = AbortSignal.any([
      AbortSignal.timeout(DEVCHAIN_START_TIMEOUT_MS),
      ...(options.signal === undefined ? [] : [options.signal]),
    ])
    const actualPort = await listen(child, join(dir, DEVCHAIN_FILES.log), signal)
    child.stdout?.resume()
    child.stderr?.resume()
    const rpcUrl = `http://127.0.0.1:${actualPort}`
    const keys = devnetPrivateKeys(accounts)
    const reader = createPublicClient({ transport: http(rpcUrl) })

    let deployment = await readDeployment(deploymentPath)
    let deployed = false
    if (deployment !== undefined) {
      const code = await reader.getCode({ address: deployment.contracts.market })
      if (deployment.chainId !== DEVNET_CHAIN_ID || code === undefined || code === '0x') deployment = undefined
    }
    if (deployment === undefined) {
      const deployer = createChainClient({
        rpcUrl,
        chainId: DEVNET_CHAIN_ID,
        privateKey: keys[0]!,
        contracts: { token: '0x', registry: '0x', market: '0x' },
      })
      const allocation = keys.map((key) => ({
        account: privateKeyToAccount(key).address,
        amount: DEVNET_ACCOUNT_TOKENS,
      }))
      deployment = await deployContracts(
        deployer,
        {
          params: {
            epochSeconds: init.epochSeconds ?? DEVNET_EPOCH_SECONDS,
            unbondingDelaySeconds: DEVNET_UNBONDING_DELAY_SECONDS,
            minPaymentPerSlotEpoch: DEVNET_MIN_PAYMENT_PER_SLOT_EPOCH,
            confirmationFee: DEVNET_CONFIRMATION_FEE,
            responseWindowBlocks: DEVNET_RESPONSE_WINDOW_BLOCKS,
            ...init.params,
          },
          allocation,
        },
        options,
      )
      await writeDeployment(deploymentPath, deployment)
      deployed = true
    }
    return {
      rpcUrl,
      chainId: DEVNET_CHAIN_ID,
      contracts: deployment.contracts,
      deployment,
      accounts: keys,
      pid,
      deployed,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/** True when `dir` holds a devchain (a saved state and deployment). */
export function hasDevchain(dir: string): boolean {
  return existsSync(join(dir, DEVCHAIN_FILES.deployment)) && existsSync(join(dir, DEVCHAIN_FILES.state))
}
