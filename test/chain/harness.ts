/**
 * Shared set-up of the chain tests: one anvil per test file (automine, no block time: tests move time themselves),
 * contracts deployed once, a client per funded account, snapshot/revert around each test, epoch stepping, and slot
 * data with its Merkle tree built by the storage layer.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestClient, type Hex, http, parseEther, toHex } from 'viem'
import {
  type ChainClient,
  type ChainParams,
  createChainClient,
  type Devchain,
  drawSeed,
  getChallenge,
  getEpochInfo,
  startDevchain,
} from '../../src/chain/index.ts'
import { merkleLeafHashes, merkleLevels, merkleProof, merkleRoot } from '../../src/storage/merkle.ts'

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
    params: { epochSeconds: 100, unbondingDelaySeconds: 600, ...init.params },
  })
  const clients = devchain.accounts.map((privateKey) =>
    createChainClient({
      rpcUrl: devchain.rpcUrl,
      chainId: devchain.chainId,
      privateKey,
      contracts: devchain.contracts,
      pollingInterval: 10,
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
