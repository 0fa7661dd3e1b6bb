import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import { createGateway, type Gateway, type S3Credentials, s3Credentials } from '../../src/api/index.ts'
import { createMemoryFileService } from './memory-file-service.ts'
import { multipartRoundTrip, s3Client, s3Suite } from './s3-suite.ts'

describe('S3 API over an in-memory file service (AWS SDK v3)', () => {
  let gateway: Gateway
  let dataDir: string
  let credentials: S3Credentials
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-s3-'))
    gateway = createGateway({ files: createMemoryFileService() }, { dataDir, port: 0, s3Port: 0 })
    await gateway.start()
    credentials = await s3Credentials(dataDir)
  })
  after(async () => {
    await gateway.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  s3Suite(() => ({ credentials, bucketPrefix: 'memory' }))

  it('round-trips a 12 MiB multipart object (parts span a range read)', async () => {
    const s3 = s3Client(credentials)
    await s3.send(new CreateBucketCommand({ Bucket: 'multipart' }))
    await multipartRoundTrip(s3, 'multipart', 'big/object.bin', 12 * 1024 * 1024 + 123, 5 * 1024 * 1024)
  })
})
