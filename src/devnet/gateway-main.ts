/**
 * The gateway as its own process, for `cairn devnet` to spawn:
 *
 *   npx node src/api/main.ts --devnet DIR [--data DIR/gateway] [--port 7070] [--s3-port 7071] [--public-reads]
 *     [--chain-rpc URL --contracts FILE [--account 0x...]]
 *
 * The chain view (node stake and earnings, deals, wallet, bank, proof events) is on when `--chain-rpc` and
 * `--contracts` (a devchain's contracts.json) are given, or when DIR/devnet.json has
 * `"chain": {"rpcUrl", "chainId", "contracts": {"token", "registry", "market"}, "blockNumber"?, "account"?}`.
 *
 * Serves `/api/v1`, the S3 endpoint, `/metrics` and the dashboard (web/dist) over the devnet in DIR. When ready it
 * writes DATA/gateway.json (url, s3Endpoint, pid) and prints one JSON line on stdout:
 * `{"url", "s3Endpoint", "tokenFile"}`. The token itself is never printed (this output is a log): open
 * `URL/#token=TOKEN` with the token read from DATA/api-token.
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Address } from 'viem'
import {
  createChainView,
  createGateway,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_HOST,
  DEFAULT_S3_PORT,
  withChainView,
} from '../api/index.ts'
import { type ChainContracts, createChainReader } from '../chain/index.ts'
import { openDevnetFileService } from './devnet-file-service.ts'

const { values } = parseArgs({
  options: {
    devnet: { type: 'string', default: '.cairn-devnet' },
    data: { type: 'string' },
    host: { type: 'string', default: DEFAULT_HOST },
    port: { type: 'string', default: String(DEFAULT_GATEWAY_PORT) },
    's3-port': { type: 'string', default: String(DEFAULT_S3_PORT) },
    'no-s3': { type: 'boolean', default: false },
    'public-reads': { type: 'boolean', default: false },
    web: { type: 'string' },
    k: { type: 'string' },
    n: { type: 'string' },
    'chain-rpc': { type: 'string' },
    contracts: { type: 'string' },
    account: { type: 'string' },
  },
})

function port(text: string, name: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    process.stderr.write(`gateway: --${name} must be a port number (0-65535), got '${text}'\n`)
    process.exit(2)
  }
  return value
}

const devnetDir = resolve(values.devnet)
const dataDir = resolve(values.data ?? resolve(devnetDir, 'gateway'))
const webRoot = resolve(values.web ?? fileURLToPath(new URL('../../web/dist', import.meta.url)))
const redundancy: { k?: number; n?: number } = {}
if (values.k !== undefined) redundancy.k = Number(values.k)
if (values.n !== undefined) redundancy.n = Number(values.n)

interface ChainSettings {
  rpcUrl: string
  chainId: number
  contracts: ChainContracts
  blockNumber?: string | number
  account?: string
}

async function chainSettings(): Promise<ChainSettings | undefined> {
  if (values['chain-rpc'] !== undefined && values.contracts !== undefined) {
    const deployment = JSON.parse(await readFile(resolve(values.contracts), 'utf8')) as Omit<ChainSettings, 'rpcUrl'>
    return {
      ...deployment,
      rpcUrl: values['chain-rpc'],
      ...(values.account === undefined ? {} : { account: values.account }),
    }
  }
  try {
    const devnet = JSON.parse(await readFile(join(devnetDir, 'devnet.json'), 'utf8')) as { chain?: ChainSettings }
    return devnet.chain
  } catch {
    return undefined
  }
}

const service = await openDevnetFileService(devnetDir, redundancy)
let files = service.files
const chain = await chainSettings()
if (chain !== undefined) {
  const reader = createChainReader({ rpcUrl: chain.rpcUrl, chainId: chain.chainId, contracts: chain.contracts })
  const view = createChainView(
    { reader },
    {
      ...(chain.account === undefined ? {} : { account: chain.account as Address }),
      ...(chain.blockNumber === undefined ? {} : { fromBlock: BigInt(String(chain.blockNumber).replace(/n$/, '')) }),
    },
  )
  files = withChainView(files, view)
}
const gateway = createGateway(
  { files, ...service.onChain },
  {
    dataDir,
    host: values.host,
    port: port(values.port, 'port'),
    s3Port: values['no-s3'] ? false : port(values['s3-port'], 's3-port'),
    publicReads: values['public-reads'],
    webRoot,
  },
)
await gateway.start()
process.stdout.write(
  `${JSON.stringify({ url: gateway.url, s3Endpoint: gateway.s3Endpoint, tokenFile: join(dataDir, 'api-token') })}\n`,
)

let stopping = false
async function shutdown(): Promise<void> {
  if (stopping) return
  stopping = true
  const killer = setTimeout(() => process.exit(1), 10_000)
  killer.unref()
  await gateway.stop()
  await service.close()
  process.exit(0)
}
process.on('SIGINT', () => void shutdown())
process.on('SIGTERM', () => void shutdown())
