/**
 * Attacks on the S3 endpoint (issue 12, finding 6) with the real AWS SDK v3: a signed request or presigned URL
 * altered after signing (extra unsigned headers, another body), presigned URLs dated in the future, and bodies that
 * fail their hash. Each attack must leave no object behind and cost no `files.put` (no file, no deal).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { createGateway, type Gateway, type S3Credentials, s3Credentials } from '../../src/api/index.ts'
import { createMemoryFileService } from './memory-file-service.ts'
import { s3Client } from './s3-suite.ts'

const BUCKET = 'attacks'
const DAY_MS = 24 * 3600_000

async function s3Error(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise
  } catch (err) {
    if (err instanceof S3ServiceException) return err
    throw err
  }
  throw new assert.AssertionError({ message: 'expected an S3 error' })
}

interface SentRequest {
  headers: Record<string, string>
  body?: unknown
}

/** An SDK client whose requests `alter` changes after they were signed (as a proxy or a replayer would). */
function tamperingClient(credentials: S3Credentials, alter: (request: SentRequest) => void): S3Client {
  const s3 = s3Client(credentials)
  s3.middlewareStack.add(
    (next) => async (args) => {
      alter(args.request as SentRequest)
      return next(args)
    },
    { step: 'deserialize', name: 'tamperAfterSigning' },
  )
  return s3
}

describe('S3 endpoint under attack (AWS SDK v3 and raw signed requests)', () => {
  let gateway: Gateway
  let dataDir: string
  let credentials: S3Credentials
  let puts = 0
  let s3: S3Client

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-s3-attacks-'))
    const files = createMemoryFileService()
    const put = files.put.bind(files)
    const counting = {
      ...files,
      put: (...args: Parameters<typeof put>) => {
        puts++
        return put(...args)
      },
    }
    gateway = createGateway({ files: counting }, { dataDir, port: 0, s3Port: 0 })
    await gateway.start()
    credentials = await s3Credentials(dataDir)
    s3 = s3Client(credentials)
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'secret.txt', Body: 'the secret' }))
  })
  after(async () => {
    await gateway.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('refuses an unsigned x-amz-copy-source added to a presigned PUT URL, and copies nothing', async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'dropbox/upload.bin' }), {
      expiresIn: 600,
    })
    const response = await fetch(url, {
      method: 'PUT',
      headers: { 'x-amz-copy-source': `${BUCKET}/secret.txt` },
      body: '',
    })
    const xml = await response.text()
    assert.equal(response.status, 403, xml)
    assert.match(xml, /<Code>AccessDenied<\/Code>/)
    assert.match(xml, /<Message>There were headers present in the request which were not signed<\/Message>/)
    assert.match(xml, /<HeadersNotSigned>x-amz-copy-source<\/HeadersNotSigned>/)
    const head = await s3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'dropbox/upload.bin' })))
    assert.equal(head.$metadata.httpStatusCode, 404)
  })

  it('refuses an unsigned x-amz-copy-source added to a header-signed PutObject', async () => {
    const replayer = tamperingClient(credentials, (request) => {
      request.headers['x-amz-copy-source'] = `${BUCKET}/secret.txt`
    })
    const denied = await s3Error(replayer.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'replayed', Body: '' })))
    assert.equal(denied.name, 'AccessDenied')
    assert.match(denied.message, /not signed/)
    const head = await s3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'replayed' })))
    assert.equal(head.$metadata.httpStatusCode, 404)
  })

  it('refuses a presigned URL dated more than 15 minutes in the future (the 7-day cap holds)', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'secret.txt' }), {
      expiresIn: 7 * 24 * 3600,
      signingDate: new Date(Date.now() + 30 * DAY_MS),
    })
    const response = await fetch(url)
    const xml = await response.text()
    assert.equal(response.status, 403, xml)
    assert.match(xml, /<Code>AccessDenied<\/Code>/)
    assert.match(xml, /X-Amz-Date is more than 15 minutes in the future/)
    // a URL signed a few minutes ahead (a client clock slightly fast) still works
    const skewed = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'secret.txt' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() + 5 * 60_000),
    })
    const ok = await fetch(skewed)
    assert.equal(ok.status, 200)
    assert.equal(await ok.text(), 'the secret')
  })

  it('stores nothing and puts no file when Content-MD5 does not match the body', async () => {
    const before = puts
    const bad = await s3Error(
      s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'bad-md5',
          Body: 'hello',
          ContentMD5: createHash('md5').update('other').digest('base64'),
        }),
      ),
    )
    assert.equal(bad.name, 'BadDigest')
    assert.equal(puts, before, 'a body that failed its Content-MD5 reached the file service (a file and a deal)')
    const head = await s3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'bad-md5' })))
    assert.equal(head.$metadata.httpStatusCode, 404)
    const staged = await readdir(join(dataDir, 'multipart')).catch(() => [])
    assert.deepEqual(staged, [], 'the refused body is left staged on the gateway')
  })

  it('stores nothing and puts no file when the body differs from the signed x-amz-content-sha256', async () => {
    const before = puts
    const swapper = tamperingClient(credentials, (request) => {
      request.body = 'evil!'
    })
    const bad = await s3Error(swapper.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'swapped', Body: 'hello' })))
    assert.equal(bad.name, 'XAmzContentSHA256Mismatch')
    assert.equal(puts, before, 'a body that failed x-amz-content-sha256 reached the file service (a file and a deal)')
    const head = await s3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'swapped' })))
    assert.equal(head.$metadata.httpStatusCode, 404)
  })

  it('still stores an honest PutObject: one put, bytes back', async () => {
    const before = puts
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'honest', Body: 'honest bytes' }))
    assert.equal(puts, before + 1)
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'honest' }))
    assert.equal(await got.Body?.transformToString(), 'honest bytes')
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'honest' }), { expiresIn: 60 })
    const raw = await fetch(url)
    await raw.arrayBuffer()
    assert.equal(raw.headers.get('x-content-type-options'), 'nosniff')
  })
})
