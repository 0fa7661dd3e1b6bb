import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type ControlApi, controlRequest, createControlApi, type PeerView } from '../../src/node/index.ts'
import { createMemoryPieceStore, pieceCid } from '../../src/storage/index.ts'

describe('control API', () => {
  const store = createMemoryPieceStore({ quota: 1_000_000 })
  const peers: PeerView[] = [
    { peerId: 'A', state: 'alive', lastSeenMs: 120, multiaddrs: ['/ip4/127.0.0.1/tcp/1'] },
    { peerId: 'B', state: 'dead', lastSeenMs: 9000, multiaddrs: [] },
  ]
  let api: ControlApi
  let url: string
  const cids: string[] = []

  before(async () => {
    for (const text of ['one', 'two', 'three']) {
      const bytes = new TextEncoder().encode(text)
      const cid = pieceCid(bytes)
      await store.put(cid, bytes)
      cids.push(cid.toString())
    }
    api = createControlApi({ pieceStore: store, peers: () => peers, health: () => ({ peerId: 'SELF' }) }, { port: 0 })
    url = await api.start()
  })
  after(() => api.stop())

  it('listens on 127.0.0.1 only', () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('answers health, peers with detector states, usage and pieces', async () => {
    assert.deepEqual(await controlRequest(url, '/health'), { status: 'ok', peerId: 'SELF' })
    assert.deepEqual(await controlRequest(url, '/peers'), peers)
    assert.deepEqual(await controlRequest(url, '/usage'), { pieces: 3, bytes: 11, quota: 1_000_000 })
    const listed = await controlRequest<{ pieces: string[]; count: number }>(url, '/pieces')
    assert.deepEqual(listed.pieces.sort(), [...cids].sort())
    assert.equal((await controlRequest<{ count: number }>(url, '/pieces?limit=2')).count, 2)
  })

  it('refuses writes and unknown paths with JSON errors', async () => {
    const post = await fetch(`${url}/peers`, { method: 'POST' })
    assert.equal(post.status, 405)
    const missing = await fetch(`${url}/nope`)
    assert.equal(missing.status, 404)
    assert.equal(((await missing.json()) as { error: string }).error, 'ERR_NOT_FOUND')
    await assert.rejects(controlRequest(url, '/nope'), /answered 404 to \/nope/)
  })

  it('reports an unreachable node in one line', async () => {
    await assert.rejects(
      controlRequest('http://127.0.0.1:9', '/health', { timeoutMs: 1000 }),
      /the node's control API at http:\/\/127\.0\.0\.1:9 does not answer: is the node running\?/,
    )
  })
})
