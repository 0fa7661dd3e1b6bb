/**
 * End to end on the chain: a devnet of real node processes and the devchain. Files are put with (1, 3) and (2, 6);
 * every holder proves every epoch, escrow goes down by exactly what the accepted proofs paid plus the protocol fee
 * burned, node balances go up by the payments, and the minted rewards match the bank's rule (at most its share of the
 * fees burned). A node that stores nothing and answers challenges with made-up data is reported by the watchers,
 * slashed, jailed and loses its slot.
 *
 * The devchain's clock is held (every block keeps the last timestamp) and the test steps it one epoch at a time
 * (`nextEpoch`) once the honest holders have proven the current one: no epoch ends while a loaded machine is slow, and
 * no time is spent waiting for real epochs.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  type ChainReader,
  createChainReader,
  DEFAULT_SLASH_PER_MISS,
  DEVNET_ACCOUNT_TOKENS,
  getBalances,
  getEpochInfo,
  getNode,
  holdDevchainClock,
  marketAbi,
} from '../../src/chain/index.ts'
import type { DealView } from '../../src/cli/user-deals.ts'
import { readDeals } from '../../src/client/index.ts'
import { createDevnet, type Devnet, type DevnetState } from '../../src/devnet/index.ts'
import { DEFAULT_NODE_STAKE } from '../../src/node/index.ts'
import { type DevnetCli, devnetCli, nextEpoch as stepEpoch, waitFor } from './devnet-fixture.ts'

/** The clock is held and stepped, so the epoch's length only sets how far each step moves it. */
const EPOCH_SECONDS = 20
const PRICE = 1_000_000n
const FAULTY = 6

interface PutJson {
  capability: string
  slots: Array<{ index: number; peerId: string }>
  deal: { dealId: string; escrow: string; startEpoch: number }
}

