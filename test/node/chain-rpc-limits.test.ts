/**
 * A real storage node process (`cairn node start --chain-rpc URL --contracts FILE --key-file FILE`) on a chain it
 * reaches only through a JSON-RPC proxy that behaves like a public endpoint: eth_getLogs over 2,000 blocks refused,
 * HTTP 429 above 25 requests/s, anvil_/evm_/filter methods refused. The chain has a history of over 5,000 blocks
 * before the node starts. The node registers, confirms and proves its slots and is paid, with no oversized log range
 * and no filter or anvil-only call reaching the proxy; after a restart it goes on from its saved cursor (no eth_getLogs
 * starts at the deployment block again). The test steps chain time directly on anvil, never through the proxy.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { toHex } from 'viem'
import { createDeal, getBalances } from '../../src/chain/index.ts'
import { createSlotProver } from '../../src/node/chain-service/index.ts'
import { PIECES_DIR } from '../../src/node/constants.ts'
import { createSlotAcceptancePolicy } from '../../src/node/slot-acceptance.ts'
import {
  createFsPieceStore,
  createMemoryPieceStore,
  type EncodedFile,
  encodeFile,
  manifestPieceCid,
} from '../../src/storage/index.ts'
import { startTestChain, type TestChain } from '../chain/harness.ts'
import { type RpcProxy, startRpcProxy } from '../chain/rpc-proxy.ts'
import { type LongRunning, startCairn, waitFor } from '../e2e/devnet-fixture.ts'

const MAX_LOG_RANGE = 2_000
const RATE = 25
const SLOTS = 3
const HISTORY_BLOCKS = 5_200
const NODE = 2

let chain: TestChain
let proxy: RpcProxy
let dir: string
let node: LongRunning | undefined
const files: EncodedFile[] = []
/** The same pieces in memory: the acceptance is signed in this process while the node holds its store's lock. */
const copy = createMemoryPieceStore()
const dealIds: bigint[] = []

const nodeDir = () => join(dir, 'node')
const lines = () =>
  (node?.lines ?? []).flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>]
    } catch {
      return []
    }
  })
const saw = (event: string, match: (e: Record<string, unknown>) => boolean = () => true) =>
  lines().some((e) => e.event === event && match(e))

