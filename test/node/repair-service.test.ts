/**
 * The repair service in one process: several nodes, each a real in-memory piece store behind its repair service, on a
 * small in-process mesh (stores and fetches go through the remote node's served store, as on the wire).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { CID } from 'multiformats/cid'
import { UnreachableError } from '../../src/errors.ts'
import type { PeerView } from '../../src/net/index.ts'
import {
  createRepairService,
  type RepairEvent,
  type RepairNetwork,
  type RepairService,
  type RepairServiceInit,
  type SlotRepairedEvent,
} from '../../src/node/index.ts'
import {
  createMemoryPieceStore,
  encodeFile,
  type Manifest,
  manifestPieceCid,
  type PieceStore,
  pieceCid,
  slotPieces,
} from '../../src/storage/index.ts'

interface MeshNode {
  peerId: string
  store: PieceStore
  repair: RepairService
  down: boolean
  events: RepairEvent[]
  adopted: SlotRepairedEvent[]
}

class Mesh {
  readonly nodes = new Map<string, MeshNode>()
  /** Peers that answer "held" to every has-pieces question and serve random bytes for any piece. */
  readonly liars = new Set<string>()
  /** A store into a peer waits for this first (a slow link, or a stalled sender). */
  storeDelay: (from: string) => Promise<void> = async () => {}
  /** Peers whose has-pieces answers come from this instead of their store. */
  readonly answers = new Map<string, (cids: CID[]) => boolean[]>()

  add(peerId: string, extra: Partial<RepairServiceInit> = {}): MeshNode {
    const store = createMemoryPieceStore()
    const events: RepairEvent[] = []
    const adopted: SlotRepairedEvent[] = []
    const repair = createRepairService(
      { pieceStore: store, network: () => this.network(peerId) },
      {
        checkIntervalMs: 3_600_000,
        scrubIntervalMs: 3_600_000,
        confirmMs: 0,
        fallbackMs: 60_000,
        onProgress: (e) => events.push(e),
        onSlotRepaired: (e) => {
          adopted.push(e)
        },
        ...extra,
      },
    )
    const node = { peerId, store, repair, down: false, events, adopted }
    this.nodes.set(peerId, node)
    return node
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.repair.stop()))
  }

  #reach(peer: string): MeshNode {
    const node = this.nodes.get(peer)
    if (node === undefined || node.down) throw new UnreachableError(`${peer} is down`)
    return node
  }

  network(self: string): RepairNetwork {
    return {
      peerId: self,
      multiaddrs: () => [`/ip4/10.0.0.1/tcp/1/p2p/${self}`],
      peers: () =>
        [...this.nodes.values()]
          .filter((n) => n.peerId !== self)
          .map(
            (n, i): PeerView => ({
              peerId: n.peerId,
              state: n.down ? 'dead' : 'alive',
              lastSeenMs: 0,
              phi: 0,
              multiaddrs: [`/ip4/10.0.${i}.1/tcp/1`],
            }),
          ),
      storePiece: async (peer: string, cid: CID, bytes: Uint8Array) => {
        await this.storeDelay(self)
        await this.#reach(peer).repair.pieceStore.put(cid, bytes)
      },
      fetchPiece: async (peer: string, cid: CID) => {
        const node = this.#reach(peer)
        if (this.liars.has(peer)) return new Uint8Array(randomBytes(1024))
        return await node.repair.pieceStore.get(cid)
      },
      hasPieces: async (peer: string, cids: CID[]) => {
        const node = this.#reach(peer)
        if (this.liars.has(peer)) return cids.map(() => true)
        const answer = this.answers.get(peer)
        if (answer !== undefined) return answer(cids)
        return await Promise.all(cids.map((c) => node.store.has(c)))
      },
      watch: () => {},
    } as unknown as RepairNetwork
  }
}