describe('nodes on the chain', { timeout: 480_000 }, () => {
  let dir: string
  let devnet: Devnet
  let state: DevnetState
  let reader: ChainReader
  let cli: DevnetCli
  const files = new Map<string, { bytes: Buffer; put: PutJson }>()

  const deals = () => cli.json<DealView[]>(['deals', '--json'])

  const nextEpoch = () => stepEpoch(state.chain!.rpc, reader)

  /** Waits until every active slot held by an honest node has proven the current epoch. */
  const honestProved = async () => {
    const faultyAccount = state.nodes[FAULTY]!.address!.toLowerCase()
    const { epoch } = await getEpochInfo(reader)
    await waitFor(
      async () => {
        const all = await readDeals(reader, { fromBlock: BigInt(state.chain!.blockNumber) })
        const owing = all
          .flatMap((d) => d.view.slots)
          .filter((s) => s.state === 'active' && s.holder.toLowerCase() !== faultyAccount && s.nextEpoch <= epoch)
        return owing.length === 0 ? true : undefined
      },
      90_000,
      `every honest holder to prove epoch ${epoch}`,
    )
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-e2e-chain-'))
    cli = devnetCli(dir)
    devnet = createDevnet({
      dir,
      nodes: 7,
      epochSeconds: EPOCH_SECONDS,
      heartbeatIntervalMs: 500,
      readyTimeoutMs: 120_000,
      // The last node asks a higher price, keeps nothing it is sent and answers challenges with made-up data.
      nodeEnv: { [FAULTY]: { CAIRN_FAULT_FAKE_PROOFS: '1', CAIRN_NODE_PRICE: String(PRICE + PRICE / 2n) } },
    })
    state = await devnet.start()
    const chain = state.chain!
    reader = createChainReader({ rpcUrl: chain.rpc, chainId: chain.chainId, contracts: chain.contracts })
    await holdDevchainClock(chain.rpc)
  })
  after(async () => {
    await devnet?.stop()
    if (process.env.CAIRN_TEST_KEEP === '1') return
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('registers every node with its peer ID, addresses, price and stake', async () => {
    assert.ok(state.chain !== undefined)
    for (const [i, node] of state.nodes.entries()) {
      const record = await getNode(reader, { account: node.address! })
      assert.equal(record.status, 'active')
      assert.equal(record.peerId, node.peerId)
      assert.equal(record.stake, DEFAULT_NODE_STAKE)
      assert.equal(record.pricePerByteEpoch, i === FAULTY ? PRICE + PRICE / 2n : PRICE)
      assert.ok(record.multiaddrs.length > 0)
    }
  })

  it('puts (1, 7) with the dishonest node among the holders', async () => {
    const bytes = randomBytes(40_000)
    const path = join(dir, 'file-1-7')
    await writeFile(path, bytes)
    const put = await cli.json<PutJson>(['put', path, '--k', '1', '--n', '7', '--duration', '200', '--json'])
    assert.ok(put.slots.some((s) => s.peerId === state.nodes[FAULTY]!.peerId))
    files.set(put.deal.dealId, { bytes, put })
  })

  it('puts (1, 3) and (2, 6): put returns once the deal is active, on nodes within the price', async () => {
    for (const [k, n] of [
      [1, 3],
      [2, 6],
    ] as const) {
      const bytes = randomBytes(150_000 + k)
      const path = join(dir, `file-${k}-${n}`)
      await writeFile(path, bytes)
      const put = await cli.json<PutJson>([
        'put',
        path,
        '--k',
        String(k),
        '--n',
        String(n),
        '--max-price',
        String(PRICE),
        '--duration',
        '200',
        '--json',
      ])
      assert.equal(put.slots.length, n)
      assert.ok(!put.slots.some((s) => s.peerId === state.nodes[FAULTY]!.peerId), 'the over-priced node got no slot')
      files.set(put.deal.dealId, { bytes, put })
      const deal = (await deals()).find((d) => d.dealId === put.deal.dealId)!
      assert.deepEqual(
        deal.slots.map((s) => s.state),
        Array(n).fill('active'),
      )
    }
  })

  it('every honest holder proves every epoch; escrow and balances move by the exact amounts', async () => {
    const last = Math.max(...[...files.values()].map((f) => f.put.deal.startEpoch))
    while ((await getEpochInfo(reader)).epoch < last + 4) {
      await honestProved()
      await nextEpoch()
    }
    const faultyAccount = state.nodes[FAULTY]!.address!
    const epoch = (await getEpochInfo(reader)).epoch
    const now = await deals()
    const paidTo = new Map<string, bigint>()
    for (const deal of now) {
      const created = files.get(deal.dealId)!
      let paid = 0n
      let fees = 0n
      for (const slot of deal.slots) {
        paid += BigInt(slot.paid)
        const [, fee] = await reader.readContract({
          address: reader.contracts.market,
          abi: marketAbi,
          functionName: 'slotCharge',
          args: [BigInt(slot.size), BigInt(slot.pricePerByteEpoch)],
        })
        fees += BigInt(slot.proofsMade) * fee
        paidTo.set(slot.holder, (paidTo.get(slot.holder) ?? 0n) + BigInt(slot.paid))
        if (slot.holder === faultyAccount) continue
        assert.equal(slot.proofsMissed, 0, `deal ${deal.dealId} slot ${slot.index} missed a proof`)
        assert.ok(slot.proofsMade >= 3, `deal ${deal.dealId} slot ${slot.index} proved ${slot.proofsMade} epochs`)
        // Every closed epoch is proven: the slot's next unproven epoch is the current one (or later).
        assert.ok(slot.nextEpoch >= epoch, `deal ${deal.dealId} slot ${slot.index}: epoch ${slot.nextEpoch} unproven`)
        assert.equal(BigInt(slot.paid), BigInt(slot.proofsMade) * BigInt(slot.size) * BigInt(slot.pricePerByteEpoch))
        assert.equal(BigInt(slot.pricePerByteEpoch), PRICE)
      }
      // Each slot is paid its size times the price for every proven epoch, and the protocol fee is burned with each
      // payment; nothing else leaves the escrow.
      assert.ok(fees > 0n)
      assert.equal(BigInt(deal.escrowLeft), BigInt(created.put.deal.escrow) - paid - fees)
    }
    // A node's wallet plus what the Market still owes it = genesis tokens - stake + payments + minted rewards
    // (events and balances as of one block).
    const market = reader.contracts.market
    const toBlock = await reader.getBlockNumber({ cacheTime: 0 })
    const withdrawn = await reader.getContractEvents({
      address: market,
      abi: marketAbi,
      eventName: 'Withdrawn',
      fromBlock: BigInt(state.chain!.blockNumber),
      toBlock,
    })
    const accepted = await reader.getContractEvents({
      address: market,
      abi: marketAbi,
      eventName: 'ProofAccepted',
      fromBlock: BigInt(state.chain!.blockNumber),
      toBlock,
    })
    for (const node of state.nodes.slice(0, FAULTY)) {
      const b = await getBalances(reader, { account: node.address! }, { blockNumber: toBlock })
      const payments = accepted.filter((l) => l.args.node === node.address).reduce((s, l) => s + l.args.payment!, 0n)
      const minted = withdrawn.filter((l) => l.args.node === node.address).reduce((s, l) => s + l.args.rewards!, 0n)
      assert.ok(payments > 0n, `node ${node.address} was paid`)
      assert.equal(b.tokens + b.earnings, DEVNET_ACCOUNT_TOKENS - DEFAULT_NODE_STAKE + payments + minted)
    }
    // The bank: rewards credited for closed epochs equal what each epoch may mint, min(emission, the reward share of the
    // fees burned) (rounded down per node), and never more than half the fees: a self-dealer cannot profit.
    let snapshot: { epoch: number; credited: bigint } | undefined
    while (snapshot === undefined) {
      const before = await getEpochInfo(reader)
      const [mintedLogs, ...balances] = await Promise.all([
        reader.getContractEvents({ address: market, abi: marketAbi, eventName: 'Withdrawn', fromBlock: 0n }),
        ...state.nodes.map((n) => getBalances(reader, { account: n.address! })),
      ])
      const afterInfo = await getEpochInfo(reader)
      if (afterInfo.epoch !== before.epoch) continue
      const credited =
        mintedLogs.reduce((s, l) => s + l.args.rewards!, 0n) + balances.reduce((s, b) => s + b.rewards, 0n)
      snapshot = { epoch: before.epoch, credited }
    }
    const proofs = await reader.getContractEvents({
      address: market,
      abi: marketAbi,
      eventName: 'ProofAccepted',
      fromBlock: 0n,
    })
    const epochs = new Set(proofs.map((l) => Number(l.args.epoch)).filter((e) => e < snapshot.epoch))
    let expected = 0n
    let burned = 0n
    for (const e of epochs) {
      const read = (functionName: 'epochRewards' | 'epochFees') =>
        reader.readContract({ address: market, abi: marketAbi, functionName, args: [BigInt(e)] })
      expected += await read('epochRewards')
      burned += await read('epochFees')
    }
    assert.ok(expected > 0n)
    assert.ok(2n * expected <= burned, `${expected} minted for ${burned} burned`)
    // Each node's share is rounded down: at most one unit lost per node and epoch; never more than the schedule.
    assert.ok(snapshot.credited <= expected, `${snapshot.credited} credited > ${expected} scheduled`)
    assert.ok(expected - snapshot.credited <= BigInt(epochs.size * state.nodes.length))
  })

  it('the node that stores nothing is reported, slashed, jailed and loses its slot', async () => {
    const faulty = state.nodes[FAULTY]!.address!
    let record = await getNode(reader, { account: faulty })
    // Each step closes an epoch the faulty node did not prove; the watchers report it (3 misses jail a node).
    for (let i = 0; i < 8 && record.status !== 'jailed'; i++) {
      await honestProved()
      await nextEpoch()
      record = await waitFor(
        async () => {
          const now = await getNode(reader, { account: faulty })
          return now.status === 'jailed' || now.stake < record.stake ? now : undefined
        },
        30_000,
        "the watchers to report the faulty node's missed epoch",
      ).catch(() => getNode(reader, { account: faulty }))
    }
    assert.equal(record.status, 'jailed')
    assert.equal(record.stake, DEFAULT_NODE_STAKE - 3n * DEFAULT_SLASH_PER_MISS)
    const deal = (await deals()).find((d) => d.slots.length === 7)!
    const lost = deal.slots.find((s) => s.holder === faulty)!
    assert.equal(lost.state, 'open')
    assert.equal(lost.proofsMade, 0)
    assert.equal(lost.proofsMissed, 3)
    // cairn nodes shows both views: the heartbeat detector still sees it alive, the chain has jailed it.
    const nodes = await cli.json<
      Array<{
        peerId: string
        state: string
        chain?: { status: string; stake: string; lastProvedEpoch: number | null }
      }>
    >(['nodes', '--json'])
    const shown = nodes.find((n) => n.peerId === state.nodes[FAULTY]!.peerId)!
    assert.equal(shown.state, 'alive')
    assert.equal(shown.chain?.status, 'jailed')
    assert.equal(shown.chain?.lastProvedEpoch, null)
    const honest = nodes.find((n) => n.peerId === state.nodes[0]!.peerId)!
    assert.equal(honest.chain?.status, 'active')
    assert.ok((honest.chain?.lastProvedEpoch ?? -1) > 0)
    // The file is still whole from the honest holders.
    const { bytes, put } = files.get(deal.dealId)!
    const got = await cli.run(['get', put.capability])
    assert.equal(got.code, 0, got.stderr)
    assert.ok(got.stdout.equals(bytes))
  })

  it('cairn wallet and cairn deals show escrow, payments and holders', async () => {
    const wallet = await cli.json<{ account: string; escrow: string; deals: number; balance: string }>([
      'wallet',
      '--json',
    ])
    assert.equal(wallet.account, state.chain!.user.address)
    const all = await deals()
    const escrow = all.reduce((s, d) => s + BigInt(d.escrowLeft), 0n)
    assert.ok(BigInt(wallet.escrow) >= escrow)
    assert.equal(wallet.deals, 3)
    const b = await getBalances(reader, { account: state.chain!.user.address })
    assert.equal(BigInt(wallet.balance), b.tokens)
    const text = await cli.ok(['deals'])
    assert.match(text, /escrow left/)
    for (const node of state.nodes.slice(0, 3)) assert.ok(text.includes(node.address!))
  })
})
