/**
 * Finding 4 of issue 12: a node on chain tracks (watches, probes, repairs) a stored manifest only when it accepted a
 * slot of it, or when a Registry-active staked node sent it under its upload reservation (a repair onto this node).
 * The node's real consent policy signs on a real anvil; the repair service is the real one over an in-memory store.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { CID } from 'multiformats/cid'
import { toHex } from 'viem'
import { readmitStoredManifest } from '../../src/node/accepted-manifests.ts'
import { createSlotProver } from '../../src/node/chain-service/index.ts'
import { createRepairService, type RepairEvent, type RepairService } from '../../src/node/repair/index.ts'
import { createSlotAcceptancePolicy, type SlotAcceptancePolicy } from '../../src/node/slot-acceptance.ts'
import { signUploadTicket } from '../../src/node/upload-ticket.ts'
import {
  createMemoryPieceStore,
  type EncodedFile,
  encodeFile,
  manifestPieceCid,
  type PieceStore,
  slotPieces,
} from '../../src/storage/index.ts'
import { PRICE, registerNodes, startTestChain, type TestChain } from '../chain/harness.ts'

const STAKED = '12D3KooWStakedRepairer'
const CLIENT = '12D3KooWSomeClient'
const STRANGER = '12D3KooWStranger'

let chain: TestChain
let dir: string

before(async () => {
  chain = await startTestChain({ accounts: 3 })
  await registerNodes([chain.clients[2]!])
  dir = await mkdtemp(join(tmpdir(), 'cairn-slot-acceptance-'))
})
after(async () => {
  await chain?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

interface TestNode {
  store: PieceStore
  policy: SlotAcceptancePolicy
  repair: RepairService
  ignored: string[]
}

/** The node of chain account 2 as storage-node.ts wires it on chain: policy and repair service over one store. */
async function startNode(dataDir: string, store: PieceStore = createMemoryPieceStore()): Promise<TestNode> {
  const ignored: string[] = []
  let policy: SlotAcceptancePolicy | undefined
  const repair = createRepairService(
    {
      pieceStore: store,
      network: () => {
        throw new Error('no network in this test')
      },
    },
    {
      dataDir,
      checkIntervalMs: 3_600_000,
      scrubIntervalMs: 3_600_000,
      isAcceptedManifest: async (cid: CID) => (await policy?.manifests.has(cid)) === true,
      onProgress: (event: RepairEvent) => {
        if (event.type === 'repair:file-ignored') ignored.push(event.manifestCid)
      },
    },
  )
  policy = createSlotAcceptancePolicy(
    {
      prover: createSlotProver({ pieceStore: store }, { cacheDir: join(dataDir, 'slot-cache') }),
      chain: chain.clients[2]!,
      freeSpace: () => 10 ** 12,
      isStaked: (peerId) => peerId === STAKED,
      readmitManifest: readmitStoredManifest(store, repair),
    },
    { dataDir },
  )
  await repair.start()
  return { store, policy, repair, ignored }
}

/** A k = 1, n = 2 file: its pieces (by slot) and manifest. */
async function makeFile(): Promise<{ file: EncodedFile; pieces: Map<string, Uint8Array> }> {
  const encoded = encodeFile([randomBytes(30_000)], { k: 1, n: 2 })
  const pieces = new Map<string, Uint8Array>()
  for await (const piece of encoded.pieces) pieces.set(piece.cid.toString(), piece.bytes)
  return { file: await encoded.done, pieces }
}

/** `peer` reserves room on the node and stores slot `slot`'s pieces (if any) then the manifest, as over the wire. */
async function upload(node: TestNode, peer: string, file: EncodedFile, pieces: Map<string, Uint8Array>, slot?: number) {
  // On chain a client or a stranger needs an upload ticket of a funded account; the staked repairer needs none.
  const ticket =
    peer === STAKED
      ? undefined
      : await signUploadTicket(chain.clients[peer === CLIENT ? 1 : 0]!, {
          node: chain.clients[2]!.account.address,
          bytes: 1_000_000,
          seconds: 600,
        })
  const request = { bytes: 1_000_000, seconds: 600, ...(ticket === undefined ? {} : { ticket }) }
  const reservation = await node.policy.reserve(peer, request, {})
  assert.equal(reservation.granted, true)
  const send = async (cid: CID, bytes: Uint8Array) => {
    assert.equal(node.policy.admitStore(peer, cid, bytes.byteLength), undefined)
    await node.repair.pieceStore.put(cid, bytes)
  }
  if (slot !== undefined)
    for (const cid of slotPieces(file.manifest, slot)) await send(cid, pieces.get(cid.toString())!)
  await send(manifestPieceCid(file.manifestCid), file.manifestBytes)
}

const tracked = (node: TestNode) => node.repair.files().map((f) => f.manifestCid)

describe('a node on chain tracks a manifest only when an accepted slot refers to it (finding 4)', () => {
  const dataDir = () => join(dir, 'node')
  let node: TestNode
  let forged: EncodedFile
  let put: EncodedFile
  let repaired: EncodedFile

  it('a manifest a stranger stores under its own reservation is refused: no file tracked, the reason says why', async () => {
    node = await startNode(dataDir())
    const { file, pieces } = await makeFile()
    forged = file
    await upload(node, STRANGER, file, pieces, 0)
    assert.deepEqual(tracked(node), [])
    assert.deepEqual(node.ignored, [file.manifestCid.toString()])
  })

  it("a client's manifest, refused when stored before the acceptance, is tracked once the node signs a slot of it", async () => {
    const { file, pieces } = await makeFile()
    put = file
    await upload(node, CLIENT, file, pieces, 0)
    assert.deepEqual(tracked(node), [], 'not tracked before any acceptance')
    const slot = file.manifest.slots[0]!
    const answer = await node.policy.accept(
      CLIENT,
      {
        client: chain.clients[1]!.account.address,
        manifestCid: file.manifestCid.toString(),
        slotIndex: 0,
        root: toHex(slot.root),
        size: BigInt(slot.size),
        maxPricePerByteEpoch: 2n * PRICE,
        durationEpochs: 20,
      },
      {},
    )
    assert.equal(answer.granted, true, answer.granted ? '' : answer.reason)
    assert.deepEqual(tracked(node), [file.manifestCid.toString()])
    assert.equal(node.repair.file(file.manifestCid)?.adopting, false, 'the node holds a slot of it: not adopting')
  })

  it('a manifest a staked node sends under its reservation (a repair onto this node) is tracked at once', async () => {
    const { file } = await makeFile()
    repaired = file
    await upload(node, STAKED, file, new Map())
    const view = node.repair.file(file.manifestCid)
    assert.ok(view !== undefined, 'the repaired file is tracked')
    assert.equal(view.adopting, true)
  })

  it('after a restart the accepted and the repaired files are tracked again, the forged one still not', async () => {
    await node.repair.stop()
    const again = await startNode(dataDir(), node.store)
    try {
      assert.deepEqual(
        tracked(again).sort(),
        [put.manifestCid.toString(), repaired.manifestCid.toString()].sort(),
        'tracked after restart',
      )
      assert.equal(again.repair.file(forged.manifestCid), undefined)
    } finally {
      await again.repair.stop()
    }
  })
})
