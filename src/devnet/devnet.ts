import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { privateKeyToAccount } from 'viem/accounts'
import {
  DEVCHAIN_FILES,
  type Devchain,
  holdDevchainClock,
  NETWORK_FILE,
  releaseDevchainClock,
  startDevchain,
  writeNetworkFile,
} from '../chain/index.ts'
import { AbortedError, TimeoutError, UnreachableError } from '../errors.ts'
import { firstAddressPerTransport } from '../net/index.ts'
import {
  type AbortOptions,
  CHAIN_KEY_FILE,
  controlRequest,
  type NodeInfo,
  type PeerView,
  READY_FILE,
} from '../node/index.ts'
import { mkdirDurable, writeFileDurable } from '../storage/index.ts'
import {
  DEFAULT_DEVNET_EPOCH_SECONDS,
  DEFAULT_DEVNET_HEARTBEAT_MS,
  DEFAULT_DEVNET_NODES,
  DEFAULT_DEVNET_READY_TIMEOUT_MS,
  DEVNET_CHAIN_DIR,
  DEVNET_FILE,
  DEVNET_USER_KEY_FILE,
  NODE_PROCESS_FLAGS,
} from './constants.ts'
import type { Devnet, DevnetChain, DevnetNode, DevnetState } from './interface.ts'

/** Progress of a devnet starting and running; only cli/ prints them. */
export type DevnetEvent =
  | { type: 'node:spawned'; index: number; pid: number; dataDir: string }
  | { type: 'node:ready'; index: number; peerId: string; api: string }
  | { type: 'node:exit'; index: number; pid: number; code: number | null; signal: string | null }
  | { type: 'stale:killed'; pid: number }
  | { type: 'chain:ready'; rpcUrl: string; deployed: boolean }

export interface DevnetInit {
  /** Folder holding every node's data dir and devnet.json. */
  dir: string
  nodes?: number
  heartbeatIntervalMs?: number
  readyTimeoutMs?: number
  /** Command starting the CLI: defaults to this Node binary on src/cli/main.ts. */
  command?: string[]
  /** Extra environment of the node processes. */
  env?: Record<string, string>
  /** Extra environment of one node process, by node index (fault injection in tests). */
  nodeEnv?: Record<number, Record<string, string>>
  /** Run the devchain (anvil + contracts) and put the nodes on it (default true). */
  chain?: boolean
  /** Epoch length of a new devchain, seconds (default DEFAULT_DEVNET_EPOCH_SECONDS). */
  epochSeconds?: number
  onEvent?: (event: DevnetEvent) => void
}

/**
 * Creates the devnet process manager: N storage nodes as separate processes on 127.0.0.1, all state under `dir`
 * (`dir/node-<i>` data dirs, `node.log` beside each), `dir/devnet.json` written once every node is up and connected.
 * Starting again on the same `dir` resumes the same nodes (same keys, same pieces).
 *
 * @example
 * ```ts
 * const devnet = createDevnet({ dir: '.cairn-devnet', nodes: 6 })
 * const state = await devnet.start()
 * console.log(state.nodes.map((n) => n.api))
 * await devnet.stop()
 * ```
 */
export function createDevnet(init: DevnetInit): Devnet {
  return new ProcessDevnet(init)
}

/**
 * Reads `dir/devnet.json`. Throws `UnreachableError` naming the fix when there is none.
 *
 * @example
 * ```ts
 * const { nodes } = await readDevnetState('.cairn-devnet')
 * ```
 */
export async function readDevnetState(dir: string): Promise<DevnetState> {
  const path = join(dir, DEVNET_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new UnreachableError(`no devnet at ${path}: start one with "cairn devnet --dir ${dir}" or pass --devnet DIR`)
  }
  const state = JSON.parse(text) as DevnetState
  if (!Array.isArray(state.nodes)) throw new UnreachableError(`${path} is damaged: restart the devnet`)
  return state
}

/** How long a stopping devnet waits for the devchain to hold its clock (anvil may be stopping already). */
const CLOCK_HOLD_TIMEOUT_MS = 2_000

const CLI_MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url))

