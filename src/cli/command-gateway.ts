import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { privateKeyToAccount } from 'viem/accounts'
import {
  createChainView,
  createGateway,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_HOST,
  DEFAULT_S3_PORT,
  withChainView,
} from '../api/index.ts'
import { createChainReader, loadPrivateKey, networkChain } from '../chain/index.ts'
import { openNetworkFileService } from '../devnet/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import { configureCrashPoint, mkdirDurable } from '../storage/index.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'
import { CRASH_AT_ENV } from './node-option-table.ts'

const WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url))

/**
 * `cairn gateway --network FILE --key-file FILE [--listen HOST:PORT] [--s3-listen HOST:PORT | --no-s3] [--dir DIR]
 * [--public-reads]`: the HTTP API, the dashboard and the S3 endpoint on any network, until SIGINT/SIGTERM. Uploads
 * open deals paid by the key's wallet. Prints one JSON line when it serves: `{"url", "s3Endpoint", "tokenFile"}` (the
 * token itself never: this output is often a log).
 */
export async function runGateway(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const v = parsed.values
  const location = await locateNetwork(v)
  const network = location.network
  if (network === undefined) {
    throw new InvalidArgumentError('cairn gateway needs --network FILE: the network.json of the network to serve')
  }
  // The paying wallet: --key-file, else CAIRN_PRIVATE_KEY, else a devnet's user.key.
  const envKey = process.env.CAIRN_PRIVATE_KEY
  const source =
    location.keyFile !== undefined
      ? { file: location.keyFile }
      : envKey !== undefined && envKey !== ''
        ? { text: envKey }
        : location.devnetKeyFile === undefined
          ? undefined
          : { file: location.devnetKeyFile }
  if (source === undefined) {
    throw new InvalidArgumentError(
      'cairn gateway needs the wallet that pays for uploads: pass --key-file FILE (make one with "cairn wallet new --out FILE") or set CAIRN_PRIVATE_KEY',
    )
  }
  const privateKey = await loadPrivateKey(source)
  configureCrashPoint(process.env[CRASH_AT_ENV] ?? '')
  const http = hostPort(v.listen, '--listen', DEFAULT_GATEWAY_PORT)
  const s3 = v['no-s3'] === true ? undefined : hostPort(v['s3-listen'], '--s3-listen', DEFAULT_S3_PORT, http.host)
  const dataDir = resolve((v.dir as string | undefined) ?? join(location.home, 'gateway'))
  await mkdirDurable(dataDir, { mode: 0o700 })
  const service = await openNetworkFileService({ network, privateKey, home: location.home })
  try {
    const reader = createChainReader(networkChain(network))
    const view = createChainView(
      { reader },
      { account: privateKeyToAccount(privateKey).address, fromBlock: network.deploymentBlock },
    )
    const gateway = createGateway(
      { files: withChainView(service.files, view), ...service.onChain },
      {
        dataDir,
        host: http.host,
        port: http.port,
        s3Port: s3 === undefined ? false : s3.port,
        publicReads: v['public-reads'] === true,
        webRoot: WEB_ROOT,
      },
    )
    await gateway.start()
    context.stdout.write(
      `${JSON.stringify({ url: gateway.url, s3Endpoint: gateway.s3Endpoint, tokenFile: join(dataDir, 'api-token') })}\n`,
    )
    await new Promise<void>((resolveStop) => {
      if (context.signal.aborted) resolveStop()
      context.signal.addEventListener('abort', () => resolveStop(), { once: true })
    })
    await gateway.stop()
  } finally {
    await service.close()
  }
  return 0
}

/** `HOST:PORT`, `:PORT` or `PORT` (0 picks a free port); IPv6 hosts in brackets (`[::1]:7070`). */
export function hostPort(
  raw: unknown,
  flag: string,
  defaultPort: number,
  defaultHost = DEFAULT_HOST,
): { host: string; port: number } {
  if (raw === undefined) return { host: defaultHost, port: defaultPort }
  const text = String(raw)
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*))?:?(\d{1,5})$/.exec(text)
  const port = Number(match?.[3])
  if (match === null || !Number.isInteger(port) || port > 65_535) {
    throw new InvalidArgumentError(`${flag} must be HOST:PORT such as 127.0.0.1:7070 (port 0-65535), got "${text}"`)
  }
  const host = match[1] ?? (match[2] === undefined || match[2] === '' ? defaultHost : match[2])
  return { host, port }
}
