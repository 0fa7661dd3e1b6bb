import { join, resolve } from 'node:path'
import { createDevnet, DEFAULT_DEVNET_DIR, DEFAULT_DEVNET_NODES, DEVNET_FILE } from '../node/index.ts'
import type { CommandContext } from './command-context.ts'
import { integerFlag, type ParsedCommandLine } from './command-line.ts'
import { formatTable } from './output.ts'

/** `cairn devnet [--dir DIR] [--nodes N]`: runs until SIGINT/SIGTERM, then stops every node. */
export async function runDevnet(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const dir = resolve((parsed.values.dir as string | undefined) ?? process.env.CAIRN_DEVNET ?? DEFAULT_DEVNET_DIR)
  const nodes = integerFlag(parsed.values, 'nodes', 1, 200) ?? DEFAULT_DEVNET_NODES
  const heartbeatIntervalMs = integerFlag(parsed.values, 'heartbeat-ms', 100, 60_000)
  const devnet = createDevnet({
    dir,
    nodes,
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    onEvent: (event) => {
      if (event.type === 'node:exit') {
        context.stderr.write(
          `devnet: node ${event.index} (pid ${event.pid}) exited with ${event.code ?? event.signal}; see ${join(dir, `node-${event.index}`, 'node.log')}\n`,
        )
      } else if (event.type === 'stale:killed') {
        context.stderr.write(`devnet: stopped node process ${event.pid} left by an earlier run\n`)
      }
    },
  })
  context.stderr.write(`devnet: starting ${nodes} nodes under ${dir}\n`)
  const state = await devnet.start({ signal: context.signal })
  context.stderr.write(
    formatTable(
      ['NODE', 'PEER', 'PID', 'API'],
      state.nodes.map((n, i) => [String(i), n.peerId, String(n.pid), n.api]),
    ),
  )
  context.stdout.write(`devnet ready: ${state.nodes.length} nodes, state in ${join(dir, DEVNET_FILE)}\n`)
  await new Promise<void>((resolveStop) => {
    if (context.signal.aborted) resolveStop()
    context.signal.addEventListener('abort', () => resolveStop(), { once: true })
  })
  context.stderr.write('devnet: stopping\n')
  await devnet.stop()
  return 0
}
