/**
 * End to end, on a devnet with its chain (4 node processes: a put of n = 3 still finds its nodes when one drops out
 * of the Registry on a loaded machine) and two gateway processes started with the same key, each with its own data
 * folder and SQLite (`cairn gateway --dir`, one CAIRN_HOME): S3 buckets, objects and versions are shared through the names of
 * the key's wallet. A bucket and an object written through A are listed and read (byte-equal) through B; B's
 * overwrite is what A reads next; A's delete is gone in B; two concurrent writes of one key through A and B both end
 * as versions in the bucket's catalog, read back with `cairn name resolve` and `cairn get`, and listed by
 * ListObjectVersions through either gateway.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { decodeCatalog } from '../../src/api/bucket-catalog.ts'
import { catalogNames, s3Credentials } from '../../src/api/index.ts'
import { loadPrivateKey } from '../../src/chain/index.ts'
import type { DevnetState } from '../../src/devnet/index.ts'
import { type DevnetCli, devnetCli, type LongRunning, startCairn, waitFor } from './devnet-fixture.ts'

const CAIRN = fileURLToPath(new URL('../../bin/cairn.js', import.meta.url))

interface GatewayProcess {
  child: ChildProcess
  s3: S3Client
  stop(): Promise<void>
}

async function startGateway(args: string[], home: string, dataDir: string, log: string[]): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    [CAIRN, 'gateway', ...args, '--listen', '127.0.0.1:0', '--s3-listen', '127.0.0.1:0', '--dir', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CAIRN_HOME: home } },
  )
  let out = ''
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString('utf8')
  })
  child.stderr!.on('data', (c: Buffer) => log.push(c.toString('utf8')))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000)
    await exited
    clearTimeout(killer)
  }
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`gateway exited: ${log.join('').slice(-800)}`)
        return out.includes('"s3Endpoint"')
      },
      120_000,
      `gateway ${dataDir} serving`,
    )
  } catch (error) {
    await stop()
    throw error
  }
  const credentials = await s3Credentials(dataDir)
  const s3 = new S3Client({
    endpoint: credentials.endpoint,
    region: credentials.region,
    forcePathStyle: true,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    // the SDK's default: a 500 (a deal refused because a node just left the Registry, on a loaded machine) is retried
    maxAttempts: 3,
  })
  return { child, s3, stop }
}

async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return Buffer.from(await got.Body!.transformToByteArray())
}

async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  return (listed.Contents ?? []).map((o) => o.Key!)
}

describe('S3 through names: two gateway processes of one key on a devnet', { timeout: 900_000 }, () => {
  let dir: string
  let devnet: LongRunning | undefined
  let cli: DevnetCli
  let a: GatewayProcess | undefined
  let b: GatewayProcess | undefined
  let bucketName: string
  const logs: string[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-e2e-s3-names-'))
    cli = devnetCli(dir)
    devnet = startCairn(['devnet', '--dir', dir, '--nodes', '4', '--heartbeat-ms', '500', '--no-gateway'])
    await devnet.waitForLine((l) => l.startsWith('devnet ready'), 120_000)
    const state = JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetState
    const keyFile = state.chain!.user.keyFile
    bucketName = catalogNames(await loadPrivateKey({ file: keyFile })).bucket('shared')
    // one wallet, one home (its transaction lock), two data folders
    const args = ['--network', join(dir, 'network.json'), '--key-file', keyFile]
    a = await startGateway(args, join(dir, 'client'), join(dir, 'gateway-a'), logs)
    b = await startGateway(args, join(dir, 'client'), join(dir, 'gateway-b'), logs)
  })
  after(async () => {
    // what the gateways warned about (a conflict is not one: it is merged), for whoever reads a failure
    const warnings = logs
      .join('')
      .split('\n')
      .filter((line) => line.includes('warning'))
    if (warnings.length > 0) process.stdout.write(`gateway warnings:\n${warnings.join('\n')}\n`)
    a?.s3.destroy()
    b?.s3.destroy()
    await Promise.all([a?.stop(), b?.stop()])
    await devnet?.stop('SIGINT', 30_000)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('a bucket and an object put through A are listed and read byte-equal through B', async () => {
    const data = randomBytes(150_000)
    await a!.s3.send(new CreateBucketCommand({ Bucket: 'shared' }))
    await a!.s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'docs/first.bin', Body: data }))
    await waitFor(
      async () => (await listKeys(b!.s3, 'shared')).includes('docs/first.bin'),
      180_000,
      'B lists the object A put',
    )
    assert.ok((await getBytes(b!.s3, 'shared', 'docs/first.bin')).equals(data))
  })

  it('an overwrite through B is the version A reads; a delete through A is gone in B', async () => {
    const data = randomBytes(90_000)
    await b!.s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'docs/first.bin', Body: data }))
    await waitFor(
      async () => (await getBytes(a!.s3, 'shared', 'docs/first.bin')).equals(data),
      180_000,
      'A reads the version B put',
    )
    await a!.s3.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'docs/first.bin' }))
    await waitFor(
      async () => !(await listKeys(b!.s3, 'shared')).includes('docs/first.bin'),
      180_000,
      'B no longer lists the object A deleted',
    )
    await assert.rejects(getBytes(b!.s3, 'shared', 'docs/first.bin'), { name: 'NoSuchKey' })
  })

  it('two concurrent puts of one key through A and B both end as versions (none lost)', async () => {
    const fromA = randomBytes(40_000)
    const fromB = randomBytes(50_000)
    await Promise.all([
      a!.s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'race', Body: fromA })),
      b!.s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'race', Body: fromB })),
    ])
    const versions = await waitFor(
      async () => {
        const { capability } = await cli.json<{ capability: string }>(['name', 'resolve', bucketName, '--json'])
        const { bytes } = await cli.getBytes(capability)
        const found = decodeCatalog(bytes).keys.get('race') ?? []
        return found.length === 2 ? found : undefined
      },
      240_000,
      'both puts as versions of the catalog',
    )
    assert.deepEqual(versions.map((v) => v.size).sort(), [40_000, 50_000])
    // what an S3 client sees of them, through either gateway
    for (const s3 of [a!.s3, b!.s3]) {
      const listed = await waitFor(
        async () => {
          const found = await s3.send(new ListObjectVersionsCommand({ Bucket: 'shared', Prefix: 'race' }))
          return found.Versions?.length === 2 ? found.Versions : undefined
        },
        60_000,
        'ListObjectVersions lists both puts',
      )
      assert.deepEqual(
        listed.map((v) => [v.Size, v.IsLatest]),
        versions.toReversed().map((v, i) => [v.size, i === 0]),
      )
    }
    const current = versions.at(-1)!.size === 40_000 ? fromA : fromB
    await waitFor(
      async () =>
        (await getBytes(a!.s3, 'shared', 'race')).equals(current) &&
        (await getBytes(b!.s3, 'shared', 'race')).equals(current),
      120_000,
      'A and B serve the same current version',
    )
  })
})
