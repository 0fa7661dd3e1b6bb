/**
 * Finding 3 of issue 12, spot checks: a holder's claim was checked by fetching one whole piece, which a node serves
 * even after it dropped the piece (its served store heals a missing piece from the other holders on read, and a
 * stranger can relay). The leaf challenge (`/cairn/slot-accept/1.0.0` 0x06/0x07) asks for one random 1 KiB leaf of a
 * random piece with a fresh nonce, answered from the holder's own disk with its Merkle path, and checks it against the
 * manifest's slot root. Part one runs over real libp2p hosts on 127.0.0.1; part two runs the real repair service.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { CorruptDataError, NotFoundError, UnreachableError } from '../../src/errors.ts'
import {
  challengeLeaf,
  decodeSlotAcceptanceMessage,
  encodeSlotAcceptanceMessage,
  type PeerView,
  type SlotAcceptanceAnswer,
  type SlotAcceptanceRequest,
} from '../../src/net/index.ts'
import { createSlotProver } from '../../src/node/chain-service/index.ts'
import { createRepairService, type RepairEvent, type RepairNetwork } from '../../src/node/index.ts'
import { createLeafChallengeAnswerer } from '../../src/node/leaf-challenge-answerer.ts'
import { createSlotAcceptancePolicy } from '../../src/node/slot-acceptance.ts'
import {
  createMemoryPieceStore,
  type EncodedFile,
  encodeFile,
  MERKLE_LEAF_SIZE,
  manifestPieceCid,
  merkleLeafCount,
  type PieceStore,
  slotPieces,
} from '../../src/storage/index.ts'
import { connect, startNode, stopAll } from '../net/fixtures/hosts.ts'

type After = { after: (fn: () => Promise<void>) => void }

/** A k = 2, n = 3 file of 5 segments of 64 KiB; `holder` gets slot `slot`'s pieces and the manifest. */
async function fileOn(stores: PieceStore[], slots: number[]): Promise<EncodedFile> {
  const { pieces, done } = encodeFile([randomBytes(300_000)], { k: 2, n: 3, segmentSize: 64 * 1024 })
  const all = new Map<string, Uint8Array>()
  for await (const piece of pieces) all.set(piece.cid.toString(), piece.bytes)
  const file = await done
  for (const [i, store] of stores.entries()) {
    for (const cid of slotPieces(file.manifest, slots[i]!)) await store.put(cid, all.get(cid.toString())!)
    await store.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
  }
  return file
}

async function holderHost(t: After, prover?: Parameters<typeof createSlotAcceptancePolicy>[0]['prover']) {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-leaf-'))
  const store = createMemoryPieceStore()
  const policy = createSlotAcceptancePolicy(
    {
      prover: prover ?? createSlotProver({ pieceStore: store }, { cacheDir: join(dir, 'slots') }),
      freeSpace: () => 1_000_000,
    },
    { dataDir: dir },
  )
  const node = await startNode({ slotAcceptance: policy }, store)
  t.after(async () => {
    await stopAll([node])
    await rm(dir, { recursive: true, force: true })
  })
  return node
}

const expectOf = (file: EncodedFile, slot: number) => ({
  root: file.manifest.slots[slot]!.root,
  leafCount: merkleLeafCount(file.manifest.slots[slot]!.size),
})

