/**
 * One record of the files a user stored (issue 11), and removing files through the gateway (issue 15): the gateway
 * lists what the user's record holds, moves an earlier gateway's own table into it once, ends a file's deals on
 * DELETE, and ends the deals of an S3 object's data when the object is deleted or replaced, unless another object
 * still holds it.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, it } from 'node:test'
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import { createApiClient, createGateway, type Gateway, s3Credentials } from '../../src/api/index.ts'
import { waitFor } from '../wait-for.ts'
import { createMemoryFileService, type MemoryFileService } from './memory-file-service.ts'
import { s3Client } from './s3-suite.ts'

const dirs: string[] = []
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))))

async function startGateway(
  dataDir?: string,
): Promise<{ gateway: Gateway; files: MemoryFileService; dataDir: string }> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'cairn-records-')))
  dirs.push(dir)
  const files = createMemoryFileService()
  const gateway = createGateway({ files }, { dataDir: dir, port: 0, s3Port: 0, rateLimit: false })
  await gateway.start()
  return { gateway, files, dataDir: dir }
}

describe("the user's one record of stored files", () => {
  it('moves the files an earlier gateway listed in its own table into the record, once, and drops the table', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cairn-records-legacy-'))
    dirs.push(dataDir)
    const db = new DatabaseSync(join(dataDir, 'index.sqlite'))
    db.exec(`CREATE TABLE files (capability TEXT PRIMARY KEY, manifest TEXT NOT NULL, name TEXT, type TEXT,
      size INTEGER NOT NULL, k INTEGER NOT NULL, n INTEGER NOT NULL, created_at INTEGER NOT NULL)`)
    db.prepare('INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      'cairn:bafyold#key',
      'bafyold',
      'old.txt',
      'text/plain',
      12,
      1,
      3,
      1_700_000_000_000,
    )
    db.close()
    const { gateway } = await startGateway(dataDir)
    try {
      const api = createApiClient({ url: gateway.url, token: gateway.token })
      const listed = await api.files()
      assert.deepEqual(
        listed.map((f) => [f.capability, f.name, f.type, f.size]),
        [['cairn:bafyold#key', 'old.txt', 'text/plain', 12]],
      )
    } finally {
      await gateway.stop()
    }
    const after = new DatabaseSync(join(dataDir, 'index.sqlite'))
    const table = after.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'files'").get()
    after.close()
    assert.equal(table, undefined, 'the old table is gone')
  })

  it('DELETE /api/v1/files/CAP ends the deals of an API upload and forgets it; an S3 object file is refused', async () => {
    const { gateway, files, dataDir } = await startGateway()
    try {
      const api = createApiClient({ url: gateway.url, token: gateway.token })
      const put = await api.upload(new TextEncoder().encode('hello'), { name: 'a.txt' })
      const s3 = s3Client(await s3Credentials(dataDir))
      await s3.send(new CreateBucketCommand({ Bucket: 'records' }))
      await s3.send(new PutObjectCommand({ Bucket: 'records', Key: 'k', Body: 'object data' }))
      const objectFile = (await api.files()).find((f) => f.capability !== put.capability)!
      const refused = await fetch(`${gateway.url}/api/v1/files/${encodeURIComponent(objectFile.capability)}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${gateway.token}` },
      })
      assert.equal(refused.status, 400)
      assert.match(
        ((await refused.json()) as { error: { message: string } }).error.message,
        /holds the data of an S3 object: delete the object through S3 instead/,
      )
      await api.forget(put.capability)
      assert.deepEqual(files.removed, [put.capability])
      assert.deepEqual(
        (await api.files()).map((f) => f.capability),
        [objectFile.capability],
      )
    } finally {
      await gateway.stop()
    }
  })

  it('S3 DeleteObject, DeleteObjects and overwrites end the deals of data no object holds any more', async () => {
    const { gateway, files, dataDir } = await startGateway()
    try {
      const api = createApiClient({ url: gateway.url, token: gateway.token })
      const s3 = s3Client(await s3Credentials(dataDir))
      await s3.send(new CreateBucketCommand({ Bucket: 'records' }))
      const capabilities = async () => new Set((await api.files()).map((f) => f.capability))
      await s3.send(new PutObjectCommand({ Bucket: 'records', Key: 'one', Body: 'first version' }))
      const [first] = await capabilities()
      // A copy shares the data: deleting the original keeps it.
      await s3.send(new CopyObjectCommand({ Bucket: 'records', Key: 'copy', CopySource: 'records/one' }))
      await s3.send(new DeleteObjectCommand({ Bucket: 'records', Key: 'one' }))
      assert.deepEqual(files.removed, [])
      // Overwriting the copy releases the shared data.
      await s3.send(new PutObjectCommand({ Bucket: 'records', Key: 'copy', Body: 'second version' }))
      await waitFor(() => (files.removed.length === 1 ? true : undefined), 5_000, 'the replaced data to be removed')
      assert.deepEqual(files.removed, [first])
      const second = [...(await capabilities())]
      await s3.send(new DeleteObjectsCommand({ Bucket: 'records', Delete: { Objects: [{ Key: 'copy' }] } }))
      await waitFor(() => (files.removed.length === 2 ? true : undefined), 5_000, 'the deleted data to be removed')
      assert.deepEqual(files.removed, [first, ...second])
      assert.deepEqual([...(await capabilities())], [])
    } finally {
      await gateway.stop()
    }
  })
})
