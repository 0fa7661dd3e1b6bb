import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { CorruptDataError } from '../../src/errors.ts'
import { createFsPieceStore, createMemoryPieceStore, pieceCid } from '../../src/storage/index.ts'
import { pieceStoreCompliance } from './piece-store-compliance.ts'

const dirs: string[] = []
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})
async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-store-'))
  dirs.push(dir)
  return dir
}

pieceStoreCompliance('memory', async (init) => ({
  store: createMemoryPieceStore(init),
  teardown: async () => {},
}))

pieceStoreCompliance('fs', async (init) => {
  const path = await tempDir()
  const store = createFsPieceStore({ path, ...init })
  await store.start()
  return { store, teardown: () => store.stop() }
})

const piece = (size: number) => {
  const bytes = new Uint8Array(randomBytes(size))
  return { bytes, cid: pieceCid(bytes) }
}

async function pieceFile(root: string, name: string): Promise<string> {
  for (const a of await readdir(join(root, 'pieces'))) {
    for (const b of await readdir(join(root, 'pieces', a))) {
      if ((await readdir(join(root, 'pieces', a, b))).includes(name)) return join(root, 'pieces', a, b, name)
    }
  }
  throw new Error(`no file for ${name}`)
}

describe('fs piece store', () => {
  it('keeps pieces and usage across a clean restart and recounts after an unclean one', async () => {
    const path = await tempDir()
    const pieces = [piece(1234), piece(5000), piece(1)]
    const first = createFsPieceStore({ path, quota: 1e6 })
    await first.start()
    for (const p of pieces) await first.put(p.cid, p.bytes)
    await first.stop()
    assert.equal(JSON.parse(await readFile(join(path, 'usage.json'), 'utf8')).clean, true)

    const second = createFsPieceStore({ path, quota: 1e6 })
    await second.start()
    assert.deepEqual(second.usage(), { pieces: 3, bytes: 6235, quota: 1e6 })
    for (const p of pieces) assert.deepEqual(await second.get(p.cid), p.bytes)
    const extra = piece(765)
    await second.put(extra.cid, extra.bytes)
    // No stop(): as after a crash. The saved usage is marked unclean, so the next start counts the disk.
    assert.equal(JSON.parse(await readFile(join(path, 'usage.json'), 'utf8')).clean, false)
    const third = createFsPieceStore({ path, quota: 1e6 })
    await third.start()
    assert.deepEqual(third.usage(), { pieces: 4, bytes: 7000, quota: 1e6 })
    await third.stop()
  })

  it('never serves a corrupt or truncated piece: reports it, moves it aside, accepts a repair', async () => {
    const path = await tempDir()
    const store = createFsPieceStore({ path })
    await store.start()
    try {
      const a = piece(4096)
      const b = piece(4096)
      await store.put(a.cid, a.bytes)
      await store.put(b.cid, b.bytes)
      const fileA = await pieceFile(path, a.cid.toString())
      const flipped = Buffer.from(a.bytes)
      flipped[100]! ^= 0x01
      await writeFile(fileA, flipped)
      await assert.rejects(store.get(a.cid), (e: Error) => {
        assert.ok(e instanceof CorruptDataError)
        assert.match(e.message, new RegExp(`piece ${a.cid.toString()} is corrupt`))
        return true
      })
      assert.equal(await store.has(a.cid), false)
      assert.deepEqual(store.usage(), { pieces: 1, bytes: 4096, quota: Number.POSITIVE_INFINITY })
      await store.put(a.cid, a.bytes)
      assert.deepEqual(await store.get(a.cid), a.bytes)

      await writeFile(await pieceFile(path, b.cid.toString()), b.bytes.subarray(0, 1000))
      await assert.rejects(store.get(b.cid), CorruptDataError)
      assert.equal((await readdir(join(path, 'corrupt'))).length, 2)
    } finally {
      await store.stop()
    }
  })

  it('a put over a corrupt file of the same size rewrites it instead of acknowledging it (finding 6)', async () => {
    const path = await tempDir()
    const store = createFsPieceStore({ path })
    await store.start()
    try {
      const a = piece(4096)
      await store.put(a.cid, a.bytes)
      const file = await pieceFile(path, a.cid.toString())
      const rotten = Buffer.from(a.bytes)
      rotten[2000]! ^= 0x80 // bit rot: same size, other bytes
      await writeFile(file, rotten)
      await store.put(a.cid, a.bytes) // e.g. a repair sends the piece again
      assert.deepEqual(new Uint8Array(await readFile(file)), a.bytes, 'the piece on disk is whole again')
      assert.deepEqual(await store.get(a.cid), a.bytes)
      assert.deepEqual(store.usage(), { pieces: 1, bytes: 4096, quota: Number.POSITIVE_INFINITY })
      await writeFile(file, Buffer.alloc(4096)) // zeroed by the file system after a crash
      await store.put(a.cid, a.bytes)
      assert.deepEqual(await store.get(a.cid), a.bytes)
      assert.equal((await readdir(join(path, 'corrupt'))).length, 0, 'nothing was served corrupt or moved aside')
    } finally {
      await store.stop()
    }
  })

  it('removes leftover temp files on start and refuses a store open in another live process', async () => {
    const path = await tempDir()
    const store = createFsPieceStore({ path })
    await store.start()
    await store.stop()
    await writeFile(join(path, 'tmp', 'abandoned.tmp'), 'half a piece')
    await writeFile(join(path, 'LOCK'), String(process.ppid))
    await assert.rejects(createFsPieceStore({ path }).start(), /is open in process/)
    await rm(join(path, 'LOCK'))
    const again = createFsPieceStore({ path })
    await again.start()
    assert.ok(!(await readdir(join(path, 'tmp'))).includes('abandoned.tmp'))
    await again.stop()
  })
})
