import { readFile } from 'node:fs/promises'
import { type ChainContracts, loadPrivateKey, type NetworkFile, readNetworkFile } from '../chain/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import {
  createStorageNode,
  loadNodeOptions,
  type NodeChainConnection,
  type NodeChainOptions,
  type NodeOptions,
} from '../node/index.ts'
import { configureCrashPoint } from '../storage/index.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { nodeDataDir, nodeOptionsFromEnv, nodeOptionsFromFlags } from './node-options-sources.ts'

/**
 * `cairn node start`: runs one storage node until SIGINT/SIGTERM. Its options: flags > `CAIRN_*` environment >
 * DIR/config.json > defaults (the table of flags and variables is node-options-sources.ts).
 */
export async function runNodeStart(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const env = process.env
  const dataDir = nodeDataDir(parsed.values, env)
  const flags = nodeOptionsFromFlags(parsed.values)
  const options = await loadNodeOptions(dataDir, { env: nodeOptionsFromEnv(env), flags })
  configureCrashPoint(options.faults.crashAt)
  const network = options.chain.networkFile === undefined ? undefined : await readNetworkFile(options.chain.networkFile)
  if (network !== undefined) joinNetworkFile(options, network)
  const chain = await chainConnection(options.chain, context, network)
  const node = createStorageNode({
    dataDir,
    options,
    ...(chain === undefined ? {} : { chain }),
    onGcEvent: (event) => context.stdout.write(`${JSON.stringify({ event: event.type, ...event, type: undefined })}\n`),
  })
  if (context.signal.aborted) return 130
  const info = await node.start()
  context.stdout.write(`${JSON.stringify({ event: 'ready', ...info })}\n`)
  await new Promise<void>((resolveStop) => {
    if (context.signal.aborted) resolveStop()
    context.signal.addEventListener('abort', () => resolveStop(), { once: true })
  })
  await node.stop()
  context.stdout.write(`${JSON.stringify({ event: 'stopped', peerId: info.peerId })}\n`)
  return 0
}

/**
 * A network file's settings under the node's own: its RPC endpoints (the first, then its fallbacks) unless
 * `--chain-rpc` names another, its bootstrap list after the node's, private addresses when the network is a LAN
 * (or `--lan` says so), and its STUN servers unless `--ice-server` names others.
 */
function joinNetworkFile(options: NodeOptions, network: NetworkFile): void {
  if (options.chain.rpcUrl === undefined) {
    options.chain.rpcUrl = network.rpc
    if (network.rpcFallbacks !== undefined) options.chain.fallbackRpcUrls ??= network.rpcFallbacks
  }
  options.network.bootstrap = [...new Set([...options.network.bootstrap, ...network.bootstrap])]
  options.network.allowPrivateAddresses ||= network.allowPrivateAddresses
  if (options.network.iceServers.length === 0 && network.iceServers !== undefined) {
    options.network.iceServers = network.iceServers
  }
}

/**
 * The chain deployment (the network file's, else read from `chain.contractsFile`) and the node's key; undefined off
 * chain.
 */
async function chainConnection(
  chain: NodeChainOptions,
  context: CommandContext,
  network: NetworkFile | undefined,
): Promise<NodeChainConnection | undefined> {
  const onEvent: NodeChainConnection['onEvent'] = (event) =>
    context.stdout.write(`${JSON.stringify({ event: event.type, ...event, type: undefined })}\n`)
  if (network !== undefined && chain.contractsFile === undefined) {
    if (chain.privateKey === undefined) {
      throw new InvalidArgumentError(
        `a node of the network ${network.name} needs its key: pass --key-file FILE (make one with "cairn wallet new --out FILE") or set CAIRN_PRIVATE_KEY`,
      )
    }
    return {
      chainId: network.chainId,
      contracts: network.contracts,
      privateKey: await loadPrivateKey(chain.privateKey),
      fromBlock: network.deploymentBlock,
      onEvent,
    }
  }
  if (chain.rpcUrl === undefined) {
    if (chain.contractsFile !== undefined || (chain.privateKey !== undefined && 'file' in chain.privateKey)) {
      throw new InvalidArgumentError('--contracts and --key-file need --chain-rpc URL as well')
    }
    return undefined
  }
  if (chain.contractsFile === undefined) {
    throw new InvalidArgumentError(
      '--chain-rpc needs --contracts FILE (the deployment, e.g. a devchain contracts.json)',
    )
  }
  let deployment: { chainId: number; contracts: ChainContracts; blockNumber?: string | number }
  try {
    deployment = JSON.parse(await readFile(chain.contractsFile, 'utf8'))
  } catch (err) {
    throw new InvalidArgumentError(
      `cannot read the deployment ${chain.contractsFile}: pass the contracts.json of the chain`,
      { cause: err },
    )
  }
  const privateKey = await loadPrivateKey(chain.privateKey ?? {})
  const blockNumber =
    deployment.blockNumber === undefined ? undefined : String(deployment.blockNumber).replace(/n$/, '')
  return {
    chainId: deployment.chainId,
    contracts: deployment.contracts,
    privateKey,
    ...(blockNumber === undefined ? {} : { fromBlock: BigInt(blockNumber) }),
    onEvent,
  }
}
