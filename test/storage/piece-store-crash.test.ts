import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { CID } from 'multiformats/cid'
import { createFsPieceStore } from '../../src/storage/index.ts'

const WRITER = new URL('./fixtures/piece-writer.ts', import.meta.url).pathname

/** Runs the writer child, kills it with SIGKILL `delay` ms after it is ready, returns the CIDs it confirmed. */
async function writeThenKill(path: string, delay: number): Promise<{ written: Set<string>; deleted: Set<string> }> {
  const child = spawn(process.execPath, [WRITER, path], { stdio: ['ignore', 'pipe', 'inherit'] })
  const written = new Set<string>()
  const deleted = new Set<string>()
  let buffer = ''
  let timer: NodeJS.Timeout | undefined
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  try {
    await new Promise<void>((resolve, reject) => {
      child.on('exit', () => resolve())
      child.on('error', reject)
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString()
        const lines = buffer.split('\n')
        buffer = lines.pop()!
        for (const line of lines) {
          if (line === 'ready') timer = setTimeout(() => child.kill('SIGKILL'), delay)
          else if (line.startsWith('deleted ')) deleted.add(line.slice(8))
          else written.add(line)
        }
      })
    })
  } finally {
    clearTimeout(timer)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  return { written, deleted }
}

it('a piece store killed at random moments holds only whole, valid pieces and a true usage count', async (t) => {
  const path = await mkdtemp(join(tmpdir(), 'cairn-crash-'))
  t.after(() => rm(path, { recursive: true, force: true }))
  const confirmed = new Set<string>()
  for (let round = 0; round < 8; round++) {
    const { written, deleted } = await writeThenKill(path, Math.floor(Math.random() * 400))
    for (const cid of written) confirmed.add(cid)
    for (const cid of deleted) confirmed.delete(cid)

    const store = createFsPieceStore({ path })
    await store.start()
    try {
      let pieces = 0
      let bytes = 0
      const listed = new Set<string>()
      for await (const cid of store.list()) {
        const data = await store.get(cid) // throws CorruptDataError on a partial piece
        pieces++
        bytes += data.byteLength
        listed.add(cid.toString())
      }
      for (const cid of confirmed) {
        assert.ok(listed.has(cid), `round ${round}: piece ${cid} was confirmed written but is missing`)
        assert.ok(await store.has(CID.parse(cid)))
      }
      assert.deepEqual(store.usage(), { pieces, bytes, quota: Number.POSITIVE_INFINITY }, `round ${round}`)
      assert.deepEqual(await readdir(join(path, 'tmp')).then((f) => f.filter((n) => n.endsWith('.tmp'))), [])
      assert.deepEqual(await readdir(join(path, 'corrupt')), [], `round ${round}: a piece failed verification`)
    } finally {
      await store.stop()
    }
  }
  assert.ok(confirmed.size > 0, 'the writer never confirmed a piece: the test proved nothing')
})
