/**
 * A storage node's chain service against a real anvil and the real contracts, with a real (in-memory) piece store
 * holding encoded files: it proves all its due slots in one batch transaction, and after a missed proof slashed and
 * jailed it, the running service tops its stake back up and unjails within an epoch or two.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { CID } from 'multiformats/cid'
import { type Hex, parseEventLogs, toHex } from 'viem'
import {
  confirmSlot,
  createDeal,
  getEpochInfo,
  getNode,
  getSlot,
  marketAbi,
  registryAbi,
  reportMissed,
  type SlotAcceptance,
  signSlotAcceptance,
} from '../../src/chain/index.ts'
import { NotFoundError } from '../../src/errors.ts'
import { createSlotProver } from '../../src/node/chain-service/index.ts'
import { type ChainServiceEvent, createChainService, DEFAULT_NODE_STAKE } from '../../src/node/index.ts'
import { createSlotAcceptancePolicy } from '../../src/node/slot-acceptance.ts'
import {
  createMemoryPieceStore,
  type EncodedFile,
  encodeFile,
  manifestPieceCid,
  type PieceStore,
  slotPieces,
} from '../../src/storage/index.ts'
import { CAIRN, MIN_STAKE, registerNodes, startTestChain, type TestChain } from '../chain/harness.ts'

const SLASH = 50n * CAIRN
const PRICE = 1_000_000n

let chain: TestChain
let dir: string

before(async () => {
  chain = await startTestChain({ accounts: 10, params: { slashPerMiss: SLASH, minStake: MIN_STAKE } })
  dir = await mkdtemp(join(tmpdir(), 'cairn-chain-service-'))
})
after(async () => {
  await chain?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

const user = () => chain.clients[1]!

/** Encodes `count` small files (k=1, n=2) into `store`; the node will hold slot 0 of each. */
async function storeFiles(store: PieceStore, count: number): Promise<EncodedFile[]> {
  const files: EncodedFile[] = []
  for (let i = 0; i < count; i++) {
    const encoded = encodeFile([randomBytes(20_000 + i * 3_001)], { k: 1, n: 2 })
    for await (const piece of encoded.pieces) await store.put(piece.cid, piece.bytes)
    const file = await encoded.done
    await store.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
    files.push(file)
  }
  return files
}

/** `store` behind a switch: while lost, no piece can be read (a disk gone read-only, say), so the node cannot prove. */
function unreliable(store: PieceStore) {
  let lost = false
  const flaky: Pick<PieceStore, 'get' | 'has'> = {
    get: (cid: CID, options) =>
      lost ? Promise.reject(new NotFoundError(`piece ${cid} is unreadable`)) : store.get(cid, options),
    has: (cid: CID, options) => (lost ? Promise.resolve(false) : store.has(cid, options)),
  }
  return {
    flaky,
    setLost: (value: boolean) => {
      lost = value
    },
  }
}

/** The data dir of the node of funded account `index`. */
const nodeDir = (index: number) => join(dir, `node-${index}`)

/**
 * A one-slot deal of slot 0 of `file`, held by the node of funded account `index`: the node's consent policy checks
 * `store` holds the slot and signs its acceptance (recorded in its data dir), as it does over /cairn/slot-accept.
 * `record: false` signs with the node's key without the policy (nothing recorded in its data dir).
 */
async function openDeal(file: EncodedFile, index: number, store: PieceStore, record = true): Promise<bigint> {
  const slot = file.manifest.slots[0]!
  const terms = {
    client: user().account.address,
    manifestCid: file.manifestCid.toString(),
    slotIndex: 0,
    root: toHex(slot.root),
    size: BigInt(slot.size),
    maxPricePerByteEpoch: 2n * PRICE,
    durationEpochs: 20,
  }
  let acceptance: SlotAcceptance
  if (record) {
    await mkdir(nodeDir(index), { recursive: true })
    const policy = createSlotAcceptancePolicy(
      {
        prover: createSlotProver({ pieceStore: store }, { cacheDir: join(nodeDir(index), 'accept-check') }),
        chain: chain.clients[index]!,
        freeSpace: () => 10 ** 12,
      },
      { dataDir: nodeDir(index) },
    )
    const answer = await policy.accept('12D3KooWTestClient', terms, {})
    if (!answer.granted) throw new Error(`node ${index} refused: ${answer.reason}`)
    acceptance = answer
  } else {
    acceptance = await signSlotAcceptance(chain.clients[index]!, {
      terms,
      expiry: Math.floor(Date.now() / 1000) + 3600,
    })
  }
  const { dealId } = await createDeal(user(), {
    manifestCid: terms.manifestCid,
    size: terms.size,
    k: 1,
    slots: [{ root: terms.root, size: terms.size, node: chain.clients[index]!.account.address, acceptance }],
    durationEpochs: terms.durationEpochs,
    maxPricePerByteEpoch: terms.maxPricePerByteEpoch,
  })
  return dealId
}