describe('finding 3: leaf challenges over the wire', () => {
  test('an honest holder answers a random leaf with a path that verifies against the slot root', async (t) => {
    const holder = await holderHost(t)
    const checker = await startNode()
    t.after(() => stopAll([checker]))
    await connect(checker.network, holder.network)
    const file = await fileOn([holder.store], [1])
    const leafCount = merkleLeafCount(file.manifest.slots[1]!.size)
    for (const leafIndex of [0, 37, leafCount - 1]) {
      const { leaf, proof } = await challengeLeaf(
        checker.network,
        holder.network.peerId,
        { manifestCid: file.manifestCid.toString(), slotIndex: 1, leafIndex },
        expectOf(file, 1),
      )
      assert.ok(leaf.byteLength > 0 && leaf.byteLength <= MERKLE_LEAF_SIZE)
      assert.ok(proof.length > 0)
    }
    assert.equal(checker.network.score(holder.network.peerId), 0)
  })

  test('a holder that dropped the piece is caught: it refuses, naming the missing piece', async (t) => {
    const holder = await holderHost(t)
    const checker = await startNode()
    t.after(() => stopAll([checker]))
    await connect(checker.network, holder.network)
    const file = await fileOn([holder.store], [0])
    const dropped = slotPieces(file.manifest, 0)[2]!
    await holder.store.delete(dropped)
    // Leaf 130 lies in piece 2 (pieces of 32 KiB + padding: 33 leaves each).
    const leafIndex = 2 * Math.ceil(file.manifest.slots[0]!.size / 5 / MERKLE_LEAF_SIZE) + 1
    await assert.rejects(
      challengeLeaf(
        checker.network,
        holder.network.peerId,
        { manifestCid: file.manifestCid.toString(), slotIndex: 0, leafIndex },
        expectOf(file, 0),
      ),
      (error: Error) => {
        assert.ok(error instanceof NotFoundError, `got ${error.name}: ${error.message}`)
        assert.match(error.message, /did not answer the challenge of leaf \d+ of slot 0: cannot prove leaf/)
        return true
      },
    )
  })

  test('a holder that has the pieces but not yet the manifest (a put stores it last) says so: no failed check', async (t) => {
    const holder = await holderHost(t)
    const checker = await startNode()
    t.after(() => stopAll([checker]))
    await connect(checker.network, holder.network)
    const file = await fileOn([holder.store], [0])
    await holder.store.delete(manifestPieceCid(file.manifestCid))
    await assert.rejects(
      challengeLeaf(
        checker.network,
        holder.network.peerId,
        { manifestCid: file.manifestCid.toString(), slotIndex: 0, leafIndex: 3 },
        expectOf(file, 0),
      ),
      (error: Error) => {
        assert.ok(error instanceof NotFoundError, `got ${error.name}: ${error.message}`)
        assert.equal(error.details?.unknownFile, true)
        assert.match(error.message, /this node has no manifest of/)
        return true
      },
    )
    await holder.store.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
    const { leaf } = await challengeLeaf(
      checker.network,
      holder.network.peerId,
      { manifestCid: file.manifestCid.toString(), slotIndex: 0, leafIndex: 3 },
      expectOf(file, 0),
    )
    assert.equal(leaf.byteLength, MERKLE_LEAF_SIZE)
  })

  test('a holder answering made-up bytes fails the check and loses score', async (t) => {
    const prove = async () => ({
      leaf: new Uint8Array(randomBytes(MERKLE_LEAF_SIZE)),
      proof: Array.from({ length: 9 }, () => new Uint8Array(randomBytes(32))),
    })
    const holder = await holderHost(t, { check: async () => undefined, prove })
    const checker = await startNode()
    t.after(() => stopAll([checker]))
    await connect(checker.network, holder.network)
    const file = await fileOn([holder.store], [0])
    await assert.rejects(
      challengeLeaf(
        checker.network,
        holder.network.peerId,
        { manifestCid: file.manifestCid.toString(), slotIndex: 0, leafIndex: 5 },
        expectOf(file, 0),
      ),
      (error: Error) => {
        assert.ok(error instanceof CorruptDataError, `got ${error.name}: ${error.message}`)
        assert.match(
          error.message,
          /answered leaf 5 of slot 0 of .* with bytes that do not verify against the slot root/,
        )
        return true
      },
    )
    assert.ok(checker.network.score(holder.network.peerId) < 0, 'the holder lost score')
  })

  test('on chain only staked peers may challenge; a failed slot is not reread for the same peer', async () => {
    let proofs = 0
    const answer = createLeafChallengeAnswerer({
      prover: {
        prove: async () => {
          proofs++
          throw new NotFoundError('piece gone')
        },
      },
      mayChallenge: (peer) => peer === 'staked',
    })
    const challenge = {
      type: 'leaf-request' as const,
      manifestCid: 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
      slotIndex: 0,
      leafIndex: 1,
      nonce: 7n,
    }
    const refused = await answer('stranger', challenge, {})
    assert.ok(!refused.granted && /only staked nodes may challenge/.test(refused.reason))
    for (let i = 0; i < 3; i++) assert.equal((await answer('staked', challenge, {})).granted, false)
    assert.equal(proofs, 1, 'one proof attempt, then refused from memory')
    const other58 = CID.parse(challenge.manifestCid).toString(base58btc)
    const other = await answer('staked', { ...challenge, manifestCid: other58 }, {})
    assert.ok(!other.granted && /give the manifest CID as/.test(other.reason))
  })

  test('the leaf messages round-trip and are length-capped', () => {
    const request = {
      type: 'leaf-request' as const,
      manifestCid: 'bafyabc',
      slotIndex: 3,
      leafIndex: 2 ** 40,
      nonce: 2n ** 255n,
    }
    assert.deepEqual(decodeSlotAcceptanceMessage(encodeSlotAcceptanceMessage(request)), request)
    const answer = {
      type: 'leaf-response' as const,
      granted: true as const,
      nonce: 9n,
      leaf: new Uint8Array(randomBytes(1024)),
      proof: [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)],
    }
    const body = encodeSlotAcceptanceMessage(answer)
    assert.deepEqual(decodeSlotAcceptanceMessage(body), answer)
    assert.throws(() => encodeSlotAcceptanceMessage({ ...answer, leaf: new Uint8Array(1025) }), /leaf over 1 KiB/)
    const oversize = Uint8Array.from(body)
    oversize[1 + 1 + 32] = 0x08 // leaf length 2048
    assert.throws(() => decodeSlotAcceptanceMessage(oversize), { name: 'ProtocolError', message: /leaf of \d+ bytes/ })
  })
})

