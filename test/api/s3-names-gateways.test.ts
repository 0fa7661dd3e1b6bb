/**
 * Two gateways of one key (one name store, one file service, each its own data folder and SQLite) share their S3
 * buckets, objects and versions through the catalog names (in process; test/e2e/s3-names-devnet.test.ts does it with
 * real processes on a devnet's chain). Also: the whole S3 suite passes with the catalog on.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { type BucketCatalog, decodeCatalog } from '../../src/api/bucket-catalog.ts'
import { catalogNames, createGateway, type Gateway, s3Credentials } from '../../src/api/index.ts'
import { waitFor } from '../wait-for.ts'
import { createMemoryFileService, type MemoryFileService } from './memory-file-service.ts'
import { createMemoryNameStore, type MemoryNameStore } from './s3-names-memory-store.ts'
import { s3Client, s3Suite } from './s3-suite.ts'

const privateKey = `0x${'ab'.repeat(32)}` as const

async function text(s3: S3Client, bucket: string, key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return got.Body!.transformToString()
}

async function readCatalog(files: MemoryFileService, capability: string): Promise<BucketCatalog> {
  const { stream } = await files.get(capability, {})
  const chunks: Uint8Array[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return decodeCatalog(Buffer.concat(chunks))
}

async function keys(s3: S3Client, bucket: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
  return (listed.Contents ?? []).map((o) => o.Key!)
}

describe('S3 through names: two gateways of one key (in process)', () => {
  const store: MemoryNameStore = createMemoryNameStore()
  const files: MemoryFileService = createMemoryFileService()
  const dirs: string[] = []
  const gateways: Gateway[] = []
  let a: S3Client
  let b: S3Client
  const start = async (flushMs: number): Promise<S3Client> => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cairn-s3-names-'))
    dirs.push(dataDir)
    const gateway = createGateway({ files, s3Names: { store, privateKey, flushMs } }, { dataDir, port: 0, s3Port: 0 })
    gateways.push(gateway)
    await gateway.start()
    return s3Client(await s3Credentials(dataDir))
  }
  before(async () => {
    a = await start(100)
    b = await start(100)
  })
  after(async () => {
    for (const gateway of gateways) await gateway.stop()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  })

  it('a bucket and an object written through A are listed and read through B', async () => {
    await a.send(new CreateBucketCommand({ Bucket: 'shared' }))
    await a.send(new PutObjectCommand({ Bucket: 'shared', Key: 'docs/one.txt', Body: 'one from A' }))
    await waitFor(
      async () => ((await keys(b, 'shared').catch((): string[] => [])).includes('docs/one.txt') ? true : undefined),
      10_000,
      'B lists the object A wrote',
    )
    assert.deepEqual(
      (await b.send(new ListBucketsCommand({}))).Buckets?.map((x) => x.Name),
      ['shared'],
    )
    assert.equal(await text(b, 'shared', 'docs/one.txt'), 'one from A')
  })

  it('an overwrite through B is the new version in A; a delete through A is gone in B', async () => {
    await b.send(new PutObjectCommand({ Bucket: 'shared', Key: 'docs/one.txt', Body: 'two from B' }))
    await waitFor(
      async () => ((await text(a, 'shared', 'docs/one.txt')) === 'two from B' ? true : undefined),
      10_000,
      'A reads the version B wrote',
    )
    const name = catalogNames(privateKey).bucket('shared')
    const held = await waitFor(
      async () => {
        const versions = (await readCatalog(files, store.history(name).at(-1)!)).keys.get('docs/one.txt') ?? []
        return versions.length === 2 ? versions.flatMap((v) => v.parts.map((p) => p.capability)) : undefined
      },
      10_000,
      'both versions in the catalog',
    )
    await a.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'docs/one.txt' }))
    await waitFor(
      async () => ((await keys(b, 'shared')).length === 0 ? true : undefined),
      10_000,
      'B no longer lists the object A deleted',
    )
    await assert.rejects(text(b, 'shared', 'docs/one.txt'), { name: 'NoSuchKey' })
    const listed = await b.send(new ListObjectVersionsCommand({ Bucket: 'shared', Prefix: 'docs/' }))
    assert.equal(listed.Versions, undefined, 'the delete hid both versions')
    assert.deepEqual(
      listed.DeleteMarkers?.map((m) => [m.Key, m.IsLatest]),
      [['docs/one.txt', true]],
    )
    // the files of both versions left the catalog: their deals end
    await waitFor(
      async () => (held.every((c) => files.removed.includes(c)) ? true : undefined),
      10_000,
      'both versions removed',
    )
  })

  it('two concurrent writes of one key through A and B both end as versions (none lost)', async () => {
    await Promise.all([
      a.send(new PutObjectCommand({ Bucket: 'shared', Key: 'race', Body: 'A wins?' })),
      b.send(new PutObjectCommand({ Bucket: 'shared', Key: 'race', Body: 'B wins?' })),
    ])
    const name = catalogNames(privateKey).bucket('shared')
    const versions = await waitFor(
      async () => {
        const latest = store.history(name).at(-1)
        if (latest === undefined) return undefined
        const found = (await readCatalog(files, latest)).keys.get('race') ?? []
        return found.length === 2 ? found : undefined
      },
      10_000,
      'both writes in the catalog',
    )
    // both gateways list both versions (ListObjectVersions) and agree on the current one (the later by time, then ID)
    const current = versions.at(-1)!.etag
    for (const s3 of [a, b]) {
      const listed = await waitFor(
        async () => {
          const found = await s3.send(new ListObjectVersionsCommand({ Bucket: 'shared', Prefix: 'race' }))
          return found.Versions?.length === 2 ? found : undefined
        },
        10_000,
        'two versions listed',
      )
      assert.deepEqual(
        listed.Versions!.map((v) => [v.ETag, v.IsLatest]),
        versions.toReversed().map((v, i) => [v.etag, i === 0]),
      )
    }
    await waitFor(
      async () => {
        const [fromA, fromB] = await Promise.all([
          a.send(new GetObjectCommand({ Bucket: 'shared', Key: 'race' })),
          b.send(new GetObjectCommand({ Bucket: 'shared', Key: 'race' })),
        ])
        return fromA.ETag === current && fromB.ETag === current ? true : undefined
      },
      10_000,
      'A and B serve the same current version',
    )
  })

  it('a write B publishes while A is publishing makes A re-read and merge: both versions stay', async () => {
    const name = catalogNames(privateKey).bucket('shared')
    const before = store.history(name).length
    const conflicts = store.counts.conflicts
    // A's flush has put its catalog; before its compare-and-swap lands, B writes the same key and publishes
    store.beforeNextPublish(async () => {
      await b.send(new PutObjectCommand({ Bucket: 'shared', Key: 'hooked', Body: 'B, in the middle' }))
      await waitFor(async () => (store.history(name).length > before ? true : undefined), 10_000, 'B publishes')
    })
    await a.send(new PutObjectCommand({ Bucket: 'shared', Key: 'hooked', Body: 'A, first' }))
    const versions = await waitFor(
      async () => {
        const found = (await readCatalog(files, store.history(name).at(-1)!)).keys.get('hooked') ?? []
        return found.length === 2 ? found : undefined
      },
      10_000,
      'both writes in the catalog',
    )
    assert.equal(store.counts.conflicts, conflicts + 1, 'A met the conflict and re-applied its change')
    assert.deepEqual(versions.map((v) => v.size).sort(), ['A, first'.length, 'B, in the middle'.length].sort())
    await a.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'hooked' }))
  })

  it('DeleteBucket through B removes it from A', async () => {
    await a.send(new CreateBucketCommand({ Bucket: 'short-lived' }))
    await waitFor(
      async () =>
        (await b.send(new ListBucketsCommand({}))).Buckets?.some((x) => x.Name === 'short-lived') ? true : undefined,
      10_000,
      'B sees the bucket',
    )
    await b.send(new DeleteBucketCommand({ Bucket: 'short-lived' }))
    await waitFor(
      async () =>
        (await a.send(new ListBucketsCommand({}))).Buckets?.some((x) => x.Name === 'short-lived') ? undefined : true,
      10_000,
      'A no longer lists the bucket',
    )
  })

  it('every catalog a publish superseded has its deals ended; the latest is kept', async () => {
    const name = catalogNames(privateKey).bucket('shared')
    const history = store.history(name)
    assert.ok(history.length >= 4, `${history.length} publishes`)
    await waitFor(
      () => history.slice(0, -1).every((capability) => files.removed.includes(capability)),
      10_000,
      'the superseded catalogs removed',
    )
    assert.ok(!files.removed.includes(store.history(name).at(-1)!))
  })

  it('a third gateway started later sees everything at start', async () => {
    const c = await start(100)
    assert.deepEqual(
      (await c.send(new ListBucketsCommand({}))).Buckets?.map((x) => x.Name),
      ['shared'],
    )
    await waitFor(async () => ((await keys(c, 'shared')).join() === 'race' ? true : undefined), 10_000, 'C lists race')
  })
})

describe('S3 API with the catalog on (the whole suite)', () => {
  let gateway: Gateway
  let dataDir: string
  let credentials: Awaited<ReturnType<typeof s3Credentials>>
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-s3-names-suite-'))
    const s3Names = { store: createMemoryNameStore(), privateKey, flushMs: 50 }
    gateway = createGateway({ files: createMemoryFileService(), s3Names }, { dataDir, port: 0, s3Port: 0 })
    await gateway.start()
    credentials = await s3Credentials(dataDir)
  })
  after(async () => {
    await gateway.stop()
    await rm(dataDir, { recursive: true, force: true })
  })
  s3Suite(() => ({ credentials, bucketPrefix: 'names' }))
})

describe('S3 through names: bounds, an older network, a name store that is down', () => {
  const dirs: string[] = []
  const running: Gateway[] = []
  const files = createMemoryFileService()
  const start = async (
    s3Names: NonNullable<Parameters<typeof createGateway>[0]['s3Names']>,
    dataDir?: string,
  ): Promise<{ s3: S3Client; gateway: Gateway; dataDir: string }> => {
    const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'cairn-s3-names-')))
    if (dataDir === undefined) dirs.push(dir)
    const gateway = createGateway({ files, s3Names }, { dataDir: dir, port: 0, s3Port: 0 })
    running.push(gateway)
    await gateway.start()
    return { s3: s3Client(await s3Credentials(dir)), gateway, dataDir: dir }
  }
  after(async () => {
    for (const gateway of running) await gateway.stop()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  })

  it('a new key beyond the bucket bound is TooManyKeys, before any byte is stored; existing keys still change', async () => {
    const { s3 } = await start({ store: createMemoryNameStore(), privateKey, flushMs: 50, maxKeys: 3 })
    await s3.send(new CreateBucketCommand({ Bucket: 'small' }))
    for (const key of ['a', 'b', 'c']) await s3.send(new PutObjectCommand({ Bucket: 'small', Key: key, Body: key }))
    const error = await s3.send(new PutObjectCommand({ Bucket: 'small', Key: 'd', Body: 'd' })).then(
      () => undefined,
      (e: unknown) => e as { name: string; message: string },
    )
    assert.equal(error?.name, 'TooManyKeys')
    assert.match(error?.message ?? '', /Bucket small holds 3 keys, the most a Cairn bucket catalog keeps/)
    assert.ok(!(await files.list()).some((f) => f.name === 'd'), 'no byte of the refused object was stored')
    await s3.send(new PutObjectCommand({ Bucket: 'small', Key: 'a', Body: 'a again' }))
    assert.equal(await text(s3, 'small', 'a'), 'a again')
  })

  it('on a network without a Names contract: one log line, and S3 works from the index alone', async () => {
    const lines: string[] = []
    const write = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      lines.push(String(chunk))
      return write(chunk, ...rest)
    }) as typeof process.stderr.write
    try {
      const client = { contracts: {}, account: { address: `0x${'00'.repeat(20)}` } } as never
      const { s3 } = await start({ client, privateKey })
      await s3.send(new CreateBucketCommand({ Bucket: 'local' }))
      await s3.send(new PutObjectCommand({ Bucket: 'local', Key: 'k', Body: 'here' }))
      assert.equal(await text(s3, 'local', 'k'), 'here')
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'local' }))
      assert.deepEqual(
        listed.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size]),
        [['k', 'null', true, 4]],
      )
    } finally {
      process.stderr.write = write
    }
    const said = lines.filter((l) => l.includes('this network has no Names contract'))
    assert.equal(said.length, 1, lines.join(''))
    assert.match(said[0]!, /buckets stay in this gateway's index only/)
  })

  it('a chain that stops answering does not stall S3: requests are served from the index within seconds', async () => {
    const store = createMemoryNameStore()
    let hang = false
    let hung = 0
    const hanging: typeof store = {
      ...store,
      sequence: (name, options = {}) => {
        if (!hang) return store.sequence(name, options)
        hung++
        return new Promise((_, reject) =>
          options.signal?.addEventListener('abort', () => reject(options.signal?.reason)),
        )
      },
    }
    const { s3 } = await start({ store: hanging, privateKey, flushMs: 50 })
    await s3.send(new CreateBucketCommand({ Bucket: 'steady' }))
    await s3.send(new PutObjectCommand({ Bucket: 'steady', Key: 'k', Body: 'still here' }))
    hang = true
    // requests go on until one meets the hanging read (once the cached sequence is a second old)
    const took = await waitFor(
      async () => {
        const started = Date.now()
        assert.equal(await text(s3, 'steady', 'k'), 'still here')
        return hung > 0 ? Date.now() - started : undefined
      },
      20_000,
      'a request that met the hanging chain',
    )
    assert.ok(took < 8000, `took ${took} ms`)
    assert.deepEqual(await keys(s3, 'steady'), ['k'])
  })

  it('a write a gateway could not publish (its name store down) is published at its next start', async () => {
    const store = createMemoryNameStore()
    let down = true
    const flaky: typeof store = {
      ...store,
      update: (name, update, options) =>
        down ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8545')) : store.update(name, update, options),
    }
    const first = await start({ store: flaky, privateKey, flushMs: 50 })
    await first.s3.send(new CreateBucketCommand({ Bucket: 'kept' }))
    await first.s3.send(new PutObjectCommand({ Bucket: 'kept', Key: 'k', Body: 'written while down' }))
    await first.gateway.stop()
    assert.equal(store.history(catalogNames(privateKey).buckets).length, 0, 'nothing was published')
    down = false
    await start({ store: flaky, privateKey, flushMs: 50 }, first.dataDir)
    const other = await start({ store, privateKey, flushMs: 50 })
    await waitFor(
      async () => ((await keys(other.s3, 'kept').catch((): string[] => [])).includes('k') ? true : undefined),
      10_000,
      'another gateway lists the object',
    )
    assert.equal(await text(other.s3, 'kept', 'k'), 'written while down')
  })
})
