/**
 * The dashboard's chain views in chromium: a gateway over a real chain (anvil, contracts deployed, two registered
 * nodes, a deal, proofs over several epochs) shows stake, proofs and earnings per node, the deal, the wallet and the
 * bank's chart. Screenshots go to test-output/web/.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { createChainView, createGateway, type FileService, type Gateway, withChainView } from '../../src/api/index.ts'
import {
  type ChainClient,
  type ChainReader,
  createChainReader,
  getChainEvents,
  marketAbi,
  reportMissed,
  withdrawEarnings,
} from '../../src/chain/index.ts'
import { formatTokens } from '../../web/src/format.ts'
import { createMemoryFileService } from '../api/memory-file-service.ts'
import {
  holdSlot,
  openDeal,
  proveHeld,
  registerNodes,
  slotData,
  startTestChain,
  type TestChain,
} from '../chain/harness.ts'

const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium'
const ROOT = new URL('../../', import.meta.url).pathname
const SHOTS = join(ROOT, 'test-output', 'web')
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install it with 'apt-get install -y chromium' to run the dashboard tests`

describe('dashboard chain pages in chromium against a real chain', { skip, timeout: 120_000 }, () => {
  let chain: TestChain
  let gateway: Gateway
  let dataDir: string
  let profile: string
  let context: BrowserContext
  let page: Page
  let nodes: ChainClient[]
  let reader: ChainReader

  before(async () => {
    const build = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
      {
        cwd: join(ROOT, 'web'),
        encoding: 'utf8',
      },
    )
    assert.equal(build.status, 0, `the dashboard build failed: ${build.stderr}`)
    await mkdir(SHOTS, { recursive: true })
    chain = await startTestChain({ accounts: 4 })
    const user = chain.clients[1]!
    nodes = chain.clients.slice(2, 4)
    await registerNodes(nodes)
    const slots = [holdSlot(slotData(50_000, 1)), holdSlot(slotData(30_000, 2))]
    const dealId = await openDeal(user, nodes, slots, { durationEpochs: 20 })
    for (let epoch = 0; epoch < 4; epoch++) {
      await chain.nextEpoch()
      await proveHeld(nodes[0]!, dealId, 0, slots[0]!)
      if (epoch !== 3) await proveHeld(nodes[1]!, dealId, 1, slots[1]!)
    }
    await chain.nextEpoch()
    await reportMissed(user, { dealId, slotIndex: 1 })
    reader = createChainReader({
      rpcUrl: chain.devchain.rpcUrl,
      chainId: chain.devchain.chainId,
      contracts: chain.devchain.contracts,
      pollingInterval: 50,
    })
    const memory = createMemoryFileService({ nodes: 0 })
    const files: FileService = {
      ...memory,
      nodes: async () => [
        { peerId: '12D3KooWNode0', label: 'node-0', state: 'alive', multiaddrs: [], lastHeartbeat: Date.now() },
        { peerId: '12D3KooWNode1', label: 'node-1', state: 'alive', multiaddrs: [], lastHeartbeat: Date.now() },
      ],
    }
    // a chart of 3 epochs, shorter than the 5 the chain has run: the bank's totals must still count them all
    const view = createChainView({ reader }, { account: user.account.address, historyEpochs: 3 })
    dataDir = await mkdtemp(join(tmpdir(), 'cairn-web-bank-'))
    gateway = createGateway(
      { files: withChainView(files, view) },
      { dataDir, port: 0, s3Port: false, webRoot: join(ROOT, 'web', 'dist') },
    )
    await gateway.start()
    profile = await mkdtemp(join(tmpdir(), 'cairn-chromium-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      viewport: { width: 1280, height: 860 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    page = context.pages()[0] ?? (await context.newPage())
  })

  after(async () => {
    await context?.close()
    await gateway?.stop()
    // viem uninstalls its log filters asynchronously after unwatch: let that finish before anvil stops
    await new Promise((resolve) => setTimeout(resolve, 300))
    await chain?.stop()
    for (const dir of [dataDir, profile]) if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('shows stake, proofs and earnings on each node card', async () => {
    await page.goto(`${gateway.url}/#token=${gateway.token}`)
    await page.waitForSelector('[data-testid=node-card][data-peer="12D3KooWNode0"]:has-text("4 made")')
    const second = (await page.locator('[data-testid=node-card][data-peer="12D3KooWNode1"]').textContent()) ?? ''
    assert.match(second, /3 made, 1 missed/)
    assert.match(second, /stake950\.0000 CAIRN/, 'the miss slashed 50 of the 1,000 staked')
    await page.screenshot({ path: join(SHOTS, 'network-chain.png') })
  })

  it("keeps a node's earnings when it withdraws them: earnings are cumulative, they never drop", async () => {
    const card = page.locator('[data-testid=node-card][data-peer="12D3KooWNode0"]')
    const earnings = async (): Promise<string> => /earnings(.*CAIRN)/.exec((await card.textContent()) ?? '')?.[1] ?? ''
    const before = await earnings()
    assert.doesNotMatch(before, /^0\.0000 /, 'node-0 has earned something')
    await withdrawEarnings(nodes[0]!)
    await new Promise((resolve) => setTimeout(resolve, 1100)) // the gateway reuses chain reads for a second
    await page.reload()
    await page.waitForSelector('[data-testid=node-card][data-peer="12D3KooWNode0"]:has-text("4 made")')
    assert.equal(await earnings(), before, 'a withdrawal moves earnings to the wallet, it does not lose them')
  })

  it('shows the wallet, the deal and the bank chart', async () => {
    await page.goto(`${gateway.url}/#/bank`)
    await page.waitForSelector('[data-testid=wallet] >> text=in escrow')
    await page.waitForSelector('[data-testid=deals] tbody tr')
    assert.match((await page.locator('[data-testid=deals] tbody tr').textContent()) ?? '', /2 copies|1 of 2|active/)
    assert.equal(await page.locator('svg.chart polyline').count(), 3, 'minted, burned and paid per epoch')
    // the deal paid 4 proofs of 50,000 bytes and 3 of 30,000 at 10^6 units a byte: written out, not as 2.90e-7
    assert.match((await page.locator('[data-testid=deals] tbody tr').textContent()) ?? '', /0\.00000029 CAIRN/)
    await page.screenshot({ path: join(SHOTS, 'bank-chain.png') })
  })

  it("totals the bank since genesis, not over the chart's sliding window: minted is the rewards, <= half the fees burned", async () => {
    const proofs = await getChainEvents(reader, { contract: 'market', eventNames: ['ProofAccepted'], fromBlock: 0n })
    const proven = [...new Set(proofs.map((e) => e.args.epoch as bigint))]
    assert.equal(proven.length, 4, 'four epochs had proofs')
    const figure = (functionName: 'epochRewards' | 'epochFees', epoch: bigint): Promise<bigint> =>
      reader.readContract({ address: reader.contracts.market, abi: marketAbi, functionName, args: [epoch] })
    let minted = 0n
    let burned = 0n
    for (const epoch of proven) {
      minted += await figure('epochRewards', epoch)
      burned += await figure('epochFees', epoch)
    }
    assert.ok(burned > 0n && 2n * minted <= burned, `minted ${minted} <= burned ${burned} / 2`)
    const paid = proofs.reduce((total, e) => total + (e.args.payment as bigint), 0n)
    await page.goto(`${gateway.url}/#/bank`)
    const summary = page.locator('.summary')
    await summary.waitFor()
    const expected = `minted ${formatTokens(minted.toString())} · burned ${formatTokens(burned.toString())} · paid ${formatTokens(paid.toString())}`
    const text = (await summary.textContent()) ?? ''
    assert.ok(text.includes(expected), `${text} shows ${expected}`)
  })

  it("shows the deal's fees burned: its escrow dropped by what it paid plus the fees", async () => {
    const [created] = await getChainEvents(reader, { contract: 'market', eventNames: ['DealCreated'], fromBlock: 0n })
    const deposit = created?.args.escrow as bigint
    const proofs = await getChainEvents(reader, { contract: 'market', eventNames: ['ProofAccepted'], fromBlock: 0n })
    const paid = proofs.reduce((total, e) => total + (e.args.payment as bigint), 0n)
    let burned = 0n
    for (const epoch of new Set(proofs.map((e) => e.args.epoch as bigint))) {
      burned += await reader.readContract({
        address: reader.contracts.market,
        abi: marketAbi,
        functionName: 'epochFees',
        args: [epoch],
      })
    }
    const escrow = deposit - paid - burned
    await page.goto(`${gateway.url}/#/bank`)
    const row = page.locator('[data-testid=deals] tbody tr')
    await row.waitFor()
    const cells = await row.locator('td').allTextContents()
    const header = await page.locator('[data-testid=deals] thead th').allTextContents()
    const cell = (name: string): string | undefined => cells[header.indexOf(name)]
    assert.equal(cell('escrow'), formatTokens(escrow.toString()))
    assert.equal(cell('paid'), formatTokens(paid.toString()))
    assert.equal(cell('fees burned'), formatTokens(burned.toString()))
  })
})
