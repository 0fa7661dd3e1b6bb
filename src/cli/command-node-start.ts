import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { type ChainContracts, loadPrivateKey, TOKEN_DECIMALS } from '../chain/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import {
  createStorageNode,
  loadNodeConfig,
  type NodeConfig,
  parseByteSize,
  type StorageNodeInit,
} from '../node/index.ts'
import type { CommandContext } from './command-context.ts'
import { integerFlag, type ParsedCommandLine } from './command-line.ts'

/** `cairn node start [...]`: runs one storage node until SIGINT/SIGTERM. */
export async function runNodeStart(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const v = parsed.values
  const dataDir = resolve((v.dir as string | undefined) ?? process.env.CAIRN_NODE_DIR ?? '.cairn-node')
  if (v.mdns === true && v['no-mdns'] === true)
    throw new InvalidArgumentError('--mdns and --no-mdns contradict each other')
  const overrides: Partial<NodeConfig> = {}
  if (v.listen !== undefined) overrides.listen = v.listen as string[]
  if (v.bootstrap !== undefined) overrides.bootstrap = v.bootstrap as string[]
  if (v.quota !== undefined) overrides.quota = parseByteSize(v.quota as string)
  const apiPort = integerFlag(v, 'api-port', 0, 65535)
  if (apiPort !== undefined) overrides.apiPort = apiPort
  if (v.devnet === true) overrides.devnet = true
  if (v.mdns === true) overrides.mdns = true
  if (v['no-mdns'] === true) overrides.mdns = false
  const heartbeat = integerFlag(v, 'heartbeat-ms', 100, 60_000)
  if (heartbeat !== undefined) overrides.heartbeatIntervalMs = heartbeat
  const config = await loadNodeConfig(dataDir, overrides)
  const chain = await chainSettings(v, context)
  const fakeProofs = process.env.CAIRN_FAULT_FAKE_PROOFS === '1'
  const node = createStorageNode({
    dataDir,
    config,
    corruptServedPieces: process.env.CAIRN_FAULT_CORRUPT_PIECES === '1',
    benchSink: process.env.CAIRN_BENCH_SINK === '1',
    ...(chain === undefined ? {} : { chain: { ...chain, fakeProofs } }),
    discardPieces: fakeProofs,
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

/** `--chain-rpc URL --contracts FILE --key-file FILE [--price UNITS] [--stake CAIRN] [--no-watcher]`. */
async function chainSettings(
  v: ParsedCommandLine['values'],
  context: CommandContext,
): Promise<StorageNodeInit['chain'] | undefined> {
  const rpcUrl = v['chain-rpc'] as string | undefined
  if (rpcUrl === undefined) {
    if (v.contracts !== undefined || v['key-file'] !== undefined) {
      throw new InvalidArgumentError('--contracts and --key-file need --chain-rpc URL as well')
    }
    return undefined
  }
  if (typeof v.contracts !== 'string') {
    throw new InvalidArgumentError(
      '--chain-rpc needs --contracts FILE (the deployment, e.g. a devchain contracts.json)',
    )
  }
  let deployment: { chainId: number; contracts: ChainContracts; blockNumber?: string | number }
  try {
    deployment = JSON.parse(await readFile(v.contracts, 'utf8'))
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the deployment ${v.contracts}: pass the contracts.json of the chain`, {
      cause: err,
    })
  }
  const privateKey = await loadPrivateKey(typeof v['key-file'] === 'string' ? { file: v['key-file'] } : {})
  const priceText = v.price ?? process.env.CAIRN_NODE_PRICE
  const price = priceText === undefined ? undefined : wholeNumber(priceText, '--price')
  const stake = v.stake === undefined ? undefined : wholeNumber(v.stake, '--stake') * 10n ** BigInt(TOKEN_DECIMALS)
  const blockNumber =
    deployment.blockNumber === undefined ? undefined : String(deployment.blockNumber).replace(/n$/, '')
  return {
    rpcUrl,
    chainId: deployment.chainId,
    contracts: deployment.contracts,
    privateKey,
    ...(blockNumber === undefined ? {} : { fromBlock: BigInt(blockNumber) }),
    ...(price === undefined ? {} : { pricePerByteEpoch: price }),
    ...(stake === undefined ? {} : { stake }),
    watcher: v['no-watcher'] !== true,
    onEvent: (event) => context.stdout.write(`${JSON.stringify({ event: event.type, ...event, type: undefined })}\n`),
  }
}

function wholeNumber(raw: unknown, flag: string): bigint {
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw new InvalidArgumentError(`${flag} must be a whole number`)
  return BigInt(raw)
}
