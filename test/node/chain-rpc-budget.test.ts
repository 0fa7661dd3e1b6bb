/**
 * Measures the JSON-RPC requests a node's chain service makes per epoch, idle and holding N slots, through the
 * counting RPC proxy in front of anvil (1 s blocks, 20 s epochs, the devnet's): prints one table line per case with
 * the requests by method, and checks the idle budget (at most one block read and one log read per poll, about 2 per
 * second). Run: `npx node --test test/node/chain-rpc-budget.test.ts` (figures in docs/benchmarks.md).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { toHex } from 'viem'
import { createChainClient, createDeal, type Devchain, getEpochInfo, startDevchain } from '../../src/chain/index.ts'
import { createSlotProver } from '../../src/node/chain-service/index.ts'
import { createChainService } from '../../src/node/index.ts'
import { createSlotAcceptancePolicy } from '../../src/node/slot-acceptance.ts'
import { createMemoryPieceStore, encodeFile, manifestPieceCid } from '../../src/storage/index.ts'
import { type RpcProxy, startRpcProxy } from '../chain/rpc-proxy.ts'
import { waitFor } from '../wait-for.ts'

const EPOCH_SECONDS = 20
const SLOTS = 8

let devchain: Devchain
let proxy: RpcProxy
let dir: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-rpc-budget-'))
  devchain = await startDevchain({
    dir: join(dir, 'chain'),
    blockTime: 1,
    epochSeconds: EPOCH_SECONDS,
    params: { minPaymentPerSlotEpoch: 1n },
  })
  proxy = await startRpcProxy({ upstream: devchain.rpcUrl, maxLogRange: 2_000, maxRequestsPerSecond: 10_000 })
})
after(async () => {
  await proxy?.stop()
  await devchain?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

const client = (index: number) =>
  createChainClient({
    rpcUrl: devchain.rpcUrl,
    chainId: devchain.chainId,
    contracts: devchain.contracts,
    privateKey: devchain.accounts[index]!,
    pollingInterval: 50,
  })

/** Runs a node's chain service (through the proxy) holding `slots` one-slot deals; returns its requests by method. */
async function measure(index: number, slots: number): Promise<{ total: number; byMethod: Record<string, number> }> {
  const store = createMemoryPieceStore()
  const dataDir = join(dir, `node-${index}`)
  await mkdir(dataDir, { recursive: true })
  const service = createChainService(
    { pieceStore: store, peerId: () => `12D3KooWBudget${index}`, multiaddrs: () => [], capacity: () => 10n ** 12n },
    {
      rpcUrl: proxy.url,
      chainId: devchain.chainId,
      contracts: devchain.contracts,
      privateKey: devchain.accounts[index]!,
      dataDir,
      fromBlock: devchain.deployment.blockNumber,
      onEvent: () => {},
    },
  )
  await service.start()
  try {
    const nodeClient = client(index)
    const policy = createSlotAcceptancePolicy(
      {
        prover: createSlotProver({ pieceStore: store }, { cacheDir: join(dataDir, 'accept') }),
        chain: nodeClient,
        freeSpace: () => 10 ** 12,
      },
      { dataDir },
    )
    const user = client(1)
    for (let i = 0; i < slots; i++) {
      const encoded = encodeFile([randomBytes(20_000 + i)], { k: 1, n: 2 })
      for await (const piece of encoded.pieces) await store.put(piece.cid, piece.bytes)
      const file = await encoded.done
      await store.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
      const slot = file.manifest.slots[0]!
      const terms = {
        client: user.account.address,
        manifestCid: file.manifestCid.toString(),
        slotIndex: 0,
        root: toHex(slot.root),
        size: BigInt(slot.size),
        maxPricePerByteEpoch: 2_000_000n,
        durationEpochs: 20,
      }
      const answer = await policy.accept('12D3KooWBudgetClient', terms, {})
      if (!answer.granted) throw new Error(answer.reason)
      await createDeal(user, {
        manifestCid: terms.manifestCid,
        size: terms.size,
        k: 1,
        slots: [{ root: terms.root, size: terms.size, node: nodeClient.account.address, acceptance: answer }],
        durationEpochs: terms.durationEpochs,
        maxPricePerByteEpoch: terms.maxPricePerByteEpoch,
      })
    }
    // The deals start next epoch: count one whole epoch after that one began.
    const startEpoch = (await getEpochInfo(user)).epoch + 2
    await waitFor(
      async () => (await getEpochInfo(user)).epoch >= startEpoch || undefined,
      3 * EPOCH_SECONDS * 1000,
      'the epoch',
    )
    const from = proxy.records.length
    await waitFor(
      async () => (await getEpochInfo(user)).epoch >= startEpoch + 1 || undefined,
      2 * EPOCH_SECONDS * 1000,
      'the next epoch',
    )
    // the test's own epoch reads go to anvil directly, so every request counted is the service's
    const counted = proxy.records.slice(from)
    const byMethod: Record<string, number> = {}
    for (const r of counted) byMethod[r.method] = (byMethod[r.method] ?? 0) + 1
    return { total: counted.length, byMethod }
  } finally {
    await service.stop()
  }
}

test(`requests per ${EPOCH_SECONDS} s epoch: idle, and holding ${SLOTS} slots`, { timeout: 300_000 }, async () => {
  const idle = await measure(2, 0)
  console.log(`# idle node: ${idle.total} requests/epoch ${JSON.stringify(idle.byMethod)}`)
  const busy = await measure(3, SLOTS)
  console.log(`# node with ${SLOTS} slots: ${busy.total} requests/epoch ${JSON.stringify(busy.byMethod)}`)
  // one poll a second: a block read and, when a block was added, one log read
  assert.ok(idle.total <= EPOCH_SECONDS * 2 + 10, `idle: ${idle.total}`)
})