/** Encodes a file and stores slot j on `holders[j]` (pieces first, the manifest last, as a put does). */
async function putFile(mesh: Mesh, holders: string[], k: number, size: number) {
  const bytes = randomBytes(size)
  const { pieces, done } = encodeFile([bytes], { k, n: holders.length, segmentSize: 64 * 1024 })
  for await (const piece of pieces)
    await mesh.nodes.get(holders[piece.slot]!)!.repair.pieceStore.put(piece.cid, piece.bytes)
  const file = await done
  for (const peer of holders) {
    await mesh.nodes.get(peer)!.repair.pieceStore.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
  }
  return file
}

async function until<T>(check: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`timed out: ${what}`)
}

async function holdsSlot(store: PieceStore, manifest: Manifest, slot: number): Promise<boolean> {
  return (await Promise.all(slotPieces(manifest, slot).map((c) => store.has(c)))).every(Boolean)
}

describe('repair service', () => {
  it('rebuilds a dead holder’s (2, 4) slot on a node outside the file, which then reports it', async (t) => {
    const mesh = new Mesh()
    t.after(() => mesh.stop())
    for (const id of ['a', 'b', 'c', 'd', 'spare']) mesh.add(id)
    for (const node of mesh.nodes.values()) await node.repair.start()
    const file = await putFile(mesh, ['a', 'b', 'c', 'd'], 2, 300_000)
    const cid = file.manifestCid.toString()
    for (const node of mesh.nodes.values()) await node.repair.check()
    assert.deepEqual(mesh.nodes.get('b')!.repair.files()[0]!.mySlots, [1])
    assert.equal(mesh.nodes.get('b')!.repair.files()[0]!.slotsAlive, 4)

    mesh.nodes.get('c')!.down = true
    const survivors = ['a', 'b', 'd'].map((id) => mesh.nodes.get(id)!)
    const spare = mesh.nodes.get('spare')!
    await until(async () => {
      for (const node of survivors) await node.repair.check()
      await spare.repair.check()
      return spare.adopted.length > 0 ? true : undefined
    }, 'the spare to adopt slot 2')
    assert.deepEqual(spare.adopted, [{ manifestCid: cid, slot: 2, newHolder: 'spare' }])
    assert.ok(await holdsSlot(spare.store, file.manifest, 2))
    const starts = survivors.flatMap((n) => n.events.filter((e) => e.type === 'repair:start'))
    assert.equal(starts.length, 1, 'exactly one holder repaired')
    const done = survivors.flatMap((n) => n.events).find((e) => e.type === 'repair:done')
    assert.ok(done !== undefined && done.type === 'repair:done' && done.target === 'spare')
    assert.equal(done.bytes, file.manifest.slots[2]!.size)
    // The survivors see full health again (a lost slot is looked at again every few seconds).
    const view = await until(async () => {
      await survivors[0]!.repair.check()
      const v = survivors[0]!.repair.files()[0]!
      return v.slotsAlive === 4 ? v : undefined
    }, 'full health seen by the other holders')
    assert.equal(view.slots[2]!.peerId, 'spare')
  })

  it('heals a deleted piece on read (what a fetch or a challenge does), and missing ones on scrub', async (t) => {
    const mesh = new Mesh()
    t.after(() => mesh.stop())
    for (const id of ['a', 'b', 'c']) mesh.add(id)
    for (const node of mesh.nodes.values()) await node.repair.start()
    const file = await putFile(mesh, ['a', 'b', 'c'], 2, 400_000)
    for (const node of mesh.nodes.values()) await node.repair.check()
    const a = mesh.nodes.get('a')!
    const [p0, p1, p2] = slotPieces(file.manifest, 0)
    const original = await a.store.get(p1!)
    await a.store.delete(p0!)
    await a.store.delete(p1!)
    await a.store.delete(p2!)
    // A read through the served store (what a remote fetch or a challenge does) rebuilds the piece.
    const served = await a.repair.pieceStore.get(p1!)
    assert.ok(pieceCid(served).equals(p1!))
    assert.deepEqual(Buffer.from(served), Buffer.from(original))
    assert.ok(await a.store.has(p1!), 'the rebuilt piece is rewritten')
    // The scrub finds the ones nobody read.
    await a.repair.scrub()
    assert.ok((await a.store.has(p0!)) && (await a.store.has(p2!)))
    const healed = a.events.filter((e) => e.type === 'repair:piece-healed').length
    assert.equal(healed, 3)
    // Not a piece of this node's slots: not healed, the error stands.
    const other = slotPieces(file.manifest, 1)[0]!
    await assert.rejects(a.repair.pieceStore.get(other), { code: 'ERR_NOT_FOUND' })
  })

  it('k = 1: a lost copy is copied to a new node', async (t) => {
    const mesh = new Mesh()
    t.after(() => mesh.stop())
    for (const id of ['a', 'b', 'c', 'spare']) mesh.add(id)
    for (const node of mesh.nodes.values()) await node.repair.start()
    const file = await putFile(mesh, ['a', 'b', 'c'], 1, 100_000)
    for (const node of mesh.nodes.values()) await node.repair.check()
    mesh.nodes.get('a')!.down = true
    const spare = mesh.nodes.get('spare')!
    await until(async () => {
      for (const id of ['b', 'c', 'spare']) await mesh.nodes.get(id)!.repair.check()
      return spare.adopted.length > 0 ? true : undefined
    }, 'the spare to adopt a copy')
    assert.ok(await holdsSlot(spare.store, file.manifest, 0))
    assert.equal(spare.adopted[0]!.newHolder, 'spare')
  })
})