function startNode(): LongRunning {
  return startCairn([
    'node',
    'start',
    '--dir',
    nodeDir(),
    '--listen',
    '/ip4/127.0.0.1/tcp/0',
    '--api-port',
    '0',
    '--no-mdns',
    '--chain-rpc',
    proxy.url,
    '--contracts',
    join(dir, 'contracts.json'),
    '--key-file',
    join(dir, 'node.key'),
  ])
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-rpc-limits-'))
  chain = await startTestChain({ accounts: 4 })
  // A long history before the node starts: reading it needs several windows.
  for (let mined = 0; mined < HISTORY_BLOCKS; mined += 400) await chain.test.mine({ blocks: 400 })
  proxy = await startRpcProxy({
    upstream: chain.devchain.rpcUrl,
    maxLogRange: MAX_LOG_RANGE,
    maxRequestsPerSecond: RATE,
  })
  const { deployment } = chain.devchain
  await writeFile(
    join(dir, 'contracts.json'),
    JSON.stringify({
      chainId: deployment.chainId,
      contracts: deployment.contracts,
      blockNumber: String(deployment.blockNumber),
    }),
  )
  await writeFile(join(dir, 'node.key'), `${chain.devchain.accounts[NODE]}\n`, { mode: 0o600 })
  // The node's pieces are on its disk before it starts (as after an upload).
  await mkdir(nodeDir(), { recursive: true })
  const store = createFsPieceStore({ path: join(nodeDir(), PIECES_DIR) })
  await store.start?.()
  for (let i = 0; i < SLOTS; i++) {
    const encoded = encodeFile([randomBytes(30_000 + i * 1_001)], { k: 1, n: 2 })
    for await (const piece of encoded.pieces) {
      await store.put(piece.cid, piece.bytes)
      await copy.put(piece.cid, piece.bytes)
    }
    const file = await encoded.done
    await store.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
    await copy.put(manifestPieceCid(file.manifestCid), file.manifestBytes)
    files.push(file)
  }
  await store.stop?.()
})
after(async () => {
  await node?.stop('SIGKILL')
  await proxy?.stop()
  await chain?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** Opens one deal per file, each slot 0 held by the node, with the node's signed (and recorded) acceptance. */
async function openDeals(): Promise<void> {
  const user = chain.clients[1]!
  const policy = createSlotAcceptancePolicy(
    {
      prover: createSlotProver({ pieceStore: copy }, { cacheDir: join(dir, 'accept-check') }),
      chain: chain.clients[NODE]!,
      freeSpace: () => 10 ** 12,
    },
    { dataDir: nodeDir() },
  )
  for (const file of files) {
    const slot = file.manifest.slots[0]!
    const terms = {
      client: user.account.address,
      manifestCid: file.manifestCid.toString(),
      slotIndex: 0,
      root: toHex(slot.root),
      size: BigInt(slot.size),
      maxPricePerByteEpoch: 2_000_000n,
      durationEpochs: 10,
    }
    const answer = await policy.accept('12D3KooWRpcLimitsTestClient', terms, {})
    if (!answer.granted) throw new Error(`the node refused: ${answer.reason}`)
    const { dealId } = await createDeal(user, {
      manifestCid: terms.manifestCid,
      size: terms.size,
      k: 1,
      slots: [{ root: terms.root, size: terms.size, node: chain.clients[NODE]!.account.address, acceptance: answer }],
      durationEpochs: terms.durationEpochs,
      maxPricePerByteEpoch: terms.maxPricePerByteEpoch,
    })
    dealIds.push(dealId)
  }
}

const provedAll = (epoch: number) => () =>
  dealIds.every((id) => saw('chain:proved', (e) => e.dealId === String(id) && Number(e.epoch) === epoch)) || undefined

describe('a node behind an endpoint with public limits', { timeout: 240_000 }, () => {
  test('registers, confirms and proves its slots and is paid, within the limits', async () => {
    node = startNode()
    await node.waitForLine((line) => line.includes('"chain:registered"'), 90_000)
    await openDeals()
    await waitFor(
      () => dealIds.every((id) => saw('chain:confirmed', (e) => e.dealId === String(id))) || undefined,
      60_000,
      `confirmations of deals ${dealIds.join(', ')}`,
    )
    const epoch = await chain.nextEpoch()
    await waitFor(provedAll(epoch), 60_000, `proofs of epoch ${epoch}`)
    const balances = await getBalances(chain.clients[0]!, { account: chain.clients[NODE]!.account.address })
    assert.ok(balances.earnings > 0n, 'the Market owes the node its payments')

    const logs = proxy.records.filter((r) => r.method === 'eth_getLogs')
    assert.ok(logs.length > 0)
    assert.deepEqual(
      logs
        .filter((r) => r.toBlock! - r.fromBlock! + 1n > BigInt(MAX_LOG_RANGE))
        .map((r) => `${r.fromBlock}-${r.toBlock}`),
      [],
      'no oversized log range reached the proxy',
    )
    assert.deepEqual(
      proxy.records.filter((r) => r.outcome === 'refused' || /filter/i.test(r.method)).map((r) => r.method),
      [],
      'no filter nor anvil-only call reached the proxy',
    )
    // the history was read once, from the deployment block, in windows
    const deployedAt = chain.devchain.deployment.blockNumber
    assert.equal(logs.filter((r) => r.fromBlock === deployedAt).length, 1)
    assert.equal(saw('chain:error'), false, JSON.stringify(lines().filter((e) => e.event === 'chain:error')))
  })

  test('after a restart it goes on from its saved cursor', async () => {
    await node!.stop('SIGTERM')
    const saved = JSON.parse(await readFile(join(nodeDir(), 'chain-state.json'), 'utf8')) as { cursor: string }
    const cursor = BigInt(saved.cursor)
    assert.ok(cursor > chain.devchain.deployment.blockNumber + BigInt(HISTORY_BLOCKS))
    const seen = proxy.records.length
    node = startNode()
    await node.waitForLine((line) => line.includes('"ready"'), 90_000)
    const epoch = await chain.nextEpoch()
    await waitFor(provedAll(epoch), 60_000, `proofs of epoch ${epoch} after the restart`)
    const logs = proxy.records.slice(seen).filter((r) => r.method === 'eth_getLogs')
    assert.ok(logs.length > 0)
    assert.deepEqual(
      logs.filter((r) => r.fromBlock! <= cursor).map((r) => `${r.fromBlock}-${r.toBlock}`),
      [],
      `every log read after the restart starts after the saved cursor ${cursor}`,
    )
    assert.equal(saw('chain:error'), false, JSON.stringify(lines().filter((e) => e.event === 'chain:error')))
  })
})
