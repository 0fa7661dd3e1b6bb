import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createNetwork, reserveUpload } from '../../src/net/index.ts'
import {
  CAIRN_VERSION,
  createControlApi,
  createNodeMetrics,
  createStorageNode,
  loadNodeOptions,
  NODE_METRIC_NAMES,
} from '../../src/node/index.ts'
import { createMemoryPieceStore, pieceCid } from '../../src/storage/index.ts'

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Parses prom-client's text exposition (sample lines only). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) continue
    const labels: Record<string, string> = {}
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!
    const raw = match[3]!
    samples.push({ name: match[1]!, labels, value: raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw) })
  }
  return samples
}

/** The value of one sample; fails the test when the sample is absent. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([key, want]) => s.labels[key] === want),
  )
  assert.ok(found, `no sample ${name}${JSON.stringify(labels)} in the scrape`)
  return found.value
}

async function scrape(api: string): Promise<Sample[]> {
  const response = await fetch(`${api}/metrics`)
  assert.equal(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return parseMetrics(await response.text())
}

describe('node metrics', () => {
  it('a storage node counts pieces received and served over the network at GET /metrics', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cairn-node-metrics-'))
    const cleanups: Array<() => Promise<unknown>> = [() => rm(dataDir, { recursive: true, force: true })]
    t.after(async () => {
      // last started, first stopped; the data dir goes last
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    })
    const quota = 10_000
    const options = await loadNodeOptions(dataDir, {
      flags: {
        network: { devnet: true, mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'], apiPort: 0 },
        storage: { quota },
      },
    })
    const node = createStorageNode({ dataDir, options })
    cleanups.push(() => node.stop())
    const info = await node.start()
    const client = createNetwork(
      { pieceStore: createMemoryPieceStore() },
      {
        privateKey: await generateKeyPair('Ed25519'),
        devnet: true,
        mdns: false,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        serveStore: false,
      },
    )
    cleanups.push(() => client.stop())
    await client.start()
    const address = info.multiaddrs.find((m) => m.includes('/tcp/') && !m.includes('/ws'))
    assert.ok(address, 'the node listens on TCP')
    await client.libp2p.dial(multiaddr(address))

    const before = await scrape(info.api)
    assert.equal(value(before, NODE_METRIC_NAMES.piecesStored), 0)
    assert.equal(value(before, NODE_METRIC_NAMES.piecesReceived), 0)

    // Pieces are taken only under an upload reservation; one peer may reserve at most half the node's free space.
    const reserved = await reserveUpload(client, info.peerId, { bytes: quota / 2, seconds: 60 })
    assert.equal(reserved.bytes, quota / 2)
    const sizes = [1_000, 1_500, 2_000]
    const pieces = sizes.map((size) => {
      const bytes = new Uint8Array(randomBytes(size))
      return { cid: pieceCid(bytes), bytes }
    })
    for (const piece of pieces) await client.storePiece(info.peerId, piece.cid, piece.bytes)
    // served: the first piece twice, the third once
    assert.deepEqual(await client.fetchPiece(info.peerId, pieces[0]!.cid), pieces[0]!.bytes)
    assert.deepEqual(await client.fetchPiece(info.peerId, pieces[0]!.cid), pieces[0]!.bytes)
    assert.deepEqual(await client.fetchPiece(info.peerId, pieces[2]!.cid), pieces[2]!.bytes)
    // refused: a piece the node does not hold, and one past the reservation (4,500 + 1,000 > 5,000): the reservation
    // refuses it before the store sees it
    const absent = new Uint8Array(randomBytes(10))
    await assert.rejects(client.fetchPiece(info.peerId, pieceCid(absent)))
    const big = new Uint8Array(randomBytes(1_000))
    await assert.rejects(client.storePiece(info.peerId, pieceCid(big), big), /reserv/)

    const after = await scrape(info.api)
    assert.equal(value(after, NODE_METRIC_NAMES.piecesStored), 3)
    assert.equal(value(after, NODE_METRIC_NAMES.usedBytes), 4_500)
    assert.equal(value(after, NODE_METRIC_NAMES.quotaBytes), quota)
    // the node caches its free space for a few seconds (statfs): bounded by the quota, never negative
    const free = value(after, NODE_METRIC_NAMES.freeBytes)
    assert.ok(free >= 0 && free <= quota, `free bytes ${free}`)
    assert.equal(value(after, NODE_METRIC_NAMES.piecesReceived), 3)
    assert.equal(value(after, NODE_METRIC_NAMES.receivedBytes), 4_500)
    assert.equal(value(after, NODE_METRIC_NAMES.piecesServed), 3)
    assert.equal(value(after, NODE_METRIC_NAMES.servedBytes), 1_000 + 1_000 + 2_000)
    assert.equal(value(after, NODE_METRIC_NAMES.pieceErrors, { operation: 'get', code: 'ERR_NOT_FOUND' }), 1)
    assert.equal(value(after, `${NODE_METRIC_NAMES.pieceSeconds}_count`, { operation: 'put' }), 3)
    assert.equal(value(after, `${NODE_METRIC_NAMES.pieceSeconds}_count`, { operation: 'get' }), 4)
    assert.equal(value(after, NODE_METRIC_NAMES.info, { version: CAIRN_VERSION, peer_id: info.peerId }), 1)
    for (const state of ['alive', 'suspect', 'dead']) {
      assert.ok(Number.isInteger(value(after, NODE_METRIC_NAMES.peers, { state })), `peers{state="${state}"}`)
    }
    assert.equal(value(after, NODE_METRIC_NAMES.slotRepairs, { outcome: 'done' }), 0)
    assert.equal(value(after, NODE_METRIC_NAMES.proofsAccepted), 0)
    // process metrics from prom-client on the node's own registry
    assert.ok(value(after, 'process_cpu_user_seconds_total') > 0)
    assert.ok(value(after, 'nodejs_heap_size_used_bytes') > 0)

    const post = await fetch(`${info.api}/metrics`, { method: 'POST' })
    assert.equal(post.status, 405)
    const missing = await fetch(`${info.api}/nope`)
    assert.match(((await missing.json()) as { message: string }).message, /\/metrics/)
  })

  it('counts repair and chain events by kind and peers by detector state', async () => {
    const store = createMemoryPieceStore()
    let peers = [
      { peerId: 'A', state: 'alive' as const, lastSeenMs: 1, multiaddrs: [] },
      { peerId: 'B', state: 'alive' as const, lastSeenMs: 1, multiaddrs: [] },
      { peerId: 'C', state: 'dead' as const, lastSeenMs: 9_000, multiaddrs: [] },
    ]
    const metrics = createNodeMetrics(
      { pieceStore: store, peers: () => peers, peerId: () => 'SELF' },
      { version: '9.9.9' },
    )
    const api = createControlApi({ pieceStore: store, peers: () => peers, health: () => ({}), metrics }, { port: 0 })
    const url = await api.start()
    try {
      const m = 'bafymanifest'
      metrics.onRepairEvent({ type: 'repair:slot-lost', manifestCid: m, slot: 1, lastHolder: 'C', rank: 0 })
      metrics.onRepairEvent({ type: 'repair:start', manifestCid: m, slot: 1, target: 'A', pieces: 2 })
      metrics.onRepairEvent({ type: 'repair:start', manifestCid: m, slot: 2, target: 'B', pieces: 2 })
      const running = await scrape(url)
      assert.equal(value(running, NODE_METRIC_NAMES.slotRepairsRunning), 2)
      metrics.onRepairEvent({
        type: 'repair:done',
        manifestCid: m,
        slot: 1,
        target: 'A',
        pieces: 2,
        bytes: 4_096,
        ms: 10,
      })
      metrics.onRepairEvent({ type: 'repair:failed', manifestCid: m, slot: 2, target: 'B', error: 'gone' })
      metrics.onRepairEvent({ type: 'repair:failed', manifestCid: m, slot: 2, target: null, error: 'no node' })
      for (const segment of [0, 1, 2]) {
        metrics.onRepairEvent({
          type: 'repair:piece-healed',
          manifestCid: m,
          cid: `piece${segment}`,
          segment,
          slot: 0,
          reason: 'missing or corrupt on disk',
        })
      }
      metrics.onRepairEvent({ type: 'repair:piece-failed', manifestCid: m, cid: 'x', error: 'not enough pieces' })
      metrics.onRepairEvent({ type: 'repair:adopted', manifestCid: m, slot: 3, newHolder: 'SELF' })

      const proved = { dealId: '1', epoch: 4, transactionHash: '0xabc' }
      metrics.onChainEvent({ type: 'chain:proved', slot: 0, ...proved })
      metrics.onChainEvent({ type: 'chain:proved', slot: 1, ...proved })
      metrics.onChainEvent({ type: 'chain:error', action: 'slot 1:2', message: 'proof rejected' })
      metrics.onChainEvent({ type: 'chain:error', action: 'tick', message: 'rpc down' })
      metrics.onChainEvent({ type: 'chain:error', action: 'repair 1:3', message: 'not open yet' })
      metrics.onChainEvent({ type: 'chain:confirmed', dealId: '1', slot: 0 })
      metrics.onChainEvent({ type: 'chain:refused', dealId: '2', slot: 0, reason: 'missing pieces' })
      metrics.onChainEvent({ type: 'chain:reported', dealId: '3', slot: 1, missed: 2, opened: false })
      metrics.onChainEvent({ type: 'chain:repaired', dealId: '3', slot: 1, epoch: 5, bounty: '10' })
      metrics.onChainEvent({ type: 'chain:withdrew', earnings: '2500000000000000000', rewards: '500000000000000000' })
      peers = [{ peerId: 'A', state: 'alive', lastSeenMs: 1, multiaddrs: [] }]

      const s = await scrape(url)
      assert.equal(value(s, NODE_METRIC_NAMES.slotRepairsRunning), 0)
      assert.equal(value(s, NODE_METRIC_NAMES.slotRepairs, { outcome: 'done' }), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.slotRepairs, { outcome: 'failed' }), 2)
      assert.equal(value(s, NODE_METRIC_NAMES.rebuiltBytes), 4_096)
      assert.equal(value(s, NODE_METRIC_NAMES.piecesHealed), 3)
      assert.equal(value(s, NODE_METRIC_NAMES.pieceHealsFailed), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.slotsLost), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.slotsAdopted), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.proofsAccepted), 2)
      assert.equal(value(s, NODE_METRIC_NAMES.proofErrors), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.chainErrors, { action: 'slot' }), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.chainErrors, { action: 'tick' }), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.chainErrors, { action: 'repair' }), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.slotsConfirmed), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.slotsRefused), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.missesReported), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.repairsClaimed), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.withdrawals), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.withdrawnTokens), 3)
      assert.equal(value(s, NODE_METRIC_NAMES.peers, { state: 'alive' }), 1)
      assert.equal(value(s, NODE_METRIC_NAMES.peers, { state: 'dead' }), 0)
      assert.equal(value(s, NODE_METRIC_NAMES.quotaBytes), Number.POSITIVE_INFINITY)
      assert.equal(value(s, NODE_METRIC_NAMES.info, { version: '9.9.9', peer_id: 'SELF' }), 1)
    } finally {
      await api.stop()
    }
  })

  it('two nodes in one process keep separate registries', async () => {
    const store = createMemoryPieceStore()
    const one = createNodeMetrics(
      { pieceStore: store, peers: () => [], peerId: () => 'ONE' },
      { defaultMetrics: false },
    )
    const two = createNodeMetrics(
      { pieceStore: store, peers: () => [], peerId: () => 'TWO' },
      { defaultMetrics: false },
    )
    const bytes = new TextEncoder().encode('hello')
    await one.meterPieceStore(store).put(pieceCid(bytes), bytes)
    assert.equal(value(parseMetrics(await one.text()), NODE_METRIC_NAMES.receivedBytes), 5)
    assert.equal(value(parseMetrics(await two.text()), NODE_METRIC_NAMES.receivedBytes), 0)
  })

  it('a control API without metrics answers 404 at /metrics', async () => {
    const api = createControlApi({ pieceStore: createMemoryPieceStore(), peers: () => [], health: () => ({}) })
    const url = await api.start()
    try {
      const response = await fetch(`${url}/metrics`)
      assert.equal(response.status, 404)
      assert.equal(((await response.json()) as { error: string }).error, 'ERR_NOT_FOUND')
    } finally {
      await api.stop()
    }
  })
})
