/**
 * A gateway process as `cairn gateway --network FILE --key-file FILE --dir DIR` starts one, with its S3 buckets kept
 * in names of the key's wallet (what `cairn gateway` does once src/cli/command-gateway.ts passes `s3Names`):
 *
 *   node test/e2e/s3-names-gateway.ts --network FILE --key-file FILE --home DIR --dir DIR [--flush-ms N]
 *
 * Prints `{"url", "s3Endpoint"}` when serving; SIGTERM flushes and stops it.
 */
import { parseArgs } from 'node:util'
import { createGateway } from '../../src/api/index.ts'
import { createChainClient, loadPrivateKey, readNetworkFile } from '../../src/chain/index.ts'
import { openNetworkFileService } from '../../src/devnet/index.ts'

const { values } = parseArgs({
  options: {
    network: { type: 'string' },
    'key-file': { type: 'string' },
    home: { type: 'string' },
    dir: { type: 'string' },
    'flush-ms': { type: 'string', default: '1000' },
  },
})
const network = await readNetworkFile(values.network!)
const privateKey = await loadPrivateKey({ file: values['key-file']! })
const home = values.home!
const service = await openNetworkFileService({ network, privateKey, home })
const client = createChainClient({
  rpcUrl: network.rpc,
  chainId: network.chainId,
  privateKey,
  contracts: network.contracts,
  transactionLockDir: home,
})
const gateway = createGateway(
  { files: service.files, ...service.onChain, s3Names: { client, privateKey, flushMs: Number(values['flush-ms']) } },
  { dataDir: values.dir!, host: '127.0.0.1', port: 0, s3Port: 0, rateLimit: false },
)
await gateway.start()
process.stdout.write(`${JSON.stringify({ url: gateway.url, s3Endpoint: gateway.s3Endpoint })}\n`)

let stopping = false
async function shutdown(): Promise<void> {
  if (stopping) return
  stopping = true
  setTimeout(() => process.exit(1), 40_000).unref()
  await gateway.stop()
  await service.close()
  process.exit(0)
}
process.on('SIGINT', () => void shutdown())
process.on('SIGTERM', () => void shutdown())