/** Part two: nodes in one process, each a real repair service; pieces and challenges go through the holder's code. */
class Mesh {
  readonly nodes = new Map<
    string,
    {
      store: PieceStore
      served: PieceStore
      events: RepairEvent[]
      adopted: number
      dir: string
      down: boolean
      /** Pieces the node deleted from its disk but still claims. */
      dropped: Set<string>
    }
  >()
  readonly repairs = new Map<string, ReturnType<typeof createRepairService>>()
  /** With leaf challenges (the new check) or without (the whole-piece fetch only, as before). */
  readonly challenges: boolean

  constructor(challenges: boolean) {
    this.challenges = challenges
  }

  async add(peerId: string): Promise<void> {
    const store = createMemoryPieceStore()
    const events: RepairEvent[] = []
    const dir = await mkdtemp(join(tmpdir(), `cairn-leaf-${peerId}-`))
    const node = { store, served: store, events, adopted: 0, dir, down: false, dropped: new Set<string>() }
    const repair = createRepairService(
      { pieceStore: store, network: () => this.network(peerId) },
      {
        checkIntervalMs: 3_600_000,
        scrubIntervalMs: 3_600_000,
        confirmMs: 0,
        fallbackMs: 60_000,
        onProgress: (e) => events.push(e),
        onSlotRepaired: () => {
          node.adopted++
        },
      },
    )
    node.served = repair.pieceStore
    this.nodes.set(peerId, node)
    this.repairs.set(peerId, repair)
  }

  async stop(): Promise<void> {
    await Promise.all([...this.repairs.values()].map((r) => r.stop()))
    for (const node of this.nodes.values()) await rm(node.dir, { recursive: true, force: true })
  }

