import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { readChainRepairs, writeChainRepairs } from '../../src/node/chain-service/chain-repairs-file.ts'

describe('pending on-chain repairs file', () => {
  const dirs: string[] = []
  const fresh = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-chain-repairs-'))
    dirs.push(dir)
    return dir
  }
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

  it('survives a restart: what was written is read back', async () => {
    const dir = await fresh()
    assert.deepEqual(await readChainRepairs(dir), [])
    const repairs = [
      { manifestCid: 'bafyreia', slot: 0, firstEpoch: 12 },
      { manifestCid: 'bafyreib', slot: 4 },
    ]
    await writeChainRepairs(dir, repairs)
    assert.deepEqual(await readChainRepairs(dir), repairs)
    await writeChainRepairs(dir, repairs.slice(1))
    assert.deepEqual(await readChainRepairs(dir), repairs.slice(1))
    assert.match(await readFile(join(dir, 'chain-repairs.json'), 'utf8'), /bafyreib/)
  })

  it('an unreadable file or malformed entries are ignored', async () => {
    const dir = await fresh()
    await writeFile(join(dir, 'chain-repairs.json'), '{not json')
    assert.deepEqual(await readChainRepairs(dir), [])
    await writeFile(
      join(dir, 'chain-repairs.json'),
      JSON.stringify({
        repairs: [{ manifestCid: 'bafyreic', slot: 1 }, { manifestCid: 3, slot: 1 }, { slot: 'x' }, null],
      }),
    )
    assert.deepEqual(await readChainRepairs(dir), [{ manifestCid: 'bafyreic', slot: 1 }])
  })
})
