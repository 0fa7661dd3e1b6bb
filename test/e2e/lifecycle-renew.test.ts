/**
 * End to end, on a devnet with its chain (3 node processes, the devchain's clock held and stepped one epoch at a
 * time): a quote equals the escrow the put then moves out of the wallet; `put --quote` pays nothing; a price cap
 * below the offers is refused before any upload; `cairn renew` extends the deal on chain by the quoted cost;
 * `cairn deals` shows the expiry; `put --auto-renew` + `cairn renew --due` renew a deal close to its end, and warn
 * (exit 1) when the wallet cannot pay; `cairn plan` and `put --durability` choose k and n from the live network.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { formatUnits } from 'viem'
import { createDealRenewer, createQuoteService, parseQuoteQuery } from '../../src/api/index.ts'
import {
  type ChainReader,
  createChainClient,
  createChainReader,
  getBalances,
  getDeal,
  getEpochInfo,
  holdDevchainClock,
  loadPrivateKey,
} from '../../src/chain/index.ts'
import type { DealView } from '../../src/client/index.ts'
import type { DevnetState } from '../../src/devnet/index.ts'
import { type DevnetCli, devnetCli, type LongRunning, nextEpoch, startCairn } from './devnet-fixture.ts'

interface PutJson {
  capability: string
  manifestCid: string
  k: number
  n: number
  deal: { dealId: string; escrow: string; startEpoch: number; endEpoch: number }
  autoRenew?: { dealId: string; extraEpochs: number; renewWithinEpochs: number }
}

describe('renew and quote on a devnet with its chain', { timeout: 420_000 }, () => {
  let dir: string
  let devnet: LongRunning | undefined
  let cli: DevnetCli
  let chain: NonNullable<DevnetState['chain']>
  let reader: ChainReader
  let renewable: PutJson | undefined
  /** The user wallet's CAIRN, read from the chain (no CLI process: the machine is shared). */
  const balance = async () => (await getBalances(reader, { account: chain.user.address })).tokens

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-e2e-renew-'))
    cli = devnetCli(dir)
    devnet = startCairn([
      'devnet',
      '--dir',
      dir,
      '--nodes',
      '3',
      '--heartbeat-ms',
      '500',
      '--epoch-seconds',
      '5',
      '--no-gateway',
    ])
    await devnet.waitForLine((l) => l.startsWith('devnet ready'), 120_000)
    chain = (JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetState).chain!
    reader = createChainReader({ rpcUrl: chain.rpc, chainId: chain.chainId, contracts: chain.contracts })
    await holdDevchainClock(chain.rpc)
  })
  after(async () => {
    await devnet?.stop('SIGINT', 30_000)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('a quote equals the escrow the put then moves out of the wallet (compressible data, measured)', async () => {
    const path = join(dir, 'notes.txt')
    await writeFile(path, 'the same line again and again, compressible\n'.repeat(6_000))
    const quote = await cli.json<{
      total: string
      perEpoch: string
      exact: boolean
      slotSize: number
      offers: unknown[]
    }>(['quote', path, '--duration', '30', '--json'])
    assert.equal(quote.exact, true)
    assert.ok(quote.slotSize < 264_000, `the slot size ${quote.slotSize} reflects compression`)
    assert.equal(quote.offers.length, 3)
    assert.equal(BigInt(quote.total), BigInt(quote.perEpoch) * 30n)
    const before = await balance()
    const put = await cli.json<PutJson>(['put', path, '--duration', '30', '--json'])
    const after = await balance()
    assert.equal(before - after, BigInt(quote.total), 'the wallet paid exactly the quote')
    assert.equal(BigInt(put.deal.escrow), BigInt(quote.total), 'the deal escrowed exactly the quote')
    const text = await cli.ok(['quote', path, '--duration', '30'])
    assert.match(text, new RegExp(`total .*\\(${quote.total} units\\)`))
    assert.match(text, /offers: 3 active nodes/)
  })

  it('put --quote prints the quote and stores and pays nothing', async () => {
    const path = join(dir, 'quoted.bin')
    await writeFile(path, Buffer.alloc(50_000, 7))
    const before = await balance()
    const text = await cli.ok(['put', path, '--quote'])
    assert.match(text, /per epoch/)
    assert.match(text, /nothing stored or paid/)
    assert.equal(await balance(), before)
  })

  it('a --max-price below the offers is refused before any upload, naming the cheapest cap', async () => {
    const path = join(dir, 'cheap.bin')
    await writeFile(path, Buffer.alloc(10_000, 1))
    const before = await balance()
    const result = await cli.run(['put', path, '--max-price', '1'])
    assert.equal(result.code, 2, result.stderr)
    assert.match(
      result.stderr,
      /^error: --max-price 1 is below the offers: .* ask up to \d+ per byte per epoch .*pass --max-price \d+ or more/m,
    )
    assert.equal(await balance(), before)
  })

  it("the gateway's parts: its quote service prices a size; its renewer renews the deals of files it serves", async () => {
    const quotes = createQuoteService(reader)
    const quote = await quotes.quote(parseQuoteQuery({ size: '100000', k: '1', n: '3', duration: '7' }))
    assert.equal(quote.exact, false)
    assert.equal(BigInt(quote.total), BigInt(quote.perEpoch) * 7n)
    assert.equal(quote.nodes.length, 3)
    assert.throws(() => parseQuoteQuery({ k: '1' }), /size is required/)
    const path = join(dir, 'served.bin')
    await writeFile(path, Buffer.alloc(25_000, 4))
    const put = await cli.json<PutJson>(['put', path, '--duration', '4', '--json'])
    const client = createChainClient({
      rpcUrl: chain.rpc,
      chainId: chain.chainId,
      contracts: chain.contracts,
      privateKey: await loadPrivateKey({ file: chain.user.keyFile }),
    })
    const renewer = createDealRenewer(
      { chain: client, isWanted: (cid) => cid === put.manifestCid },
      { fromBlock: BigInt(chain.blockNumber), extraEpochs: 40, renewWithinEpochs: 2 },
    )
    assert.deepEqual(
      (await renewer.tick()).map((c) => [c.dealId, c.status]),
      [[put.deal.dealId, 'not-due']],
    )
    while ((await getEpochInfo(reader)).epoch < put.deal.endEpoch - 2) await nextEpoch(chain.rpc, reader)
    const [check] = await renewer.tick()
    assert.equal(check?.status, 'renewed')
    assert.equal((await getDeal(reader, { dealId: BigInt(put.deal.dealId) })).endEpoch, put.deal.endEpoch + 40)
  })

  it('cairn renew extends the deal on chain by the epochs asked, for paymentPerEpoch x epochs', async () => {
    const path = join(dir, 'renew-me.bin')
    await writeFile(path, Buffer.alloc(40_000, 3))
    const put = await cli.json<PutJson>(['put', path, '--duration', '20', '--json'])
    const deal = await getDeal(reader, { dealId: BigInt(put.deal.dealId) })
    const before = await balance()
    const renewal = await cli.json<{ endEpoch: number; previousEndEpoch: number; cost: string }>([
      'renew',
      put.capability,
      '--duration',
      '10',
      '--json',
    ])
    assert.equal(renewal.previousEndEpoch, put.deal.endEpoch)
    assert.equal(renewal.endEpoch, put.deal.endEpoch + 10)
    assert.equal((await getDeal(reader, { dealId: deal.id })).endEpoch, put.deal.endEpoch + 10)
    assert.equal(BigInt(renewal.cost), deal.paymentPerEpoch * 10n)
    assert.equal(before - (await balance()), BigInt(renewal.cost))
    const views = await cli.json<DealView[]>(['deals', '--json'])
    const view = views.find((d) => d.dealId === put.deal.dealId)!
    const { epoch, genesis, epochSeconds } = await getEpochInfo(reader)
    assert.equal(view.endEpoch, renewal.endEpoch)
    assert.equal(view.epochsLeft, renewal.endEpoch - epoch)
    assert.equal(view.expiresAt, genesis + renewal.endEpoch * epochSeconds)
    assert.match(
      await cli.ok(['deals']),
      new RegExp(`expires at epoch ${renewal.endEpoch}, in ${view.epochsLeft} epochs`),
    )
    const text = await cli.ok(['renew', put.deal.dealId, '--duration', '1'])
    assert.match(
      text,
      new RegExp(`^deal ${put.deal.dealId} renewed: ends at epoch ${renewal.endEpoch + 1} \\(was ${renewal.endEpoch}`),
    )
  })

  it('put --auto-renew: renew --due renews once the deal is within its window, and not before', async () => {
    const path = join(dir, 'auto.bin')
    await writeFile(path, Buffer.alloc(30_000, 9))
    const put = await cli.json<PutJson>(['put', path, '--duration', '4', '--auto-renew', '--json'])
    assert.deepEqual(put.autoRenew, {
      dealId: put.deal.dealId,
      manifestCid: put.manifestCid,
      extraEpochs: 4,
      renewWithinEpochs: 2,
    })
    type Check = { dealId: string; status: string; renewal?: { endEpoch: number } }
    const first = await cli.json<Check[]>(['renew', '--due', '--json'])
    assert.equal(first.find((c) => c.dealId === put.deal.dealId)?.status, 'not-due')
    while ((await getEpochInfo(reader)).epoch < put.deal.endEpoch - 2) await nextEpoch(chain.rpc, reader)
    const second = await cli.json<Check[]>(['renew', '--due', '--json'])
    const renewed = second.find((c) => c.dealId === put.deal.dealId)
    assert.equal(renewed?.status, 'renewed')
    assert.equal(renewed?.renewal?.endEpoch, put.deal.endEpoch + 4)
    assert.equal((await getDeal(reader, { dealId: BigInt(put.deal.dealId) })).endEpoch, put.deal.endEpoch + 4)
    renewable = { ...put, deal: { ...put.deal, endEpoch: put.deal.endEpoch + 4 } }
  })

  it('cairn plan and put --durability choose k and n from the live network', async () => {
    const plan = await cli.json<{
      k: number
      n: number
      lossProbability: number
      met: boolean
      inputs: { liveOperators: number }
    }>(['plan', '--durability', '0.99', '--years', '1', '--json'])
    assert.equal(plan.inputs.liveOperators, 3)
    assert.ok(plan.met && plan.n <= 3 && plan.lossProbability <= 0.01)
    const text = await cli.ok(['plan', '--durability', '0.99'])
    assert.match(text, /model: birth-death Markov chain/)
    assert.match(text, /node failure rate +0\.2 per node per year \(default: /)
    const path = join(dir, 'durable.bin')
    await writeFile(path, Buffer.alloc(20_000, 5))
    const put = await cli.json<PutJson>(['put', path, '--durability', '0.99', '--duration', '50', '--json'])
    assert.deepEqual({ k: put.k, n: put.n }, { k: plan.k, n: plan.n })
    const refused = await cli.run(['put', path, '--durability', '0.999999999999'])
    assert.equal(refused.code, 3, refused.stderr)
    assert.match(refused.stderr, /^error: cannot reach durability 0\.999999999999 with 3 nodes of distinct operators/m)
  })

  it('put -r takes --quote, --durability and --auto-renew as a file put does; quote -r equals its escrow', async () => {
    const folder = join(dir, 'folder')
    await mkdir(join(folder, 'sub'), { recursive: true })
    await writeFile(join(folder, 'a.txt'), 'a line of a folder, compressible\n'.repeat(2_000))
    await writeFile(join(folder, 'sub', 'b.bin'), Buffer.alloc(40_000, 3))
    const flags = ['--durability', '0.99', '--duration', '30', '--json']
    const quote = await cli.json<{ total: string; k: number; n: number; exact: boolean }>([
      'quote',
      '-r',
      folder,
      ...flags,
    ])
    assert.equal(quote.exact, true)
    const before = await balance()
    const quoted = await cli.ok(['put', '-r', folder, '--quote', '--duration', '30'])
    assert.match(quoted, /nothing stored or paid/)
    assert.equal(await balance(), before, 'put -r --quote paid nothing')
    const put = await cli.json<PutJson & { files: number }>(['put', '-r', folder, ...flags, '--auto-renew'])
    assert.equal(put.files, 2)
    assert.deepEqual({ k: put.k, n: put.n }, { k: quote.k, n: quote.n }, 'k and n chosen by --durability')
    assert.equal(before - (await balance()), BigInt(quote.total), 'the wallet paid exactly the quote')
    assert.equal(BigInt(put.deal.escrow), BigInt(quote.total))
    assert.equal(put.autoRenew?.dealId, put.deal.dealId)
    const due = await cli.json<Array<{ dealId: string; status: string }>>(['renew', '--due', '--json'])
    assert.equal(due.find((c) => c.dealId === put.deal.dealId)?.status, 'not-due')
    const notFolder = await cli.run(['quote', join(folder, 'a.txt'), '-r'])
    assert.notEqual(notFolder.code, 0)
    assert.match(notFolder.stderr, /a\.txt is a file: put -r stores a folder \(drop -r for a file\)/)
  })

  it('renew --due warns and exits 1 when the wallet cannot pay, and renews nothing', async () => {
    assert.ok(renewable !== undefined, 'the auto-renew test ran')
    while ((await getEpochInfo(reader)).epoch < renewable.deal.endEpoch - 2) await nextEpoch(chain.rpc, reader)
    // Empty the wallet (all its CAIRN to another account). No deal of this test has ended (each lasts longer than the
    // epochs stepped), so no node's closeDeal refunds escrow into the wallet meanwhile.
    const all = await balance()
    await cli.ok(['wallet', 'send', '0x000000000000000000000000000000000000dEaD', formatUnits(all, 18)])
    const result = await cli.run(['renew', '--due'])
    assert.equal(result.code, 1, result.stderr)
    assert.match(
      result.stderr,
      new RegExp(
        `warning: cannot renew deal ${renewable.deal.dealId}: it ends in \\d+ epochs? .* the wallet 0x[0-9a-fA-F]{40} holds 0: send it CAIRN`,
      ),
    )
    assert.equal((await getDeal(reader, { dealId: BigInt(renewable.deal.dealId) })).endEpoch, renewable.deal.endEpoch)
  })
})
