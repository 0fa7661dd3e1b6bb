/**
 * A new folder survives a crash only once its parent folder is fsynced (the entry lives in the parent). Every folder
 * the storage layer creates - the piece store's, its shard folders, writeFileDurable's - must be fsynced in its
 * parent before the write that needed it is acknowledged. The fsyncs are observed through node:fs/promises' `open`
 * (the handles are real; the spy only records which paths were synced).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fsp, { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'
import { createFsPieceStore, mkdirDurable, pieceCid, writeFileDurable } from '../../src/storage/index.ts'

const realOpen = fsp.open
/** Paths whose handle was fsynced, in order. */
let synced: string[] = []

before(() => {
  fsp.open = (async (...args: Parameters<typeof realOpen>) => {
    const handle = await realOpen(...args)
    const sync = handle.sync.bind(handle)
    handle.sync = async () => {
      await sync()
      synced.push(String(args[0]))
    }
    return handle
  }) as typeof realOpen
  syncBuiltinESMExports()
})
beforeEach(() => {
  synced = []
})

const dirs: string[] = []
after(async () => {
  fsp.open = realOpen
  syncBuiltinESMExports()
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})
async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-durable-'))
  dirs.push(dir)
  return dir
}

/** Every folder under `root` (root excluded). */
async function foldersUnder(root: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const path = join(root, entry.name)
    out.push(path, ...(await foldersUnder(path)))
  }
  return out
}

function assertParentsSynced(created: string[]) {
  assert.ok(created.length > 0)
  for (const folder of created) {
    assert.ok(synced.includes(dirname(folder)), `${folder} was created but its parent ${dirname(folder)} never fsynced`)
  }
}

describe('new folders are fsynced in their parent (finding 6)', () => {
  it('mkdirDurable fsyncs the parent of every folder it creates, and nothing when they exist', async () => {
    const base = await tempDir()
    const target = join(base, 'a', 'b', 'c')
    await mkdirDurable(target)
    assertParentsSynced(await foldersUnder(base))
    synced = []
    await mkdirDurable(target)
    assert.deepEqual(synced, [], 'an existing folder costs no fsync')
    const secret = join(base, 'secret', 'inner')
    await mkdirDurable(secret, { mode: 0o700 })
    assert.equal((await stat(secret)).mode & 0o777, 0o700)
    assert.equal((await stat(dirname(secret))).mode & 0o777, 0o700)
  })

  it("the fs piece store's folders and shard folders", async () => {
    const base = await tempDir()
    const store = createFsPieceStore({ path: join(base, 'node', 'store') })
    await store.start()
    for (let i = 0; i < 4; i++) {
      const bytes = new Uint8Array(randomBytes(1000))
      await store.put(pieceCid(bytes), bytes)
    }
    await store.stop()
    assertParentsSynced(await foldersUnder(base))
  })

  it("writeFileDurable's new folders", async () => {
    const base = await tempDir()
    await writeFileDurable(join(base, 'x', 'y', 'state.json'), '{}')
    assertParentsSynced(await foldersUnder(base))
  })
})