  #reach(peer: string) {
    const node = this.nodes.get(peer)
    if (node === undefined || node.down) throw new UnreachableError(`${peer} is down`)
    return node
  }

  network(self: string): RepairNetwork {
    const network: Partial<RepairNetwork> = {
      peerId: self,
      multiaddrs: () => [`/ip4/10.0.0.1/tcp/1/p2p/${self}`],
      peers: () =>
        [...this.nodes.entries()]
          .filter(([id]) => id !== self)
          .map(
            ([id, n], i): PeerView => ({
              peerId: id,
              state: n.down ? 'dead' : 'alive',
              lastSeenMs: 0,
              phi: 0,
              multiaddrs: [`/ip4/10.0.${i}.1/tcp/1`],
            }),
          ),
      storePiece: async (peer: string, cid: CID, bytes: Uint8Array) => {
        await this.#reach(peer).served.put(cid, bytes)
      },
      // What the network serves: the healing store (a piece missing on disk is rebuilt from the other holders).
      fetchPiece: async (peer: string, cid: CID) => await this.#reach(peer).served.get(cid),
      hasPieces: async (peer: string, cids: CID[]) => {
        const node = this.#reach(peer)
        // A holder claims every piece of its slots, dropped or not (the has answer is what it says).
        return await Promise.all(cids.map(async (c) => (await node.store.has(c)) || node.dropped.has(c.toString())))
      },
      watch: () => {},
    }
    if (this.challenges) {
      network.slotAcceptance = async (peer: string, request: SlotAcceptanceRequest): Promise<SlotAcceptanceAnswer> => {
        const node = this.#reach(peer)
        if (request.type === 'reserve-request') {
          return { type: 'reserve-response', granted: true, bytes: request.bytes, expiresAt: Date.now() + 60_000 }
        }
        if (request.type !== 'leaf-request') throw new Error('no acceptances here')
        const prover = createSlotProver({ pieceStore: node.store }, { cacheDir: join(node.dir, 'slots') })
        return await createLeafChallengeAnswerer({ prover, mayChallenge: () => true })(self, request, {})
      }
    }
    return network as RepairNetwork
  }
}

async function until<T>(check: () => Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`timed out: ${what}`)
}

/** a, b, c hold slots 0, 1, 2 of a k = 2, n = 3 file; c then drops every piece of its slot from its disk. */
async function dropperScene(t: After, challenges: boolean) {
  const mesh = new Mesh(challenges)
  t.after(() => mesh.stop())
  for (const id of ['a', 'b', 'c', 'spare']) await mesh.add(id)
  for (const repair of mesh.repairs.values()) await repair.start()
  const stores = ['a', 'b', 'c'].map((id) => mesh.nodes.get(id)!.store)
  const file = await fileOn(stores, [0, 1, 2])
  // The stores were written behind the repair services: register the file as a put would (the manifest through them).
  for (const id of ['a', 'b', 'c']) {
    await mesh.nodes.get(id)!.served.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
  }
  // The dropper learns which slot it holds (a check), then drops it; a checks it only afterwards.
  await mesh.repairs.get('c')!.check()
  const dropper = mesh.nodes.get('c')!
  for (const cid of slotPieces(file.manifest, 2)) {
    dropper.dropped.add(cid.toString())
    await dropper.store.delete(cid)
  }
  return { mesh, file }
}

describe('finding 3: a holder that claims pieces it dropped', () => {
  test('before: the whole-piece spot check passes it (its served store heals the piece from the others)', async (t) => {
    const { mesh } = await dropperScene(t, false)
    const a = mesh.repairs.get('a')!
    await a.check()
    const view = a.files()[0]!
    assert.equal(view.slots[2]!.peerId, 'c', 'the dropper counts as the holder of slot 2')
    assert.deepEqual(
      mesh.nodes.get('a')!.events.filter((e) => e.type === 'repair:holder-rejected'),
      [],
    )
  })

  test('with the leaf challenge it is caught, not counted, and its slot is rebuilt on an honest node', async (t) => {
    const { mesh, file } = await dropperScene(t, true)
    const a = mesh.repairs.get('a')!
    await a.check()
    const rejected = mesh.nodes.get('a')!.events.find((e) => e.type === 'repair:holder-rejected')
    assert.ok(rejected !== undefined && rejected.type === 'repair:holder-rejected', 'the dropper was rejected')
    assert.equal(rejected.peerId, 'c')
    assert.match(rejected.reason, /did not answer the challenge of leaf \d+ of slot 2: cannot prove leaf/)
    assert.ok(!a.files()[0]!.slots.some((s) => s.peerId === 'c'), 'the dropper holds no slot in the view')
    const spare = mesh.nodes.get('spare')!
    await until(async () => {
      for (const id of ['a', 'b', 'spare']) await mesh.repairs.get(id)!.check()
      return spare.adopted > 0 ? true : undefined
    }, 'the spare to adopt slot 2')
    for (const cid of slotPieces(file.manifest, 2)) assert.ok(await spare.store.has(cid))
  })
})