/** Starts a chain service for funded account `index` over `pieceStore`; stopped when the test ends. */
async function startService(
  t: { after: (fn: () => Promise<void>) => void },
  index: number,
  pieceStore: Pick<PieceStore, 'get' | 'has'>,
  watcher = false,
  stake?: bigint,
  pollMs = 100,
  healPiece?: (cid: CID) => Promise<Uint8Array>,
) {
  const events: ChainServiceEvent[] = []
  const service = createChainService(
    {
      pieceStore,
      ...(healPiece === undefined ? {} : { healPiece }),
      peerId: () => `12D3KooWChainServiceTest${index}`,
      multiaddrs: () => [`/ip4/127.0.0.1/tcp/${4100 + index}`],
      capacity: () => 10n ** 12n,
    },
    {
      rpcUrl: chain.devchain.rpcUrl,
      chainId: chain.devchain.chainId,
      contracts: chain.devchain.contracts,
      privateKey: chain.devchain.accounts[index]!,
      dataDir: await mkdir(nodeDir(index), { recursive: true }).then(() => nodeDir(index)),
      fromBlock: chain.devchain.deployment.blockNumber,
      pricePerByteEpoch: PRICE,
      pollMs,
      watcher,
      ...(stake === undefined ? {} : { stake }),
      onEvent: (event) => events.push(event),
    },
  )
  t.after(() => service.stop())
  await service.start()
  /** Resolves with the first event (seen so far or later) matching `match`. */
  const waitFor = async (
    what: string,
    match: (event: ChainServiceEvent) => boolean,
    timeoutMs = 15_000,
  ): Promise<ChainServiceEvent> => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const found = events.find(match)
      if (found !== undefined) return found
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(events)}`)
  }
  return { service, events, waitFor }
}

type ProvedEvent = Extract<ChainServiceEvent, { type: 'chain:proved' }>
const isProved =
  (dealId: bigint, minEpoch = 0) =>
  (e: ChainServiceEvent) =>
    e.type === 'chain:proved' && e.dealId === String(dealId) && e.epoch >= minEpoch
const isType = (type: ChainServiceEvent['type']) => (e: ChainServiceEvent) => e.type === type
const isConfirmed = (dealId: bigint) => (e: ChainServiceEvent) =>
  e.type === 'chain:confirmed' && e.dealId === String(dealId)

describe('chain service', () => {
  test('proves all its due slots of an epoch in one transaction', async (t) => {
    const store = createMemoryPieceStore()
    const files = await storeFiles(store, 4)
    const { service, waitFor, events } = await startService(t, 4, store)
    const dealIds: bigint[] = []
    for (const file of files) dealIds.push(await openDeal(file, 4, store))
    for (const id of dealIds) await waitFor(`confirmation of deal ${id}`, isConfirmed(id))
    const epoch = await chain.nextEpoch()

    const proved: ProvedEvent[] = []
    for (const id of dealIds) proved.push((await waitFor(`proof of deal ${id}`, isProved(id))) as ProvedEvent)
    assert.deepEqual(
      proved.map((e) => e.epoch),
      dealIds.map(() => epoch),
    )
    const hashes = new Set(proved.map((e) => e.transactionHash))
    assert.equal(hashes.size, 1, `one transaction for ${dealIds.length} slots: ${[...hashes].join(', ')}`)
    const receipt = await user().getTransactionReceipt({ hash: [...hashes][0] as Hex })
    const accepted = parseEventLogs({ abi: marketAbi, logs: receipt.logs, eventName: 'ProofAccepted' })
    assert.deepEqual(
      accepted.map((l) => [l.args.dealId, l.args.node, l.args.epoch]).sort(),
      dealIds.map((id) => [id, service.account, BigInt(epoch)]).sort(),
    )
    for (const dealId of dealIds) {
      assert.equal((await getSlot(user(), { dealId, slotIndex: 0 })).nextEpoch, epoch + 1)
    }
    assert.equal(events.filter((e) => e.type === 'chain:error').length, 0, JSON.stringify(events))
  })

  test('a running node slashed below the minimum and jailed tops its stake up and unjails', async (t) => {
    const store = createMemoryPieceStore()
    const [file] = await storeFiles(store, 1)
    // The node loses access to its pieces for one epoch (a disk gone read-only, say): it cannot prove.
    const { flaky, setLost } = unreliable(store)
    // A node that staked exactly the minimum (no margin): one miss jails it.
    const { service, waitFor } = await startService(t, 5, flaky, false, MIN_STAKE)
    const account = service.account
    const registered = await getNode(user(), { account })
    assert.deepEqual([registered.status, registered.stake], ['active', MIN_STAKE])

    const dealId = await openDeal(file!, 5, store)
    await waitFor('confirmation', isConfirmed(dealId))
    setLost(true)
    const missedEpoch = await chain.nextEpoch()
    await waitFor('a failed proof', isType('chain:error'))
    const reportEpoch = await chain.nextEpoch()
    // A watcher records the miss (the node may have recorded it itself already: then nothing is left to report).
    const report = await reportMissed(user(), { dealId, slotIndex: 0 }).catch(() => undefined)
    if (report !== undefined) assert.deepEqual([report.missed, report.slashed], [1, SLASH])
    setLost(false)

    // The service checks its standing once per epoch: within this epoch or the next it is back.
    const unjailed = waitFor('unjail', isType('chain:unjailed'), 4_000).catch(async () => {
      await chain.nextEpoch()
      return waitFor('unjail', isType('chain:unjailed'))
    })
    await unjailed
    const staked = await waitFor('top-up', isType('chain:staked'))
    assert.equal((staked as { amount: string }).amount, String(SLASH))

    const node = await getNode(user(), { account })
    assert.deepEqual([node.status, node.stake, node.missedProofs], ['active', MIN_STAKE, 1])
    // The Registry's record, in order: slashed below the minimum, jailed, topped up, unjailed.
    const logs = await user().getContractEvents({
      address: chain.devchain.contracts.registry,
      abi: registryAbi,
      fromBlock: chain.devchain.deployment.blockNumber,
    })
    const story = logs
      .filter((l) => (l.args as { node?: string }).node === account)
      .map((l) => {
        if (l.eventName === 'StakeSlashed') return `slashed ${l.args.amount} to ${l.args.stake}`
        if (l.eventName === 'StakeAdded') return `added ${l.args.amount} to ${l.args.stake}`
        return l.eventName
      })
    assert.deepEqual(story, [
      'NodeRegistered',
      'EndpointsUpdated',
      `slashed ${SLASH} to ${MIN_STAKE - SLASH}`,
      'NodeJailed',
      `added ${SLASH} to ${MIN_STAKE}`,
      'NodeUnjailed',
    ])
    const unjailLog = logs.find((l) => l.eventName === 'NodeUnjailed' && l.args.node === account)!
    const block = await user().getBlock({ blockNumber: unjailLog.blockNumber })
    const info = await getEpochInfo(user())
    const unjailEpoch = Math.floor((Number(block.timestamp) - info.genesis) / info.epochSeconds)
    assert.ok(unjailEpoch - reportEpoch <= 1, `unjailed in epoch ${unjailEpoch}, slashed in ${reportEpoch}`)

    // Back in service: it proves its slot again (the missed epoch stays unpaid).
    await waitFor('a proof after the miss', isProved(dealId, reportEpoch))
    const slot = await getSlot(user(), { dealId, slotIndex: 0 })
    assert.equal(slot.state, 'active')
    assert.ok(slot.nextEpoch > missedEpoch + 1)
  })

  test('a slot confirmed during a running epoch is proven in the same tick, before that epoch ends', async (t) => {
    // The Market makes a slot confirmed in epoch e owe e's proof. The node below ticks once a minute: the deal has
    // already started when it first looks, so only a proof sent in the confirming tick can be on time.
    const late = chain.clients[2]!
    await registerNodes([late])
    const store = createMemoryPieceStore()
    const [file] = await storeFiles(store, 1)
    const dealId = await openDeal(file!, 2, store)
    const startEpoch = await chain.nextEpoch()
    const { waitFor } = await startService(t, 2, store, false, undefined, 60_000)
    await waitFor('confirmation', isConfirmed(dealId))
    const proved = (await waitFor('the proof of the confirming epoch', isProved(dealId), 20_000)) as ProvedEvent
    assert.equal(proved.epoch, startEpoch)
    const slot = await getSlot(user(), { dealId, slotIndex: 0 })
    assert.deepEqual([slot.misses, slot.nextEpoch], [0, startEpoch + 1])
  })

  test('with the default stake margin a missed proof is slashed but the node stays active', async (t) => {
    const store = createMemoryPieceStore()
    const [file] = await storeFiles(store, 1)
    const { flaky, setLost } = unreliable(store)
    const { service, events, waitFor } = await startService(t, 3, flaky)
    const account = service.account
    assert.equal((await getNode(user(), { account })).stake, DEFAULT_NODE_STAKE)
    assert.ok(DEFAULT_NODE_STAKE >= MIN_STAKE + 3n * SLASH, 'the default stake leaves a margin of three misses')
    const dealId = await openDeal(file!, 3, store)
    await waitFor('confirmation', isConfirmed(dealId))
    setLost(true)
    await chain.nextEpoch()
    await waitFor('a failed proof', isType('chain:error'))
    const reportEpoch = await chain.nextEpoch()
    await reportMissed(user(), { dealId, slotIndex: 0 }).catch(() => undefined)
    setLost(false)
    const node = await getNode(user(), { account })
    assert.deepEqual([node.status, node.stake, node.missedProofs], ['active', DEFAULT_NODE_STAKE - SLASH, 1])
    await waitFor('a proof after the miss', isProved(dealId, reportEpoch))
    assert.equal(events.filter((e) => e.type === 'chain:unjailed').length, 0, 'never jailed')
  })

  test('proves only from its own disk: a missing piece misses the epoch even when healed at once (finding 5)', async (t) => {
    const store = createMemoryPieceStore()
    const [file] = await storeFiles(store, 1)
    const piece = slotPieces(file!.manifest, 0)[0]!
    const copy = await store.get(piece)
    // Another holder's copy arrives the moment it is asked for: what a node keeping nothing would fetch at proof time.
    const healPiece = async (cid: CID) => {
      await store.put(cid, copy)
      return copy
    }
    const { waitFor } = await startService(t, 9, store, false, undefined, 100, healPiece)
    const dealId = await openDeal(file!, 9, store)
    await waitFor('confirmation', isConfirmed(dealId))
    const first = await chain.nextEpoch()
    await waitFor('the proof of a whole slot', isProved(dealId, first))
    await store.delete(piece)
    const missed = await chain.nextEpoch()
    await waitFor('the failed proof', (e) => e.type === 'chain:error' && e.action === `slot ${dealId}:0`)
    await waitFor('the slot healed', isType('chain:healed'))
    assert.ok(await store.has(piece), 'the piece is back on disk')
    // The node ticks every 100 ms: for 2 s (20 ticks) of the same epoch, none proves it from the healed piece.
    const provedAnyway = await waitFor('a proof of the missed epoch', isProved(dealId, missed), 2_000).then(
      () => true,
      () => false,
    )
    assert.equal(provedAnyway, false, 'the epoch of the missing piece was proven from a piece fetched at proof time')
    assert.equal((await getSlot(user(), { dealId, slotIndex: 0 })).nextEpoch, missed)
    // The next epoch is proven from the healed disk.
    const next = await chain.nextEpoch()
    await waitFor('the proof after healing', isProved(dealId, next))
  })

  test('a node confirms only a slot whose acceptance it signed and recorded (finding 2)', async (t) => {
    // The node's key signed this slot's acceptance elsewhere (another machine, a data dir restored from an old
    // backup): the Market opens the slot, but this node has no record of consenting and leaves it unconfirmed.
    await registerNodes([chain.clients[8]!])
    const store = createMemoryPieceStore()
    const [file] = await storeFiles(store, 1)
    const dealId = await openDeal(file!, 8, store, false)
    const { waitFor, events } = await startService(t, 8, store)
    const refused = await waitFor('the refusal', isType('chain:refused'))
    assert.match((refused as { reason: string }).reason, /signed no acceptance of this slot/)
    assert.equal(events.filter(isConfirmed(dealId)).length, 0)
    assert.equal((await getSlot(user(), { dealId, slotIndex: 0 })).state, 'pending')
  })

  test('a watcher holding a full copy of an open slot takes it over on chain', async (t) => {
    // Slot 0 of a k = 1 file is held on chain by a node that never proves; the watcher holds a copy (left, say, by
    // a repair that raced another): once the slot opens it takes it with repairSlot and is paid the bounty.
    const absent = chain.clients[6]!
    await registerNodes([absent])
    const store = createMemoryPieceStore()
    const [file] = await storeFiles(store, 1)
    const dealId = await openDeal(file!, 6, store)
    await confirmSlot(absent, { dealId, slotIndex: 0 })
    const { service, waitFor } = await startService(t, 7, store, true)
    const info = await getEpochInfo(user())
    for (let epoch = info.epoch + 1; (await getSlot(user(), { dealId, slotIndex: 0 })).state !== 'open'; epoch++) {
      await chain.nextEpoch(epoch)
      await reportMissed(user(), { dealId, slotIndex: 0 }).catch(() => undefined) // or the watcher was first
      assert.ok(epoch < info.epoch + 10, 'the slot never opened')
    }
    // Half-way into the epoch every watcher has looked at the deals (each waits a per-account offset).
    const now = await getEpochInfo(user())
    await chain.test.setNextBlockTimestamp({ timestamp: BigInt(now.endsAt - now.epochSeconds / 2) })
    await chain.test.mine({ blocks: 1 })
    const repaired = await waitFor('the takeover', isType('chain:repaired'))
    assert.equal((repaired as { dealId: string }).dealId, String(dealId))
    const slot = await getSlot(user(), { dealId, slotIndex: 0 })
    assert.deepEqual([slot.node, slot.state, slot.misses], [service.account, 'active', 0])
    assert.equal((repaired as { bounty: string }).bounty, String(3n * SLASH))
  })
})
