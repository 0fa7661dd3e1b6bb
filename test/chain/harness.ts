/**
 * Shared set-up of the chain tests: one anvil per test file (automine, no block time: tests move time themselves),
 * contracts deployed once, a client per funded account, snapshot/revert around each test (`useTestChain`), epoch
 * stepping, and slot data with its Merkle tree built by the storage layer.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before } from 'node:test'
import { type Address, createTestClient, type Hex, http, parseEther, toHex } from 'viem'
import {
  type ChainClient,
  type ChainParams,
  type CreateDealParams,
  cairnTokenAbi,
  confirmSlot,
  createChainClient,
  createDeal,
  type Devchain,
  drawSeed,
  getChallenge,
  getEpochInfo,
  registerNode,
  signDealAcceptances,
  startDevchain,
  submitProof,
} from '../../src/chain/index.ts'
import { CairnError } from '../../src/errors.ts'
import { merkleLeafHashes, merkleLevels, merkleProof, merkleRoot } from '../../src/storage/index.ts'

export const CAIRN = 10n ** 18n
export const MIN_STAKE = 1_000n * CAIRN
export const PRICE = 1_000_000n

export interface TestChain {
  devchain: Devchain
  dir: string
  /** clients[0] deployed the contracts; the others are plain funded accounts. */
  clients: ChainClient[]
  test: ReturnType<typeof makeTestClient>
  snapshot(): Promise<Hex>
  revert(id: Hex): Promise<void>
  /** Moves the chain to the first second of the next epoch (or of `epoch`). Returns the new epoch. */
  nextEpoch(epoch?: number): Promise<number>
  stop(): Promise<void>
}

function makeTestClient(rpcUrl: string) {
  return createTestClient({ mode: 'anvil', transport: http(rpcUrl) })
}

