import { resolve } from 'node:path'
import { InvalidArgumentError } from '../errors.ts'
import { createStorageNode, loadNodeConfig, type NodeConfig, parseByteSize } from '../node/index.ts'
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
  const node = createStorageNode({
    dataDir,
    config,
    corruptServedPieces: process.env.CAIRN_FAULT_CORRUPT_PIECES === '1',
    benchSink: process.env.CAIRN_BENCH_SINK === '1',
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