interface RunningNode {
  index: number
  dataDir: string
  child: ChildProcess
  exited: Promise<void>
  info?: NodeInfo
}

class ProcessDevnet implements Devnet {
  readonly #dir: string
  readonly #count: number
  readonly #heartbeatIntervalMs: number
  readonly #readyTimeoutMs: number
  readonly #command: string[]
  readonly #env: Record<string, string>
  readonly #nodeEnv: Record<number, Record<string, string>>
  readonly #withChain: boolean
  readonly #epochSeconds: number
  #devchain: Devchain | undefined
  /** True while a resumed devchain's clock is held until every node is up. */
  #clockHeld = false
  #chain: DevnetChain | undefined
  readonly #onEvent: (event: DevnetEvent) => void
  #running: RunningNode[] = []
  #state: DevnetState | undefined
  #stopping = false

  constructor(init: DevnetInit) {
    this.#dir = resolve(init.dir)
    this.#count = init.nodes ?? DEFAULT_DEVNET_NODES
    this.#heartbeatIntervalMs = init.heartbeatIntervalMs ?? DEFAULT_DEVNET_HEARTBEAT_MS
    this.#readyTimeoutMs = init.readyTimeoutMs ?? DEFAULT_DEVNET_READY_TIMEOUT_MS
    this.#command = init.command ?? [process.execPath, ...NODE_PROCESS_FLAGS, CLI_MAIN]
    this.#env = init.env ?? {}
    this.#nodeEnv = init.nodeEnv ?? {}
    this.#withChain = init.chain ?? true
    this.#epochSeconds = init.epochSeconds ?? DEFAULT_DEVNET_EPOCH_SECONDS
    this.#onEvent = init.onEvent ?? (() => {})
  }

