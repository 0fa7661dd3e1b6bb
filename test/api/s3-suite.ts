/**
 * S3 compliance suite: what the official AWS SDK v3 expects of Cairn's S3 endpoint. Run by s3.test.ts over an
 * in-memory file service and by s3-devnet.test.ts over a real devnet.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { it } from 'node:test'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { S3Credentials } from '../../src/api/index.ts'

export function s3Client(credentials: S3Credentials, secret = credentials.secretAccessKey): S3Client {
  return new S3Client({
    endpoint: credentials.endpoint,
    region: credentials.region,
    forcePathStyle: true,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: secret },
    maxAttempts: 1,
  })
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  const stream = body as { transformToByteArray(): Promise<Uint8Array> }
  return Buffer.from(await stream.transformToByteArray())
}

async function s3Error(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise
  } catch (err) {
    if (err instanceof S3ServiceException) return err
    throw err
  }
  throw new assert.AssertionError({ message: 'expected an S3 error' })
}

export function s3Suite(setup: () => { credentials: S3Credentials; bucketPrefix: string }): void {
  const bucket = (): string => `${setup().bucketPrefix}-main`
  const client = (): S3Client => s3Client(setup().credentials)

  it('creates and lists buckets; a second CreateBucket is BucketAlreadyOwnedByYou', async () => {
    const s3 = client()
    await s3.send(new CreateBucketCommand({ Bucket: bucket() }))
    const { Buckets } = await s3.send(new ListBucketsCommand({}))
    assert.ok(Buckets?.some((b) => b.Name === bucket()))
    const again = await s3Error(s3.send(new CreateBucketCommand({ Bucket: bucket() })))
    assert.equal(again.name, 'BucketAlreadyOwnedByYou')
    const invalid = await s3Error(s3.send(new CreateBucketCommand({ Bucket: 'No_Such' })))
    assert.equal(invalid.name, 'InvalidBucketName')
  })

  it('puts objects from a buffer and from a stream, and gets them back whole and by range', async () => {
    const s3 = client()
    const data = randomBytes(200_000)
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket(),
        Key: 'dir/a b+c.bin',
        Body: data,
        ContentType: 'application/x-test',
        Metadata: { owner: 'ada' },
      }),
    )
    assert.equal(put.ETag, `"${createHash('md5').update(data).digest('hex')}"`)
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: 'dir/a b+c.bin' }))
    assert.deepEqual(await bodyBytes(got.Body), data)
    assert.equal(got.ContentType, 'application/x-test')
    assert.equal(got.Metadata?.owner, 'ada')
    assert.equal(got.ETag, put.ETag)
    const range = await s3.send(
      new GetObjectCommand({ Bucket: bucket(), Key: 'dir/a b+c.bin', Range: 'bytes=100-199' }),
    )
    assert.equal(range.ContentRange, `bytes 100-199/${data.length}`)
    assert.deepEqual(await bodyBytes(range.Body), data.subarray(100, 200))
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket(), Key: 'dir/a b+c.bin' }))
    assert.equal(head.ContentLength, data.length)

    const streamed = randomBytes(150_000)
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket(),
        Key: 'dir/streamed.bin',
        Body: Readable.from([streamed.subarray(0, 70_000), streamed.subarray(70_000)]),
        ContentLength: streamed.length,
      }),
    )
    const back = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: 'dir/streamed.bin' }))
    assert.deepEqual(await bodyBytes(back.Body), streamed)
  })

  it('answers NoSuchKey, NoSuchBucket, InvalidRange and SignatureDoesNotMatch as S3 XML errors', async () => {
    const s3 = client()
    const missing = await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket(), Key: 'nope' })))
    assert.equal(missing.name, 'NoSuchKey')
    assert.equal(missing.$metadata.httpStatusCode, 404)
    const noBucket = await s3Error(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' })))
    assert.equal(noBucket.name, 'NoSuchBucket')
    const noBucketList = await s3Error(s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' })))
    assert.equal(noBucketList.name, 'NoSuchBucket')
    const badRange = await s3Error(
      s3.send(new GetObjectCommand({ Bucket: bucket(), Key: 'dir/a b+c.bin', Range: 'bytes=999999-' })),
    )
    assert.equal(badRange.name, 'InvalidRange')
    assert.equal(badRange.$metadata.httpStatusCode, 416)
    const forged = s3Client(setup().credentials, 'not-the-secret')
    const denied = await s3Error(forged.send(new ListBucketsCommand({})))
    assert.equal(denied.name, 'SignatureDoesNotMatch')
    assert.equal(denied.$metadata.httpStatusCode, 403)
    const deniedPut = await s3Error(forged.send(new PutObjectCommand({ Bucket: bucket(), Key: 'forged', Body: 'x' })))
    assert.equal(deniedPut.name, 'SignatureDoesNotMatch')
    const badDigest = await s3Error(
      s3.send(new PutObjectCommand({ Bucket: bucket(), Key: 'bad-crc', Body: 'hello', ChecksumCRC32: 'AAAAAA==' })),
    )
    assert.equal(badDigest.name, 'BadDigest')
    assert.equal(
      (await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket(), Key: 'bad-crc' })))).$metadata.httpStatusCode,
      404,
    )
    const unknownKey = s3Client({ ...setup().credentials, accessKeyId: 'AKIDUNKNOWN' })
    assert.equal((await s3Error(unknownKey.send(new ListBucketsCommand({})))).name, 'InvalidAccessKeyId')
    // the raw answer is S3's XML
    const raw = await fetch(`${setup().credentials.endpoint}/${bucket()}/nope`)
    assert.equal(raw.status, 403)
    const xml = await raw.text()
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code><Message>/)
  })

  it('lists with prefix, delimiter and continuation tokens', async () => {
    const s3 = client()
    const listBucket = `${setup().bucketPrefix}-list`
    await s3.send(new CreateBucketCommand({ Bucket: listBucket }))
    const keys = ['a/1', 'a/2', 'a/sub/3', 'b/4', 'b/5', 'c', 'd']
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: listBucket, Key: key, Body: key }))
    const top = await s3.send(new ListObjectsV2Command({ Bucket: listBucket, Delimiter: '/' }))
    assert.deepEqual(
      top.CommonPrefixes?.map((p) => p.Prefix),
      ['a/', 'b/'],
    )
    assert.deepEqual(
      top.Contents?.map((o) => o.Key),
      ['c', 'd'],
    )
    const underA = await s3.send(new ListObjectsV2Command({ Bucket: listBucket, Prefix: 'a/', Delimiter: '/' }))
    assert.deepEqual(
      underA.Contents?.map((o) => o.Key),
      ['a/1', 'a/2'],
    )
    assert.deepEqual(
      underA.CommonPrefixes?.map((p) => p.Prefix),
      ['a/sub/'],
    )
    const seen: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: listBucket, MaxKeys: 2, ContinuationToken: token }))
      seen.push(...(page.Contents ?? []).map((o) => o.Key!))
      token = page.NextContinuationToken
      pages++
      assert.equal(page.IsTruncated, token !== undefined)
    } while (token !== undefined)
    assert.deepEqual(seen, keys)
    assert.equal(pages, 4)
    const paged: string[] = []
    token = undefined
    do {
      const page: ListObjectsV2CommandOutput = await s3.send(
        new ListObjectsV2Command({ Bucket: listBucket, MaxKeys: 1, Delimiter: '/', ContinuationToken: token }),
      )
      paged.push(...(page.Contents ?? []).map((o) => o.Key!), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!))
      token = page.NextContinuationToken
    } while (token !== undefined)
    assert.deepEqual(paged, ['a/', 'b/', 'c', 'd'])
    const notEmpty = await s3Error(s3.send(new DeleteBucketCommand({ Bucket: listBucket })))
    assert.equal(notEmpty.name, 'BucketNotEmpty')
    await s3.send(new DeleteObjectsCommand({ Bucket: listBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }))
    await s3.send(new DeleteBucketCommand({ Bucket: listBucket }))
    const gone = await s3Error(s3.send(new ListObjectsV2Command({ Bucket: listBucket })))
    assert.equal(gone.name, 'NoSuchBucket')
  })

  it('deletes objects (idempotently) and copies them', async () => {
    const s3 = client()
    await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: 'to-copy', Body: 'copy me' }))
    await s3.send(new CopyObjectCommand({ Bucket: bucket(), Key: 'copied', CopySource: `${bucket()}/to-copy` }))
    await s3.send(new DeleteObjectCommand({ Bucket: bucket(), Key: 'to-copy' }))
    await s3.send(new DeleteObjectCommand({ Bucket: bucket(), Key: 'to-copy' }))
    assert.equal(
      (await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket(), Key: 'to-copy' })))).$metadata.httpStatusCode,
      404,
    )
    const copied = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: 'copied' }))
    assert.equal((await bodyBytes(copied.Body)).toString(), 'copy me')
  })

  it('serves presigned GET URLs and refuses tampered ones', async () => {
    const s3 = client()
    await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: 'shared.txt', Body: 'presigned hello' }))
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket(), Key: 'shared.txt' }), { expiresIn: 60 })
    const ok = await fetch(url)
    assert.equal(ok.status, 200)
    assert.equal(await ok.text(), 'presigned hello')
    const tampered = await fetch(url.replace('shared.txt', 'copied'))
    assert.equal(tampered.status, 403)
    assert.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/)
  })

  it('aborts multipart uploads and refuses parts below 5 MiB except the last', async () => {
    const s3 = client()
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket(), Key: 'small-parts' }))
    const one = await s3.send(
      new UploadPartCommand({ Bucket: bucket(), Key: 'small-parts', UploadId, PartNumber: 1, Body: 'a' }),
    )
    const two = await s3.send(
      new UploadPartCommand({ Bucket: bucket(), Key: 'small-parts', UploadId, PartNumber: 2, Body: 'b' }),
    )
    const tooSmall = await s3Error(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket(),
          Key: 'small-parts',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: one.ETag },
              { PartNumber: 2, ETag: two.ETag },
            ],
          },
        }),
      ),
    )
    assert.equal(tooSmall.name, 'EntityTooSmall')
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket(), Key: 'small-parts', UploadId }))
    const aborted = await s3Error(
      s3.send(new UploadPartCommand({ Bucket: bucket(), Key: 'small-parts', UploadId, PartNumber: 3, Body: 'c' })),
    )
    assert.equal(aborted.name, 'NoSuchUpload')
  })
}

/**
 * Uploads `size` bytes in parts of `partSize` with the SDK's multipart commands, reads the object back whole
 * (compared by SHA-256, streaming) and over a range that spans two parts.
 */
export async function multipartRoundTrip(
  s3: S3Client,
  bucket: string,
  key: string,
  size: number,
  partSize: number,
): Promise<void> {
  const data = randomBytes(size)
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/x-big' }),
  )
  const parts: Array<{ PartNumber: number; ETag: string }> = []
  for (let at = 0, number = 1; at < size; at += partSize, number++) {
    const { ETag } = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        PartNumber: number,
        Body: data.subarray(at, at + partSize),
      }),
    )
    parts.push({ PartNumber: number, ETag: ETag! })
  }
  const done = await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  )
  assert.match(done.ETag ?? '', new RegExp(`-${parts.length}"$`))
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
  assert.equal(head.ContentLength, size)
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  const hash = createHash('sha256')
  let received = 0
  for await (const chunk of got.Body as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    received += chunk.byteLength
  }
  assert.equal(received, size)
  assert.equal(
    hash.digest('hex'),
    createHash('sha256').update(data).digest('hex'),
    'multipart object read back differs',
  )
  const from = partSize - 1000
  const range = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${from}-${from + 2999}` }))
  assert.deepEqual(await bodyBytes(range.Body), data.subarray(from, from + 3000))
}
