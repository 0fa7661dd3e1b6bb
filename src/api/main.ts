/**
 * The gateway as its own process, for `cairn devnet` to spawn:
 *
 *   npx node src/api/main.ts --devnet DIR [--data DIR/gateway] [--port 7070] [--s3-port 7071] [--public-reads]
 *
 * Serves `/api/v1`, the S3 endpoint, `/metrics` and the dashboard (web/dist) over the devnet in DIR. When ready it
 * writes DATA/gateway.json (url, s3Endpoint, pid) and prints one JSON line on stdout:
 * `{"url", "s3Endpoint", "dashboard"}` (the dashboard URL carries the token after `#token=`).
 */
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DEFAULT_GATEWAY_PORT, DEFAULT_HOST, DEFAULT_S3_PORT } from './constants.ts'
import { openDevnetFileService } from './devnet-file-service.ts'
import { createGateway } from './gateway.ts'

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

const service = await openDevnetFileService(devnetDir, redundancy)
const gateway = createGateway(
  { files: service.files },
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
  `${JSON.stringify({ url: gateway.url, s3Endpoint: gateway.s3Endpoint, dashboard: `${gateway.url}/#token=${gateway.token}` })}\n`,
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
