/**
 * Restarting one devnet node with a changed command line or environment (a clock fault, another chain endpoint):
 * the node's own command line read from /proc, its listen and API ports fixed to the ones it has now so that its
 * peers' addresses stay right, then `cairn node start` again as a child of the chaos run.
 */
import { readFile } from 'node:fs/promises'
import { type LongRunning, processExists, startCairn, waitFor } from '../e2e/devnet-fixture.ts'
import type { ChaosDevnet } from './chaos-devnet.ts'

/** The command line a devnet node runs (from /proc), with its listen and API ports fixed to the ones it has now. */
export async function nodeCommand(devnet: ChaosDevnet, index: number, pid: number): Promise<string[]> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '')
  const args = argv.slice(argv.findIndex((a) => a.endsWith('main.ts')) + 1)
  const node = devnet.nodes[index]!
  const bound = node.multiaddrs.map((m) => m.split('/p2p/')[0]!)
  const apiPort = new URL(node.api).port
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--listen') {
      const shape = new RegExp(`^${args[i + 1]!.replace('/tcp/0', '/tcp/\\d+').replaceAll('/', '\\/')}$`)
      args[i + 1] = bound.find((m) => shape.test(m)) ?? args[i + 1]!
    }
    if (args[i] === '--api-port') args[i + 1] = apiPort
  }
  return args
}

/** `args` with the value of `--flag` replaced (the flag must be there). */
export function withFlag(args: string[], flag: string, value: string): string[] {
  const at = args.indexOf(flag)
  if (at < 0) throw new Error(`the node's command line has no ${flag}: ${args.join(' ')}`)
  return [...args.slice(0, at + 1), value, ...args.slice(at + 2)]
}

/**
 * Stops devnet node `index` (SIGTERM, as an operator would), starts it again with `change` applied to its command line
 * and `env` added, and waits for its ready event. The returned process is the caller's to stop.
 */
export async function restartNode(
  devnet: ChaosDevnet,
  index: number,
  pid: number,
  init: { change?: (args: string[]) => string[]; env?: Record<string, string>; readyMs?: number } = {},
): Promise<LongRunning> {
  const args = (init.change ?? ((a) => a))(await nodeCommand(devnet, index, pid))
  process.kill(pid, 'SIGTERM')
  await waitFor(() => !processExists(pid), 30_000, `node ${index} to stop`)
  const node = startCairn(args, init.env ?? {})
  try {
    await node.waitForLine((l) => l.includes('"event":"ready"'), init.readyMs ?? 90_000)
  } catch (err) {
    await node.stop('SIGKILL').catch(() => {})
    throw err
  }
  return node
}