export async function startTestChain(
  init: { accounts?: number; params?: Partial<ChainParams> } = {},
): Promise<TestChain> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-chain-test-'))
  const devchain = await startDevchain({
    dir,
    blockTime: 0,
    accounts: init.accounts ?? 8,
    // A minimum payment of 1 unit: a slot is paid exactly size x price (tests that need the real minimum set it).
    params: { epochSeconds: 100, unbondingDelaySeconds: 600, minPaymentPerSlotEpoch: 1n, ...init.params },
  })
  const clients = devchain.accounts.map((privateKey) =>
    createChainClient({
      rpcUrl: devchain.rpcUrl,
      chainId: devchain.chainId,
      privateKey,
      contracts: devchain.contracts,
      pollingInterval: 10,
      batch: true,
    }),
  )
  const test = makeTestClient(devchain.rpcUrl)
  return {
    devchain,
    dir,
    clients,
    test,
    snapshot: () => test.snapshot(),
    revert: async (id) => {
      await test.revert({ id })
    },
    async nextEpoch(epoch) {
      const info = await getEpochInfo(clients[0]!)
      const target = epoch ?? info.epoch + 1
      const timestamp = BigInt(info.genesis + target * info.epochSeconds)
      if (timestamp > BigInt(info.now)) await test.setNextBlockTimestamp({ timestamp })
      await test.mine({ blocks: 1 })
      return target
    },
    async stop() {
      await devchain.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * The chain of a test file: registers file-level hooks that start it (then run `setup`, e.g. registering nodes, and
 * take a snapshot) before the first test, revert to that snapshot after each test, and stop it after the last. Call it
 * once at the top level of a test file; the returned chain is usable inside tests and hooks.
 *
 * @example
 * ```ts
 * const chain = useTestChain({ setup: (c) => registerNodes(c.clients.slice(2, 6)) })
 * test('...', async () => { await chain.nextEpoch() })
 * ```
 */
export function useTestChain(
  init: { accounts?: number; params?: Partial<ChainParams>; setup?: (chain: TestChain) => Promise<void> } = {},
): TestChain {
  let started: TestChain | undefined
  let snapshot: Hex
  const chain = (): TestChain => {
    if (started === undefined) throw new Error('the test chain is not started: use it inside a test or a hook')
    return started
  }
  before(async () => {
    started = await startTestChain(init)
    await init.setup?.(started)
    snapshot = await started.snapshot()
  })
  afterEach(async () => {
    await chain().revert(snapshot)
    snapshot = await chain().snapshot()
  })
  after(async () => {
    await started?.stop()
  })
  return {
    get devchain() {
      return chain().devchain
    },
    get dir() {
      return chain().dir
    },
    get clients() {
      return chain().clients
    },
    get test() {
      return chain().test
    },
    snapshot: () => chain().snapshot(),
    revert: (id) => chain().revert(id),
    nextEpoch: (epoch) => chain().nextEpoch(epoch),
    stop: () => chain().stop(),
  }
}

/** Deterministic pseudo-random slot data. */
export function slotData(size: number, seed = 1): Uint8Array {
  const data = new Uint8Array(size)
  let x = seed * 2654435761
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    data[i] = x >>> 24
  }
  return data
}

/** A slot as a node holds it: its bytes, root and tree. */
export interface HeldSlot {
  data: Uint8Array
  root: Hex
  size: bigint
  levels: Uint8Array[][]
}

export function holdSlot(data: Uint8Array): HeldSlot {
  return {
    data,
    root: toHex(merkleRoot(data)),
    size: BigInt(data.byteLength),
    levels: merkleLevels(merkleLeafHashes(data)),
  }
}

/** Leaf and path for leaf `index` of a held slot. */
export function slotProof(slot: HeldSlot, index: number): { leaf: Uint8Array; proof: Uint8Array[] } {
  return { leaf: slot.data.subarray(index * 1024, (index + 1) * 1024), proof: merkleProof(slot.levels, index) }
}

/** Draws the seed if needed and returns the current challenge of a slot. */
export async function challengeOf(client: ChainClient, dealId: bigint, slotIndex: number) {
  let challenge = await getChallenge(client, { dealId, slotIndex })
  if (challenge === undefined) {
    await drawSeed(client)
    challenge = await getChallenge(client, { dealId, slotIndex })
  }
  return challenge!
}

export const ONE_ETHER = parseEther('1')

/** Registers `nodes` as storage nodes at `price` with the minimum stake. */
export async function registerNodes(nodes: ChainClient[], price = PRICE): Promise<void> {
  for (const [i, node] of nodes.entries()) {
    await registerNode(node, {
      peerId: `12D3KooWNode${i}`,
      multiaddrs: [`/ip4/127.0.0.1/tcp/${4000 + i}`],
      capacity: 10n ** 12n,
      pricePerByteEpoch: price,
      stake: MIN_STAKE,
    })
  }
}

/** `params` with every slot's acceptance signed by its node (the client among `signers` with the slot's address). */
export const accepted = signDealAcceptances

/** `createDeal` with every slot accepted by its node (found among `signers`). */
export async function createAcceptedDeal(owner: ChainClient, signers: ChainClient[], params: CreateDealParams) {
  return createDeal(owner, await accepted(owner, signers, params))
}

/** Opens a deal for `slots` held by `nodes` (one each) and returns its id. */
export async function openDeal(
  user: ChainClient,
  nodes: ChainClient[],
  slots: HeldSlot[],
  init: { durationEpochs?: number; k?: number; confirm?: boolean } = {},
): Promise<bigint> {
  const params = await accepted(user, nodes, {
    manifestCid: 'bafyreimanifest',
    size: slots.reduce((sum, s) => sum + s.size, 0n),
    k: init.k ?? 1,
    slots: slots.map((s, i) => ({ root: s.root, size: s.size, node: nodes[i]!.account.address })),
    durationEpochs: init.durationEpochs ?? 10,
    maxPricePerByteEpoch: PRICE * 2n,
  })
  const { dealId } = await createDeal(user, params)
  if (init.confirm ?? true) {
    for (const [i, node] of nodes.entries()) await confirmSlot(node, { dealId, slotIndex: i })
  }
  return dealId
}

/** Proves the current challenge of one slot with the held data. */
export async function proveHeld(node: ChainClient, dealId: bigint, slotIndex: number, slot: HeldSlot) {
  const challenge = await challengeOf(node, dealId, slotIndex)
  return submitProof(node, { dealId, slotIndex, ...slotProof(slot, challenge.leafIndex) })
}

/** Asserts that `promise` rejects with the decoded contract error `errorName` and a message matching `message`. */
export async function rejectsWith(promise: Promise<unknown>, errorName: string, message?: RegExp): Promise<CairnError> {
  try {
    await promise
  } catch (error) {
    if (!(error instanceof CairnError)) throw error
    if (error.details?.errorName !== errorName) {
      throw new Error(`expected ${errorName}, got ${String(error.details?.errorName)}: ${error.message}`, {
        cause: error,
      })
    }
    if (message !== undefined && !message.test(error.message)) {
      throw new Error(`message ${JSON.stringify(error.message)} does not match ${message}`)
    }
    return error
  }
  throw new Error(`expected a revert with ${errorName}, but the call succeeded`)
}

/** Token balance of an address. */
export function tokenBalance(client: ChainClient, account: Address): Promise<bigint> {
  return client.readContract({
    address: client.contracts.token,
    abi: cairnTokenAbi,
    functionName: 'balanceOf',
    args: [account],
  })
}
