import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createFileRecordStore } from '../../src/client/index.ts'
import { InvalidArgumentError } from '../../src/errors.ts'
import {
  defaultNodeConfig,
  formatByteSize,
  loadNodeConfig,
  loadOrCreatePeerKey,
  parseByteSize,
} from '../../src/node/index.ts'
import { readSavedPeers, savedPeerAddresses, writeSavedPeers } from '../../src/node/saved-peers.ts'

const dirs: string[] = []
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-node-'))
  dirs.push(dir)
  return dir
}
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

describe('node data dir', () => {
  it('creates an Ed25519 peer key with mode 0600 and reuses it', async () => {
    const dir = await tempDir()
    const key = await loadOrCreatePeerKey(dir)
    assert.equal(key.type, 'Ed25519')
    assert.equal((await stat(join(dir, 'peer.key'))).mode & 0o777, 0o600)
    const again = await loadOrCreatePeerKey(dir)
    assert.equal(peerIdFromPrivateKey(again).toString(), peerIdFromPrivateKey(key).toString())
  })

  it('refuses a damaged key file with a message naming it', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'peer.key'), 'garbage')
    await assert.rejects(loadOrCreatePeerKey(dir), /the key file .*peer\.key is damaged/)
  })

  it('writes config.json with the defaults on first start; flags override the file', async () => {
    const dir = await tempDir()
    const first = await loadNodeConfig(dir, { apiPort: 7001 })
    assert.deepEqual(first, { ...defaultNodeConfig(), apiPort: 7001 })
    const file = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))
    assert.equal(file.quota, 'unlimited')
    assert.deepEqual(file.listen, ['/ip4/0.0.0.0/tcp/0'])
    assert.equal(file.mdns, true)
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...file, quota: '2GiB', mdns: false, apiPort: 7002 }))
    const second = await loadNodeConfig(dir, { apiPort: 7003 })
    assert.equal(second.quota, 2 * 2 ** 30)
    assert.equal(second.mdns, false)
    assert.equal(second.apiPort, 7003)
  })

  it('names the bad key of a config file', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'config.json'), JSON.stringify({ listen: 'not-a-list' }))
    await assert.rejects(loadNodeConfig(dir), (err: Error) => {
      assert.ok(err instanceof InvalidArgumentError)
      assert.match(err.message, /"listen" must be an array of multiaddr strings/)
      return true
    })
    await writeFile(join(dir, 'config.json'), '{ nope')
    await assert.rejects(loadNodeConfig(dir), /config\.json is not valid JSON: fix or remove it/)
  })

  it('remembers peers across restarts (peers.json)', async () => {
    const dir = await tempDir()
    assert.deepEqual(await readSavedPeers(dir), [])
    await writeSavedPeers(dir, [
      { peerId: 'A', state: 'alive', lastSeenMs: 10, multiaddrs: ['/ip4/127.0.0.1/tcp/1'] },
      { peerId: 'B', state: 'alive', lastSeenMs: 5, multiaddrs: [] },
    ])
    const saved = await readSavedPeers(dir)
    assert.deepEqual(
      saved.map((p) => p.peerId),
      ['A'],
    )
    assert.deepEqual(savedPeerAddresses(saved), ['/ip4/127.0.0.1/tcp/1/p2p/A'])
  })

  it('parses and formats byte sizes', () => {
    assert.equal(parseByteSize('10GiB'), 10 * 2 ** 30)
    assert.equal(parseByteSize('500MB'), 500e6)
    assert.equal(parseByteSize('1.5 kB'), 1500)
    assert.equal(parseByteSize('4096'), 4096)
    assert.equal(parseByteSize('unlimited'), Number.POSITIVE_INFINITY)
    assert.throws(() => parseByteSize('ten'), /invalid size "ten": use a number of bytes such as 500MB or 10GiB/)
    assert.equal(formatByteSize(1_500_000), '1.5 MB')
    assert.equal(formatByteSize(999), '999 B')
  })

  it('keeps a record of files put, tolerating a torn last line', async () => {
    const dir = await tempDir()
    const path = join(dir, 'client', 'files.jsonl')
    const records = createFileRecordStore({ path })
    const record = { capability: 'cairn:x#y', manifestCid: 'x', size: 3, k: 1, n: 3, slots: [], storedAt: 1 }
    await records.add(record)
    await writeFile(path, `${await readFile(path, 'utf8')}{"capab`)
    assert.deepEqual(await records.list(), [record])
    assert.deepEqual(await records.find('x'), record)
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    // The next record, appended after the torn line, is readable too.
    const next = { ...record, capability: 'cairn:z#w', manifestCid: 'z', storedAt: 2 }
    await records.add(next)
    assert.deepEqual(await records.list(), [record, next])
  })
})