describe('a slot repair in flight', () => {
  /** A (2, 4) file of 40 segments on a..d, two spares, fast fallbacks; c dies. */
  const setUp = async (mesh: Mesh, fallbackMs = 150) => {
    for (const id of ['a', 'b', 'c', 'd', 's1', 's2']) mesh.add(id, { fallbackMs, concurrency: 1 })
    for (const node of mesh.nodes.values()) await node.repair.start()
    const file = await putFile(mesh, ['a', 'b', 'c', 'd'], 2, 40 * 64 * 1024 * 2 - 100)
    for (const node of mesh.nodes.values()) await node.repair.check()
    mesh.nodes.get('c')!.down = true
    return file
  }
  const starts = (mesh: Mesh) =>
    ['a', 'b', 'd'].flatMap((id) =>
      mesh.nodes
        .get(id)!
        .events.filter((e) => e.type === 'repair:start')
        .map((e) => ({ ...e, by: id })),
    )

  it('a slow repair that makes progress is not duplicated by the other holders', async (t) => {
    const mesh = new Mesh()
    t.after(() => mesh.stop())
    const file = await setUp(mesh, 400)
    // Every store takes 20 ms: the repair takes over 1.6 s, several times the other holders' fallback (and less than
    // the ten fallbacks they wait at most).
    mesh.storeDelay = async () => {
      await sleep(20)
    }
    const adopted = await until(async () => {
      await Promise.all(['a', 'b', 'd', 's1', 's2'].map((id) => mesh.nodes.get(id)!.repair.check()))
      const done = ['s1', 's2'].flatMap((id) => mesh.nodes.get(id)!.adopted)
      return done.length > 0 ? done : undefined
    }, 'a spare to adopt slot 2')
    assert.equal(adopted[0]!.slot, 2)
    assert.equal(starts(mesh).length, 1, `one repair, not ${JSON.stringify(starts(mesh))}`)
    const holding = await Promise.all(['s1', 's2'].map((id) => holdsSlot(mesh.nodes.get(id)!.store, file.manifest, 2)))
    assert.deepEqual(holding.filter(Boolean).length, 1)
  })

  it('a peer whose has-pieces answers grow without end delays the repair by ten fallback periods at most', async (t) => {
    const mesh = new Mesh()
    t.after(() => mesh.stop())
    const file = await setUp(mesh)
    // s2 says it holds the manifest and one more of the slot's pieces at every look: a repair "in flight" forever.
    let looks = 0
    mesh.answers.set('s2', (cids) => {
      looks++
      return cids.map((_, i) => i <= looks)
    })
    const started = Date.now()
    await until(
      async () => {
        await Promise.all(['a', 'b', 'd', 's1'].map((id) => mesh.nodes.get(id)!.repair.check()))
        return mesh.nodes.get('s1')!.adopted.length > 0 ? true : undefined
      },
      's1 to adopt slot 2 despite the lie',
      15_000,
    )
    assert.ok(looks > 1, 'the lie was looked at')
    assert.ok(await holdsSlot(mesh.nodes.get('s1')!.store, file.manifest, 2))
    assert.ok(Date.now() - started < 10_000)
  })

  it('a repair that stalls (its sender hangs) is taken over by another holder', async (t) => {
    const mesh = new Mesh()
    const release = new AbortController()
    t.after(() => {
      release.abort()
      return mesh.stop()
    })
    const file = await setUp(mesh)
    // The first holder to send a piece hangs for good after its fifth piece.
    let stalled: string | undefined
    let sent = 0
    mesh.storeDelay = async (from) => {
      stalled ??= from
      if (from === stalled && ++sent > 5)
        await new Promise((resolve) => release.signal.addEventListener('abort', resolve, { once: true }))
    }
    const adopted = await until(
      async () => {
        await Promise.all(
          ['a', 'b', 'd', 's1', 's2'].filter((id) => id !== stalled).map((id) => mesh.nodes.get(id)!.repair.check()),
        )
        const done = ['s1', 's2'].flatMap((id) => mesh.nodes.get(id)!.adopted)
        return done.length > 0 ? done : undefined
      },
      'another holder to take over the stalled repair',
      15_000,
    )
    assert.equal(adopted[0]!.slot, 2)
    assert.ok(await holdsSlot(mesh.nodes.get(adopted[0]!.newHolder)!.store, file.manifest, 2))
    assert.ok(starts(mesh).some((e) => e.by !== stalled))
  })
})