  state(): DevnetState {
    if (this.#state === undefined) throw new UnreachableError('the devnet is not started')
    return this.#state
  }

  async start(options: AbortOptions = {}): Promise<DevnetState> {
    await mkdirDurable(this.#dir, { mode: 0o700 })
    await this.#stopStaleNodes()
    const deadline = AbortSignal.timeout(this.#readyTimeoutMs)
    const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline])
    try {
      if (this.#withChain) await this.#startChain(signal)
      const first = this.#spawn(0, [])
      await this.#waitReady(first, signal)
      const bootstrap = first.info!.multiaddrs
      const rest = []
      for (let i = 1; i < this.#count; i++) rest.push(this.#spawn(i, bootstrap))
      await Promise.all(rest.map((node) => this.#waitReady(node, signal)))
      await this.#waitConnected(signal)
      if (this.#clockHeld) {
        await releaseDevchainClock(this.#devchain!.rpcUrl, { signal })
        this.#clockHeld = false
      }
    } catch (err) {
      await this.stop()
      if (deadline.aborted && options.signal?.aborted !== true) {
        throw new TimeoutError(
          `the devnet did not come up within ${this.#readyTimeoutMs} ms: see the node.log files under ${this.#dir}`,
          { cause: err },
        )
      }
      throw err
    }
    const state: DevnetState = {
      dir: this.#dir,
      startedAt: Date.now(),
      nodes: this.#running.map((node): DevnetNode => {
        const info = node.info!
        return {
          peerId: info.peerId,
          pid: info.pid,
          multiaddrs: info.multiaddrs,
          api: info.api,
          dataDir: node.dataDir,
          ...(this.#devchain === undefined ? {} : { address: this.#nodeAddress(node.index) }),
        }
      }),
      ...(this.#chain === undefined ? {} : { chain: this.#chain }),
    }
    await writeFileDurable(join(this.#dir, DEVNET_FILE), `${JSON.stringify(state, null, 2)}\n`, 0o644)
    if (this.#chain !== undefined) await this.#writeNetworkFile(state)
    this.#state = state
    return state
  }

  async stop(): Promise<void> {
    this.#stopping = true
    const running = this.#running
    this.#running = []
    // The chain's clock stands still from now on: the seconds the nodes take to stop are not an epoch they miss
    // (anvil saves the held time, and a resumed devchain goes on from it).
    if (this.#devchain !== undefined && running.length > 0 && !this.#clockHeld) {
      await holdDevchainClock(this.#devchain.rpcUrl, { signal: AbortSignal.timeout(CLOCK_HOLD_TIMEOUT_MS) }).catch(
        () => {},
      )
    }
    for (const node of running) {
      if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGTERM')
    }
    await Promise.all(
      running.map(async (node) => {
        const killer = setTimeout(() => node.child.kill('SIGKILL'), 10_000)
        await node.exited
        clearTimeout(killer)
      }),
    )
    const devchain = this.#devchain
    this.#devchain = undefined
    this.#clockHeld = false
    await devchain?.stop()
  }

  /** Starts (or resumes) the devchain under DIR/chain and writes each node's and the user's key file (0600). */
  async #startChain(signal: AbortSignal): Promise<void> {
    const devchain = await startDevchain(
      {
        dir: join(this.#dir, DEVNET_CHAIN_DIR),
        epochSeconds: this.#epochSeconds,
        accounts: Math.max(10, this.#count + 2),
      },
      { signal },
    )
    this.#devchain = devchain
    if (!devchain.deployed) {
      // Resumed: the chain's clock goes on from its last block (startDevchain) and stands still until every node is
      // up again, so no epoch ends before the nodes can prove it.
      await holdDevchainClock(devchain.rpcUrl, { signal })
      this.#clockHeld = true
    }
    const userKey = devchain.accounts[1]!
    const userKeyFile = join(this.#dir, DEVNET_USER_KEY_FILE)
    await writeFileDurable(userKeyFile, `${userKey}\n`)
    for (let i = 0; i < this.#count; i++) {
      const dataDir = join(this.#dir, `node-${i}`)
      await mkdirDurable(dataDir, { mode: 0o700 })
      await writeFileDurable(join(dataDir, CHAIN_KEY_FILE), `${devchain.accounts[i + 2]!}\n`)
    }
    const user = privateKeyToAccount(userKey).address
    this.#chain = {
      rpc: devchain.rpcUrl,
      rpcUrl: devchain.rpcUrl,
      chainId: devchain.chainId,
      contracts: devchain.contracts,
      blockNumber: devchain.deployment.blockNumber.toString(),
      epochSeconds: devchain.deployment.params.epochSeconds,
      user: { address: user, keyFile: userKeyFile },
      account: user,
    }
    this.#onEvent({ type: 'chain:ready', rpcUrl: devchain.rpcUrl, deployed: devchain.deployed })
  }

  /** DIR/network.json: the devnet as any network (user commands take `--network DIR/network.json`). */
  async #writeNetworkFile(state: DevnetState): Promise<void> {
    const chain = this.#chain!
    await writeNetworkFile(join(this.#dir, NETWORK_FILE), {
      format: 1,
      name: 'devnet',
      chainId: chain.chainId,
      rpc: chain.rpc,
      contracts: chain.contracts,
      deploymentBlock: BigInt(chain.blockNumber),
      epochSeconds: chain.epochSeconds,
      // per node, its first address of each transport (TCP for the CLI, WebSockets and WebRTC-direct for a page)
      bootstrap: state.nodes.flatMap((node) => firstAddressPerTransport(node.multiaddrs)),
      allowPrivateAddresses: true,
    })
  }

  #nodeAddress(index: number): `0x${string}` {
    return privateKeyToAccount(this.#devchain!.accounts[index + 2]!).address
  }

  #spawn(index: number, bootstrap: string[]): RunningNode {
    const dataDir = join(this.#dir, `node-${index}`)
    const args = [
      ...this.#command.slice(1),
      'node',
      'start',
      '--dir',
      dataDir,
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      // browsers reach devnet nodes over WebSockets and WebRTC-direct (docs/protocol.md, Transports)
      '--listen',
      '/ip4/127.0.0.1/tcp/0/ws',
      '--listen',
      '/ip4/127.0.0.1/udp/0/webrtc-direct',
      '--api-port',
      '0',
      '--devnet',
      '--no-mdns',
      '--heartbeat-ms',
      String(this.#heartbeatIntervalMs),
    ]
    for (const addr of bootstrap) args.push('--bootstrap', addr)
    if (this.#devchain !== undefined) {
      args.push(
        '--chain-rpc',
        this.#devchain.rpcUrl,
        '--contracts',
        join(this.#dir, DEVNET_CHAIN_DIR, DEVCHAIN_FILES.deployment),
        '--key-file',
        join(dataDir, CHAIN_KEY_FILE),
      )
    }
    // A ready file left by an earlier run is ignored: #waitReady matches the pid.
    const logFd = openLog(dataDir)
    const child = spawn(this.#command[0]!, args, {
      stdio: ['ignore', logFd, logFd],
      // Two malloc arenas: Node's thread pool (disk writes, zstd, hashing) otherwise grows one arena per thread and
      // the resident memory with it.
      env: { MALLOC_ARENA_MAX: '2', ...process.env, ...this.#env, ...this.#nodeEnv[index] },
    })
    closeSync(logFd)
    const exited = new Promise<void>((resolveExit) => {
      child.once('exit', (code, signal) => {
        if (!this.#stopping) this.#onEvent({ type: 'node:exit', index, pid: child.pid ?? 0, code, signal })
        resolveExit()
      })
      child.once('error', () => resolveExit())
    })
    const node: RunningNode = { index, dataDir, child, exited }
    this.#running.push(node)
    this.#onEvent({ type: 'node:spawned', index, pid: child.pid ?? 0, dataDir })
    return node
  }

  async #waitReady(node: RunningNode, signal: AbortSignal): Promise<void> {
    const path = join(node.dataDir, READY_FILE)
    while (true) {
      if (signal.aborted) throw new AbortedError(`node ${node.index} did not become ready`)
      if (node.child.exitCode !== null || node.child.signalCode !== null) {
        throw new UnreachableError(
          `devnet node ${node.index} exited (${node.child.exitCode ?? node.child.signalCode}) while starting: ${logTail(node.dataDir)}`,
        )
      }
      try {
        const info = JSON.parse(await readFile(path, 'utf8')) as NodeInfo
        if (info.pid === node.child.pid) {
          node.info = info
          this.#onEvent({ type: 'node:ready', index: node.index, peerId: info.peerId, api: info.api })
          return
        }
      } catch {}
      await sleep(50)
    }
  }

  /** Every node sees every other node alive in its failure detector. */
  async #waitConnected(signal: AbortSignal): Promise<void> {
    const ids = new Set(this.#running.map((n) => n.info!.peerId))
    while (true) {
      if (signal.aborted) throw new AbortedError('the devnet nodes did not all connect')
      const views = await Promise.all(
        this.#running.map((node) =>
          controlRequest<PeerView[]>(node.info!.api, '/peers', { signal }).catch(() => [] as PeerView[]),
        ),
      )
      const connected = views.every((view, i) => {
        const self = this.#running[i]!.info!.peerId
        const alive = new Set(view.filter((p) => p.state === 'alive').map((p) => p.peerId))
        return [...ids].every((id) => id === self || alive.has(id))
      })
      if (connected) return
      await sleep(100)
    }
  }

  /** A devnet killed with SIGKILL leaves its nodes running: stop the ones still serving our data dirs. */
  async #stopStaleNodes(): Promise<void> {
    let previous: DevnetState
    try {
      previous = await readDevnetState(this.#dir)
    } catch {
      return
    }
    for (const node of previous.nodes) {
      let cmdline = ''
      try {
        cmdline = readFileSync(`/proc/${node.pid}/cmdline`, 'utf8')
      } catch {
        continue
      }
      if (!cmdline.includes(node.dataDir)) continue
      try {
        process.kill(node.pid, 'SIGTERM')
        this.#onEvent({ type: 'stale:killed', pid: node.pid })
      } catch {
        continue
      }
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(node.pid, 0)
        } catch {
          break
        }
        await sleep(50)
      }
    }
  }
}

function openLog(dataDir: string): number {
  // Synchronous: spawn needs the fd now.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  return openSync(join(dataDir, 'node.log'), 'a')
}

function logTail(dataDir: string): string {
  try {
    const lines = readFileSync(join(dataDir, 'node.log'), 'utf8').trim().split('\n')
    return lines.slice(-3).join(' | ')
  } catch {
    return 'no log'
  }
}
