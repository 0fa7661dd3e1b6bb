/**
 * Multipart uploads are staged on the gateway's disk and become ONE Cairn file at CompleteMultipartUpload
 * (one deal on chain), checked with the AWS SDK v3 against a real gateway over an in-memory file service.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { openGatewayIndex } from '../../src/api/gateway-database.ts'
import { createGateway, type Gateway, type PutInit, type S3Credentials, s3Credentials } from '../../src/api/index.ts'
import { UnreachableError } from '../../src/errors.ts'
import { createMemoryFileService, type MemoryFileService } from './memory-file-service.ts'
import { s3Client } from './s3-suite.ts'

const MiB = 1024 * 1024
const BUCKET = 'staged'

interface RecordingFiles extends MemoryFileService {
  puts: Array<{ init: PutInit; size: number }>
  failPuts: number
}

/** The in-memory service, recording every put and failing the next `failPuts` of them (after reading the body). */
function recordingFiles(): RecordingFiles {
  const inner = createMemoryFileService()
  const files: RecordingFiles = Object.assign(Object.create(null) as RecordingFiles, inner, {
    puts: [] as RecordingFiles['puts'],
    failPuts: 0,
    async put(...args: Parameters<MemoryFileService['put']>) {
      const [source, init, options] = args
      if (files.failPuts > 0) {
        files.failPuts--
        for await (const _ of source) {
          // read the body as a real upload would before the network fails
        }
        throw new UnreachableError('no storage node answered (test)')
      }
      const result = await inner.put(source, init, options)
      files.puts.push({ init, size: result.size })
      return result
    },
  })
  return files
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

async function bodyBytes(body: unknown): Promise<Buffer> {
  return Buffer.from(await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())
}

async function listing(path: string): Promise<string[] | 'missing'> {
  try {
    return (await readdir(path)).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    throw err
  }
}

const md5Hex = (bytes: Uint8Array): string => createHash('md5').update(bytes).digest('hex')

describe('S3 multipart uploads staged on the gateway, stored as one Cairn file', { timeout: 60_000 }, () => {
  let gateway: Gateway
  let dataDir: string
  let credentials: S3Credentials
  let files: RecordingFiles
  let s3: S3Client
  const staging = (uploadId = ''): string => join(dataDir, 'multipart', uploadId)

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-s3-multipart-'))
    files = recordingFiles()
    gateway = createGateway({ files }, { dataDir, port: 0, s3Port: 0, rateLimit: false })
    await gateway.start()
    credentials = await s3Credentials(dataDir)
    s3 = s3Client(credentials)
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }))
  })
  after(async () => {
    await gateway?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  async function upload(key: string): Promise<string> {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'application/x-parts' }),
    )
    return UploadId!
  }

  async function part(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string> {
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }),
    )
    return ETag!
  }

  it('stores a three-part upload as exactly one file put, byte-equal, with the multipart ETag', async () => {
    const key = 'one/file.bin'
    const data = randomBytes(11 * MiB + 4321)
    const pieces = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB, 10 * MiB), data.subarray(10 * MiB)]
    const uploadId = await upload(key)
    const putsBefore = files.puts.length
    const etags: string[] = []
    for (const [i, bytes] of pieces.entries()) etags.push(await part(key, uploadId, i + 1, bytes))
    assert.deepEqual(
      etags,
      pieces.map((p) => `"${md5Hex(p)}"`),
    )
    assert.equal(files.puts.length, putsBefore, 'UploadPart stores nothing in the network')
    assert.equal((await listing(staging(uploadId))).length, 3, 'three parts staged on the gateway disk')
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))
    assert.deepEqual(
      listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]),
      pieces.map((p, i) => [i + 1, p.length, etags[i]]),
    )
    const inProgress = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))
    assert.ok(inProgress.Uploads?.some((u) => u.UploadId === uploadId && u.Key === key))

    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
      }),
    )
    const expectedEtag = `"${createHash('md5')
      .update(Buffer.concat(pieces.map((p) => createHash('md5').update(p).digest())))
      .digest('hex')}-3"`
    assert.equal(done.ETag, expectedEtag)
    assert.equal(files.puts.length, putsBefore + 1, 'Complete stores the object as ONE Cairn file')
    assert.deepEqual(files.puts.at(-1), { init: { name: key, type: 'application/x-parts' }, size: data.length })
    assert.equal(await listing(staging(uploadId)), 'missing', 'the staging folder is removed')

    const index = openGatewayIndex(dataDir)
    try {
      const object = index.getObject(BUCKET, key)
      assert.equal(object?.parts.length, 1)
      assert.equal(object?.parts[0]?.size, data.length)
      assert.deepEqual(index.listParts(uploadId), [])
    } finally {
      index.close()
    }
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))
    assert.equal(head.ContentLength, data.length)
    assert.equal(head.ETag, expectedEtag)
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    assert.ok((await bodyBytes(got.Body)).equals(data), 'object bytes equal')
    const from = 5 * MiB - 10
    const range = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: `bytes=${from}-${from + 99}` }))
    assert.ok((await bodyBytes(range.Body)).equals(data.subarray(from, from + 100)))
    const gone = await s3Error(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId })))
    assert.equal(gone.name, 'NoSuchUpload')
  })

  it('refuses a part whose Content-MD5 is wrong and leaves nothing staged', async () => {
    const key = 'bad-md5.bin'
    const uploadId = await upload(key)
    const body = randomBytes(300_000)
    const bad = await s3Error(
      s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          PartNumber: 1,
          Body: body,
          ContentMD5: createHash('md5').update('something else').digest('base64'),
        }),
      ),
    )
    assert.equal(bad.name, 'BadDigest')
    const staged = await listing(staging(uploadId))
    assert.ok(staged === 'missing' || staged.length === 0, `nothing staged, found ${String(staged)}`)
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))
    assert.deepEqual(listed.Parts ?? [], [])
    // the right digest is accepted
    await s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        PartNumber: 1,
        Body: body,
        ContentMD5: createHash('md5').update(body).digest('base64'),
      }),
    )
    assert.equal((await listing(staging(uploadId))).length, 1)
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))
  })

  it('abort removes the staging folder and the upload', async () => {
    const key = 'aborted.bin'
    const uploadId = await upload(key)
    await part(key, uploadId, 1, randomBytes(100_000))
    await part(key, uploadId, 2, randomBytes(1000))
    assert.equal((await listing(staging(uploadId))).length, 2)
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))
    assert.equal(await listing(staging(uploadId)), 'missing')
    const after = await s3Error(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId })))
    assert.equal(after.name, 'NoSuchUpload')
    const again = await s3Error(
      s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId })),
    )
    assert.equal(again.name, 'NoSuchUpload')
  })

  it('a re-uploaded part number replaces the old part, on disk and in the object', async () => {
    const key = 'replaced.bin'
    const uploadId = await upload(key)
    const first = randomBytes(5 * MiB)
    const second = randomBytes(5 * MiB)
    const tail = randomBytes(777)
    const oldEtag = await part(key, uploadId, 1, first)
    const newEtag = await part(key, uploadId, 1, second)
    const tailEtag = await part(key, uploadId, 2, tail)
    assert.equal((await listing(staging(uploadId))).length, 2, 'the replaced part file is deleted')
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))
    assert.deepEqual(
      listed.Parts?.map((p) => [p.PartNumber, p.ETag]),
      [
        [1, newEtag],
        [2, tailEtag],
      ],
    )
    const stale = await s3Error(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: oldEtag },
              { PartNumber: 2, ETag: tailEtag },
            ],
          },
        }),
      ),
    )
    assert.equal(stale.name, 'InvalidPart')
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: newEtag },
            { PartNumber: 2, ETag: tailEtag },
          ],
        },
      }),
    )
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    assert.ok((await bodyBytes(got.Body)).equals(Buffer.concat([second, tail])))
  })

  it('a failed put keeps the upload open and records no object; Complete can be retried', async () => {
    const key = 'retry.bin'
    const uploadId = await upload(key)
    const one = randomBytes(5 * MiB)
    const two = randomBytes(12_345)
    const parts = [
      { PartNumber: 1, ETag: await part(key, uploadId, 1, one) },
      { PartNumber: 2, ETag: await part(key, uploadId, 2, two) },
    ]
    files.failPuts = 1
    const failed = await s3Error(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      ),
    )
    assert.equal(failed.$metadata.httpStatusCode, 503)
    const head = await s3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })))
    assert.equal(head.$metadata.httpStatusCode, 404)
    assert.equal((await listing(staging(uploadId))).length, 2, 'the staged parts are kept')
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    )
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    assert.ok((await bodyBytes(got.Body)).equals(Buffer.concat([one, two])))
    assert.equal(await listing(staging(uploadId)), 'missing')
  })

  it('objects and open uploads of the old scheme (one Cairn file per part) still read and complete', async () => {
    const a = randomBytes(5 * MiB)
    const b = randomBytes(70_000)
    const fileA = await files.put(
      (async function* () {
        yield a
      })(),
      { name: 'legacy.part1' },
    )
    const fileB = await files.put(
      (async function* () {
        yield b
      })(),
      { name: 'legacy.part2' },
    )
    const index = openGatewayIndex(dataDir)
    try {
      index.putObject({
        bucket: BUCKET,
        key: 'legacy-object',
        size: a.length + b.length,
        etag: '"0123456789abcdef0123456789abcdef-2"',
        contentType: 'binary/octet-stream',
        metadata: {},
        parts: [
          { capability: fileA.capability, size: a.length },
          { capability: fileB.capability, size: b.length },
        ],
        lastModified: Date.now(),
      })
      index.createUpload({
        uploadId: 'legacyUpload',
        bucket: BUCKET,
        key: 'legacy-upload',
        contentType: 'binary/octet-stream',
        metadata: {},
        createdAt: Date.now(),
      })
      index.putPart('legacyUpload', { partNumber: 1, capability: fileA.capability, size: a.length, md5: md5Hex(a) })
      index.putPart('legacyUpload', { partNumber: 2, capability: fileB.capability, size: b.length, md5: md5Hex(b) })
    } finally {
      index.close()
    }
    const whole = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'legacy-object' }))
    assert.ok((await bodyBytes(whole.Body)).equals(Buffer.concat([a, b])))
    const from = a.length - 5
    const range = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'legacy-object', Range: `bytes=${from}-${from + 9}` }),
    )
    assert.ok((await bodyBytes(range.Body)).equals(Buffer.concat([a, b]).subarray(from, from + 10)))

    const putsBefore = files.puts.length
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'legacy-upload',
        UploadId: 'legacyUpload',
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: `"${md5Hex(a)}"` },
            { PartNumber: 2, ETag: `"${md5Hex(b)}"` },
          ],
        },
      }),
    )
    assert.equal(files.puts.length, putsBefore + 1)
    const completed = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'legacy-upload' }))
    assert.ok((await bodyBytes(completed.Body)).equals(Buffer.concat([a, b])))
  })

  it('on start, removes staged parts of uploads that no longer exist and stray files, keeps live ones', async () => {
    const key = 'survives-restart.bin'
    const uploadId = await upload(key)
    const body = randomBytes(50_000)
    const etag = await part(key, uploadId, 1, body)
    await gateway.stop()
    // what a crash can leave: a folder of an upload the index forgot, a temp file of a part being written
    await mkdir(staging('vanishedUpload'), { recursive: true })
    await writeFile(join(staging('vanishedUpload'), '1.abcdef'), 'orphan')
    await writeFile(join(staging(uploadId), '.2.123456.tmp'), 'half a part')
    gateway = createGateway({ files }, { dataDir, port: 0, s3Port: 0, rateLimit: false })
    await gateway.start()
    s3 = s3Client(await s3Credentials(dataDir))
    assert.equal(await listing(staging('vanishedUpload')), 'missing')
    assert.equal((await listing(staging(uploadId))).length, 1)
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] },
      }),
    )
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    assert.ok((await bodyBytes(got.Body)).equals(body))
    assert.deepEqual(await listing(staging()), [])
  })
})
