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
import { createChainReader, reportMissed } from '../../src/chain/index.ts'
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
    const nodes = chain.clients.slice(2, 4)
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
    const reader = createChainReader({
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
    const view = createChainView({ reader }, { account: user.account.address })
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

  it('shows the wallet, the deal and the bank chart', async () => {
    await page.goto(`${gateway.url}/#/bank`)
    await page.waitForSelector('[data-testid=wallet] >> text=in escrow')
    await page.waitForSelector('[data-testid=deals] tbody tr')
    assert.match((await page.locator('[data-testid=deals] tbody tr').textContent()) ?? '', /2 copies|1 of 2|active/)
    assert.equal(await page.locator('svg.chart polyline').count(), 2)
    await page.screenshot({ path: join(SHOTS, 'bank-chain.png') })
  })
})
