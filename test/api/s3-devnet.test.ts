import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import { createApiClient, type S3Credentials, s3Credentials } from '../../src/api/index.ts'
import { type DevnetWithGateway, startDevnetWithGateway, waitFor } from '../e2e/devnet-fixture.ts'
import { multipartRoundTrip, s3Client, s3Suite } from './s3-suite.ts'

describe('S3 API and /api/v1 against a real devnet (4 node processes)', { timeout: 300_000 }, () => {
  let harness: DevnetWithGateway
  let credentials: S3Credentials
  before(async () => {
    harness = await startDevnetWithGateway({ nodes: 4 })
    credentials = await s3Credentials(harness.gatewayDir)
  })
  after(() => harness?.stop())

  it('s3Credentials prints the running endpoint', () => {
    assert.equal(credentials.endpoint, harness.s3Endpoint)
    assert.equal(credentials.region, 'us-east-1')
  })

  it('the gateway log names the token file and never holds the token', async () => {
    const tokenFile = join(harness.gatewayDir, 'api-token')
    // the ready line follows gateway.json, which is what startDevnetWithGateway waits for
    const log = await waitFor(
      async () => {
        const text = await readFile(join(harness.gatewayDir, 'gateway.log'), 'utf8')
        return text.includes(tokenFile) ? text : undefined
      },
      10_000,
      'the gateway ready line naming the token file',
    )
    assert.ok(!log.includes(harness.token), 'the dashboard token was written to gateway.log')
  })

  s3Suite(() => ({ credentials, bucketPrefix: 'devnet' }))

  it('round-trips a 100 MiB multipart upload byte-identical', async () => {
    const s3 = s3Client(credentials)
    await s3.send(new CreateBucketCommand({ Bucket: 'big' }))
    await multipartRoundTrip(s3, 'big', 'hundred.bin', 100 * 1024 * 1024, 16 * 1024 * 1024)
  })

  it('uploads over /api/v1 and reads ranges back from the nodes', async () => {
    const api = createApiClient({ url: harness.url, token: harness.token })
    const data = randomBytes(3_000_000)
    const { capability, k, n } = await api.upload(data, { name: 'e2e.bin', k: 2, n: 4 })
    assert.deepEqual([k, n], [2, 4])
    const range = await api.download(capability, { offset: 1_234_567, length: 100_000 })
    assert.equal(range.status, 206)
    assert.deepEqual(Buffer.from(await range.bytes()), data.subarray(1_234_567, 1_334_567))
    // Health is the gateway's live view of the holders: on a loaded machine a holder can be "suspect" for a beat.
    const status = await waitFor(
      async () => {
        const now = await api.status(capability)
        return now.health === 'healthy' ? now : undefined
      },
      15_000,
      'the file to be healthy in the gateway status',
    )
    assert.equal(new Set(status.slots.map((s) => s.peerId)).size, 4)
  })
  it('lists files put with the CLI (cairn put) next to its own, and serves them', async () => {
    const path = join(harness.dir, 'from-cli.txt')
    await writeFile(path, 'put by the command line\n')
    const put = spawnSync(process.execPath, ['src/cli/main.ts', 'put', path, '--json', '--devnet', harness.dir], {
      cwd: new URL('../../', import.meta.url).pathname,
      encoding: 'utf8',
    })
    assert.equal(put.status, 0, put.stderr)
    const { capability } = JSON.parse(put.stdout) as { capability: string }
    const api = createApiClient({ url: harness.url, token: harness.token })
    const listed = (await api.files()).find((f) => f.capability === capability)
    assert.equal(listed?.name, 'from-cli.txt')
    const { bytes } = await api.download(capability)
    assert.equal(new TextDecoder().decode(await bytes()), 'put by the command line\n')
  })
})
