import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createFileRecordStore } from '../../src/client/index.ts'
import { InvalidArgumentError } from '../../src/errors.ts'
import {
  composeNodeOptions,
  formatByteSize,
  loadNodeOptions,
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
    const first = await loadNodeOptions(dir, { flags: { network: { apiPort: 7001 } } })
    assert.deepEqual(first, composeNodeOptions({ network: { apiPort: 7001 } }))
    const file = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))
    assert.equal(file.storage.quota, 'unlimited')
    assert.deepEqual(file.network.listen, ['/ip4/0.0.0.0/tcp/0'])
    assert.equal(file.network.mdns, true)
    assert.equal(file.network.apiPort, 7001)
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ network: { ...file.network, mdns: false, apiPort: 7002 }, storage: { quota: '2GiB' } }),
    )
    const second = await loadNodeOptions(dir, { flags: { network: { apiPort: 7003 } } })
    assert.equal(second.storage.quota, 2 * 2 ** 30)
    assert.equal(second.network.mdns, false)
    assert.equal(second.network.apiPort, 7003)
  })

  it('reads the flat config.json of earlier versions as the network section and the quota', async () => {
    const dir = await tempDir()
    const flat = {
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/X'],
      quota: 'unlimited',
      apiPort: 7002,
      mdns: false,
      devnet: true,
      heartbeatIntervalMs: 500,
    }
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...flat, quota: '2GiB' }))
    const options = await loadNodeOptions(dir)
    assert.deepEqual(options.network, {
      listen: flat.listen,
      bootstrap: flat.bootstrap,
      apiPort: 7002,
      mdns: false,
      devnet: true,
      heartbeatIntervalMs: 500,
      announce: [],
      iceServers: [],
      allowPrivateAddresses: false,
    })
    assert.equal(options.storage.quota, 2 * 2 ** 30)
    await writeFile(join(dir, 'config.json'), JSON.stringify({ apiPort: 1, network: { apiPort: 2 } }))
    await assert.rejects(loadNodeOptions(dir), /"apiPort" and "network\.apiPort" are both set/)
  })

  it('names the bad key of a config file', async () => {
    const dir = await tempDir()
    const rejects = async (content: unknown, message: RegExp) => {
      await writeFile(join(dir, 'config.json'), typeof content === 'string' ? content : JSON.stringify(content))
      await assert.rejects(loadNodeOptions(dir), (err: Error) => {
        assert.ok(err instanceof InvalidArgumentError)
        assert.match(err.message, message)
        return true
      })
    }
    await rejects({ listen: 'not-a-list' }, /"listen" must be an array of multiaddr strings/)
    await rejects({ network: { apiPort: 70000 } }, /config\.json: "network\.apiPort" must be a whole number from 0/)
    await rejects({ repair: { confirmMs: -1 } }, /"repair\.confirmMs" must be a whole number of milliseconds/)
    await rejects({ repair: { confimMs: 5 } }, /unknown key "repair\.confimMs"/)
    await rejects({ limits: { maxBytesInFlightTotal: 'unlimited' } }, /"limits\.maxBytesInFlightTotal" must be a size/)
    await rejects({ chain: { stake: 'lots' } }, /"chain\.stake" must be a whole number/)
    await rejects({ faults: { fakeProofs: true } }, /"faults" are test switches and are never read from config\.json/)
    await rejects('{ nope', /config\.json is not valid JSON: fix or remove it/)
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
