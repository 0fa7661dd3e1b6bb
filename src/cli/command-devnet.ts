import { existsSync, realpathSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { delimiter, isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_GATEWAY_PORT, DEFAULT_S3_PORT } from '../api/index.ts'
import {
  createDevnet,
  DEFAULT_DEVNET_DIR,
  DEFAULT_DEVNET_NODES,
  DEVNET_FILE,
  type GatewayProcess,
  spawnGatewayProcess,
} from '../devnet/index.ts'
import { writeFileDurable } from '../storage/index.ts'
import type { CommandContext } from './command-context.ts'
import { integerFlag, type ParsedCommandLine } from './command-line.ts'
import { formatTable } from './output.ts'

/**
 * `cairn devnet [--dir DIR] [--nodes N] [--epoch-seconds S] [--no-chain] [--no-gateway]`: the devchain, N nodes and
 * the gateway; runs until SIGINT/SIGTERM, then stops the gateway, the nodes and the chain.
 */
export async function runDevnet(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const v = parsed.values
  const dir = resolve((v.dir as string | undefined) ?? process.env.CAIRN_DEVNET ?? DEFAULT_DEVNET_DIR)
  const nodes = integerFlag(v, 'nodes', 1, 200) ?? DEFAULT_DEVNET_NODES
  const heartbeatIntervalMs = integerFlag(v, 'heartbeat-ms', 100, 60_000)
  const epochSeconds = integerFlag(v, 'epoch-seconds', 2, 86_400)
  const gatewayPort = integerFlag(v, 'gateway-port', 0, 65_535) ?? DEFAULT_GATEWAY_PORT
  const s3Port = integerFlag(v, 's3-port', 0, 65_535) ?? DEFAULT_S3_PORT
  const devnet = createDevnet({
    dir,
    nodes,
    chain: v['no-chain'] !== true,
    ...(epochSeconds === undefined ? {} : { epochSeconds }),
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    onEvent: (event) => {
      if (event.type === 'node:exit') {
        context.stderr.write(
          `devnet: node ${event.index} (pid ${event.pid}) exited with ${event.code ?? event.signal}; see ${join(dir, `node-${event.index}`, 'node.log')}\n`,
        )
      } else if (event.type === 'stale:killed') {
        context.stderr.write(`devnet: stopped node process ${event.pid} left by an earlier run\n`)
      } else if (event.type === 'chain:ready') {
        context.stderr.write(
          `devnet: devchain on ${event.rpcUrl} (${event.deployed ? 'contracts deployed' : 'resumed'})\n`,
        )
      }
    },
  })
  context.stderr.write(`devnet: starting ${nodes} nodes under ${dir}\n`)
  const state = await devnet.start({ signal: context.signal })
  let gateway: GatewayProcess | undefined
  try {
    const busy = v['no-gateway'] === true ? undefined : await busyPort([gatewayPort, s3Port])
    if (busy !== undefined) {
      context.stderr.write(
        `devnet: port ${busy} is in use, so the gateway is not started (pass --gateway-port and --s3-port, or --no-gateway)\n`,
      )
    } else if (v['no-gateway'] !== true) {
      gateway = await spawnGatewayProcess({ devnetDir: dir, port: gatewayPort, s3Port }, { signal: context.signal })
      await addToDevnetFile(dir, {
        gateway: gateway.url,
        ...(gateway.s3Endpoint === undefined ? {} : { s3: gateway.s3Endpoint }),
      })
    }
  } catch (err) {
    await devnet.stop()
    throw err
  }
  context.stderr.write(
    formatTable(
      ['NODE', 'PEER', 'PID', 'API', 'ACCOUNT'],
      state.nodes.map((n, i) => [String(i), n.peerId, String(n.pid), n.api, n.address ?? '-']),
    ),
  )
  if (state.chain !== undefined) {
    context.stderr.write(
      `chain: ${state.chain.rpc} (epochs of ${state.chain.epochSeconds} s), user wallet ${state.chain.user.address}\n`,
    )
  }
  if (gateway !== undefined) {
    // The link carries the dashboard's token: shown on a terminal, never written into a log or a pipe.
    context.stderr.write(
      context.stderr.isTTY === true
        ? `dashboard: ${gateway.dashboard}\n`
        : `dashboard: ${gateway.url}/#token=TOKEN (TOKEN is in ${join(gateway.dataDir, 'api-token')})\n`,
    )
    if (gateway.s3Endpoint !== undefined) {
      context.stderr.write(
        `S3 endpoint: ${gateway.s3Endpoint} (keys: ${cairnCommand()} s3 credentials --devnet ${dir})\n`,
      )
    }
  }
  const cairn = cairnCommand()
  context.stderr.write(
    `try: ${cairn} put FILE --devnet ${dir}; ${cairn} deals --devnet ${dir}; ${cairn} wallet --devnet ${dir}; ${cairn} nodes --devnet ${dir}\n`,
  )
  context.stdout.write(`devnet ready: ${state.nodes.length} nodes, state in ${join(dir, DEVNET_FILE)}\n`)
  await new Promise<void>((resolveStop) => {
    if (context.signal.aborted) resolveStop()
    context.signal.addEventListener('abort', () => resolveStop(), { once: true })
  })
  context.stderr.write('devnet: stopping\n')
  await gateway?.stop()
  await devnet.stop()
  return 0
}

async function addToDevnetFile(dir: string, fields: Record<string, string>): Promise<void> {
  const path = join(dir, DEVNET_FILE)
  const state = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  await writeFileDurable(path, `${JSON.stringify({ ...state, ...fields }, null, 2)}\n`, 0o644)
}

/** The first of `ports` (0 is never busy) that another process listens on at 127.0.0.1, if any. */
async function busyPort(ports: number[]): Promise<number | undefined> {
  for (const port of ports) {
    if (port === 0) continue
    const free = await new Promise<boolean>((resolveFree) => {
      const server = createServer()
      server.once('error', () => resolveFree(false))
      server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)))
    })
    if (!free) return port
  }
  return undefined
}

/**
 * How to type `cairn` from here: the repository's bin/cairn.js by a path relative to the working folder (npm start
 * runs in the repository, where `cairn` is not on PATH), or `cairn` when the launcher is on PATH as that name.
 */
export function cairnCommand(cwd = process.cwd()): string {
  const bin = fileURLToPath(new URL('../../bin/cairn.js', import.meta.url))
  const onPath = (process.env.PATH ?? '').split(delimiter).some((folder) => {
    const candidate = join(folder, 'cairn')
    return existsSync(candidate) && realpathSync(candidate) === realpathSync(bin)
  })
  if (onPath) return 'cairn'
  const path = relative(cwd, bin)
  return path.startsWith('.') || isAbsolute(path) ? path : `./${path}`
}
