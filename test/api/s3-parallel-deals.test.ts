/**
 * A real S3 client uploads 16 objects at once through the gateway of a devnet WITH its chain: every PutObject opens
 * a paid deal from the one gateway wallet, so concurrent deals must not race on the permit nonce, the allowance or the
 * transaction nonce (`aws s3 cp --recursive` of 6 files once failed 5 with "insufficient allowance").
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { type S3Credentials, s3Credentials } from '../../src/api/index.ts'
import { type DevnetWithGateway, startDevnetWithGateway } from '../e2e/devnet-fixture.ts'
import { s3Client } from './s3-suite.ts'

const OBJECTS = 16

describe('parallel S3 uploads on a devnet with its chain', { timeout: 420_000 }, () => {
  let harness: DevnetWithGateway
  let credentials: S3Credentials
  before(async () => {
    harness = await startDevnetWithGateway({ nodes: 4, chain: true })
    credentials = await s3Credentials(harness.gatewayDir)
  })
  after(() => harness?.stop())

  it(`${OBJECTS} concurrent PutObjects each open their own deal and read back byte-equal`, async () => {
    const s3 = s3Client(credentials)
    await s3.send(new CreateBucketCommand({ Bucket: 'parallel' }))
    const bodies = Array.from({ length: OBJECTS }, (_, i) => randomBytes(50_000 + i * 1_000))
    const results = await Promise.allSettled(
      bodies.map((Body, i) => s3.send(new PutObjectCommand({ Bucket: 'parallel', Key: `object-${i}.bin`, Body }))),
    )
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`object-${i}: ${String(r.reason)}`] : []))
    assert.deepEqual(failed, [], 'every concurrent PutObject succeeds')
    for (const [i, body] of bodies.entries()) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'parallel', Key: `object-${i}.bin` }))
      assert.ok(Buffer.compare(Buffer.from(await got.Body!.transformToByteArray()), body) === 0, `object-${i} bytes`)
    }
    // On chain: one deal per object, all paid from the devnet's user wallet.
    const deals = spawnSync(process.execPath, ['src/cli/main.ts', 'deals', '--json', '--devnet', harness.dir], {
      cwd: new URL('../../', import.meta.url).pathname,
      encoding: 'utf8',
    })
    assert.equal(deals.status, 0, deals.stderr)
    // Each object's deal once (deals carry the file's size; the sizes differ); the bucket's catalog, kept through the
    // wallet's names, is a Cairn file with deals of its own.
    const sizes = (JSON.parse(deals.stdout) as Array<{ size: number }>).map((deal) => deal.size)
    for (const body of bodies) {
      assert.equal(sizes.filter((size) => size === body.byteLength).length, 1, `one deal of ${body.byteLength} bytes`)
    }
  })
})