/** Stores a whole file (every piece, then the manifest) on one node, as a stranger on the wire can. */
async function storeForged(node: MeshNode, k: number, n: number) {
  const { pieces, done } = encodeFile([randomBytes(2_000)], { k, n, segmentSize: 64 * 1024 })
  for await (const piece of pieces) await node.repair.pieceStore.put(piece.cid, piece.bytes)
  const file = await done
  await node.repair.pieceStore.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
  return file
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('repair service between strangers', () => {
  it('a peer claiming pieces it does not hold is not counted: the lost slot is rebuilt on an honest node', async (t) => {
    const mesh = new Mesh()
    t.after(() => mesh.stop())
    for (const id of ['a', 'b', 'c', 'd', 'liar', 'spare']) mesh.add(id)
    mesh.liars.add('liar')
    for (const node of mesh.nodes.values()) await node.repair.start()
    const file = await putFile(mesh, ['a', 'b', 'c', 'd'], 2, 300_000)
    for (const node of mesh.nodes.values()) await node.repair.check()
    mesh.nodes.get('c')!.down = true
    const survivors = ['a', 'b', 'd'].map((id) => mesh.nodes.get(id)!)
    const spare = mesh.nodes.get('spare')!
    await until(async () => {
      for (const node of survivors) await node.repair.check()
      await spare.repair.check()
      return spare.adopted.length > 0 ? true : undefined
    }, 'the honest spare to adopt slot 2 (the liar claims it)')
    assert.ok(await holdsSlot(spare.store, file.manifest, 2))
    const targets = survivors.flatMap((n) => n.events.flatMap((e) => (e.type === 'repair:start' ? [e.target] : [])))
    assert.deepEqual(targets, ['spare'])
    const rejected = survivors.flatMap((n) => n.events).find((e) => e.type === 'repair:holder-rejected')
    assert.ok(rejected !== undefined && rejected.type === 'repair:holder-rejected' && rejected.peerId === 'liar')
    const view = mesh.nodes.get('a')!.repair.files()[0]!
    assert.ok(!view.slots.some((s) => s.peerId === 'liar'), 'the liar holds no slot in the view')
  })

  it('with a chain, only Registry-active nodes count as holders and repair targets', async (t) => {
    const mesh = new Mesh()
    t.after(() => mesh.stop())
    const isEligible = (peerId: string) => !peerId.startsWith('unstaked')
    for (const id of [
      'a',
      'b',
      'c',
      'd',
      'unstaked-holder',
      'unstaked-1',
      'unstaked-2',
      'unstaked-3',
      'unstaked-4',
      'spare',
    ])
      mesh.add(id, { isEligible })
    for (const node of mesh.nodes.values()) await node.repair.start()
    const file = await putFile(mesh, ['a', 'b', 'c', 'd'], 2, 300_000)
    // An unstaked node really holds a copy of slot 2 (and the manifest).
    const unstaked = mesh.nodes.get('unstaked-holder')!
    for (const cid of slotPieces(file.manifest, 2))
      await unstaked.store.put(cid, await mesh.nodes.get('c')!.store.get(cid))
    for (const node of mesh.nodes.values()) await node.repair.check()
    mesh.nodes.get('c')!.down = true
    const survivors = ['a', 'b', 'd'].map((id) => mesh.nodes.get(id)!)
    const spare = mesh.nodes.get('spare')!
    await until(async () => {
      for (const node of survivors) await node.repair.check()
      await spare.repair.check()
      return spare.adopted.length > 0 ? true : undefined
    }, 'the staked spare to adopt slot 2 (an unstaked node holds it)')
    const targets = survivors.flatMap((n) => n.events.flatMap((e) => (e.type === 'repair:start' ? [e.target] : [])))
    assert.deepEqual(targets, ['spare'])
    assert.ok(
      !mesh.nodes
        .get('a')!
        .repair.files()[0]!
        .slots.some((s) => s.peerId?.startsWith('unstaked')),
    )
  })

  it('a forged k = 1, n = 255 manifest stored by a stranger starts no repair and is not tracked', async (t) => {
    const mesh = new Mesh()
    t.after(() => mesh.stop())
    for (const id of ['a', 'b', 'c', 'd']) mesh.add(id)
    for (const node of mesh.nodes.values()) await node.repair.start()
    const a = mesh.nodes.get('a')!
    await storeForged(a, 1, 255)
    for (let round = 0; round < 3; round++) await a.repair.check()
    await sleep(200)
    assert.deepEqual(
      a.events.filter((e) => e.type === 'repair:start'),
      [],
    )
    assert.deepEqual(a.repair.files(), [])
    const ignored = a.events.find((e) => e.type === 'repair:file-ignored')
    assert.ok(ignored !== undefined && ignored.type === 'repair:file-ignored')
    assert.match(ignored.reason, /n = 255/)
  })

  it('a manifest this node accepted no slot of is not tracked (injected isAcceptedManifest)', async (t) => {
    const mesh = new Mesh()
    t.after(() => mesh.stop())
    const asked: string[] = []
    mesh.add('a', {
      isAcceptedManifest: (cid) => {
        asked.push(cid.toString())
        return false
      },
    })
    for (const id of ['b', 'c']) mesh.add(id)
    for (const node of mesh.nodes.values()) await node.repair.start()
    const a = mesh.nodes.get('a')!
    const forged = await storeForged(a, 1, 3)
    for (let round = 0; round < 3; round++) await a.repair.check()
    await sleep(100)
    assert.deepEqual(asked, [forged.manifestCid.toString()])
    assert.deepEqual(a.repair.files(), [])
    assert.deepEqual(
      a.events.filter((e) => e.type === 'repair:start'),
      [],
    )
  })

  it('one file starts at most maxRepairsPerFile slot repairs per period', async (t) => {
    const mesh = new Mesh()
    t.after(() => mesh.stop())
    mesh.add('a', { maxRepairsPerFile: 2 })
    for (const id of ['b', 'c', 'd', 'e', 'f', 'g']) mesh.add(id)
    for (const node of mesh.nodes.values()) await node.repair.start()
    const a = mesh.nodes.get('a')!
    await storeForged(a, 1, 6)
    for (let round = 0; round < 4; round++) {
      await a.repair.check()
      await sleep(50)
    }
    await sleep(200)
    assert.equal(a.events.filter((e) => e.type === 'repair:start').length, 2)
  })
})
