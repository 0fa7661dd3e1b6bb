/**
 * Finding 6 of issue 12 (durability): peerstore.json was written to one shared temporary name and renamed without
 * fsync. Two saves at once (the save timer and stop()) raced on that name: one failed, or the file could mix both.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { PEER_STORE_FILE } from '../../src/net/index.ts'
import { loadPersistedPeers, type PersistedPeer, savePersistedPeers } from '../../src/net/peer-store-file.ts'

test('concurrent saves of the peer store all succeed and leave one whole snapshot, no temporary files', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-peerstore-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  // snapshots of very different sizes, so that interleaved writes would show as a torn or mixed file
  const snapshots: PersistedPeer[][] = Array.from({ length: 16 }, (_, i) =>
    Array.from({ length: 1 + ((i * 37) % 200) }, (_, j) => ({
      id: `peer-${i}-${j}`,
      addrs: [`/ip4/10.0.${i}.${j % 250}/tcp/4001`],
    })),
  )
  const results = await Promise.allSettled(snapshots.map((peers) => savePersistedPeers(dataDir, peers)))
  const failures = results
    .filter((r) => r.status === 'rejected')
    .map((r) => String((r as PromiseRejectedResult).reason))
  assert.deepEqual(failures, [], 'every save succeeds')
  const text = await readFile(join(dataDir, PEER_STORE_FILE), 'utf8')
  const parsed = JSON.parse(text) as { peers: PersistedPeer[] }
  assert.ok(
    snapshots.some((peers) => JSON.stringify(peers) === JSON.stringify(parsed.peers)),
    'the file holds exactly one of the snapshots',
  )
  assert.deepEqual(await loadPersistedPeers(dataDir), parsed.peers)
  assert.deepEqual(
    (await readdir(dataDir)).filter((name) => name !== PEER_STORE_FILE),
    [],
    'no temporary file is left behind',
  )
})
