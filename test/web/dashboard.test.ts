/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real devnet: upload by
 * drag and drop, download, the slot map, and the node view after a node is killed. Screenshots of each page go to
 * test-output/web/ for a person to look at.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { type DevnetWithGateway, startDevnetWithGateway } from '../e2e/devnet-fixture.ts'

const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium'
const ROOT = new URL('../../', import.meta.url).pathname
const SHOTS = join(ROOT, 'test-output', 'web')
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install it with 'apt-get install -y chromium' to run the dashboard tests`

describe('dashboard in chromium against a devnet', { skip, timeout: 240_000 }, () => {
  let harness: DevnetWithGateway
  let context: BrowserContext
  let page: Page
  let profile: string
  const data = randomBytes(300_000)

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
    profile = await mkdtemp(join(tmpdir(), 'cairn-chromium-'))
    harness = await startDevnetWithGateway({ nodes: 4 })
    // a fresh profile folder per run (playwright passes it as --user-data-dir)
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      viewport: { width: 1280, height: 860 },
      acceptDownloads: true,
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
    await harness?.stop()
    if (profile !== undefined) await rm(profile, { recursive: true, force: true })
  })

  it('shows every node alive, live, after opening the link npm start prints', async () => {
    await page.goto(`${harness.url}/#token=${harness.token}`)
    await page.waitForSelector('[data-testid=node-card][data-state=alive] >> nth=3')
    assert.equal(await page.locator('[data-testid=node-card]').count(), 4)
    await page.waitForSelector('[data-testid=live]:has-text("live")')
    assert.doesNotMatch(page.url(), /token=/, 'the token must leave the address bar')
    await page.screenshot({ path: join(SHOTS, 'network.png') })
  })

  it('opens the Files page from a link carrying the token, as #/files&token= or #/files?token=', async () => {
    // these run in the page (the repo compiles without the DOM library)
    type Storage = { clear(): void; getItem(key: string): string | null }
    const forget = () => page.evaluate(() => (globalThis as unknown as { localStorage: Storage }).localStorage.clear())
    const remembered = () =>
      page.evaluate(() => (globalThis as unknown as { localStorage: Storage }).localStorage.getItem('cairn-token'))
    const link = (separator: string) => `${harness.url}/#/files${separator}token=${encodeURIComponent(harness.token)}`
    for (const separator of ['&', '?']) {
      // a fresh tab: nothing remembered yet
      await page.goto('about:blank')
      await page.goto(`${harness.url}/#/network`)
      await forget()
      await page.goto('about:blank')
      await page.goto(link(separator))
      await page.waitForSelector('[data-testid=dropzone]')
      await page.waitForSelector('nav a.active:has-text("Files")')
      assert.equal(new URL(page.url()).hash, '#/files', `${separator}token= leaves the address bar, the page stays`)
      assert.equal(await remembered(), harness.token)
    }
    // the same link followed in a dashboard already open (only the hash changes)
    await page.goto(`${harness.url}/#/network`)
    await page.waitForSelector('[data-testid=node-card]')
    await forget()
    await page.goto(link('&'))
    await page.waitForSelector('[data-testid=dropzone]')
    assert.equal(new URL(page.url()).hash, '#/files')
    assert.equal(await remembered(), harness.token)
  })

  it('uploads a dropped file with the chosen redundancy and lists it', async () => {
    await page.goto(`${harness.url}/#/files`)
    await page.selectOption('[data-testid=redundancy]', { label: '2 of 4 (erasure, 2× size)' })
    const transfer = await page.evaluateHandle(
      ([name, base64]) => {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
        // runs in the page: DataTransfer is the browser's (the repo compiles without the DOM library)
        const { DataTransfer } = globalThis as unknown as {
          DataTransfer: new () => { items: { add(file: File): void } }
        }
        const dt = new DataTransfer()
        dt.items.add(new File([bytes], name, { type: 'application/octet-stream' }))
        return dt
      },
      ['dropped.bin', data.toString('base64')] as const,
    )
    await page.dispatchEvent('[data-testid=dropzone]', 'drop', { dataTransfer: transfer })
    await page.waitForSelector('[data-testid=upload][data-state=done]', { timeout: 60_000 })
    await page.waitForSelector('[data-testid=file-row][data-name="dropped.bin"]')
    assert.match((await page.locator('[data-testid=file-row]').first().textContent()) ?? '', /2 of 4/)
    await page.screenshot({ path: join(SHOTS, 'files.png') })
  })

  it('downloads the file byte-identical', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-testid=file-row][data-name="dropped.bin"] [data-testid=download]'),
    ])
    assert.equal(download.suggestedFilename(), 'dropped.bin')
    const path = await download.path()
    assert.deepEqual(await readFile(path), data)
  })

  it('shows which node holds which slot, and the file healthy', async () => {
    await page.click('[data-testid=file-row][data-name="dropped.bin"] a >> nth=0')
    await page.waitForSelector('[data-testid=slot-grid] .slot[data-state=alive] >> nth=3')
    assert.equal(await page.locator('[data-testid=health]').textContent(), 'healthy')
    await page.screenshot({ path: join(SHOTS, 'file.png') })
  })

  it('shows a killed node as suspect then dead, and the file no longer healthy', async () => {
    const fileUrl = page.url()
    const victim = harness.nodes[3]!
    harness.killNode(3)
    await page.goto(`${harness.url}/#/network`)
    await page.waitForSelector(`[data-testid=node-card][data-peer="${victim.peerId}"]:not([data-state=alive])`, {
      timeout: 45_000,
    })
    await page.waitForSelector('.event-node-state', { timeout: 15_000 })
    await page.waitForSelector(`[data-testid=node-card][data-peer="${victim.peerId}"][data-state=dead]`, {
      timeout: 60_000,
    })
    assert.match((await page.locator('[data-testid=node-summary]').textContent()) ?? '', /1 dead/)
    await page.screenshot({ path: join(SHOTS, 'network-after-kill.png') })
    await page.goto(fileUrl)
    await page.waitForSelector('[data-testid=slot-grid] .slot:not([data-state=alive])', { timeout: 30_000 })
    assert.notEqual(await page.locator('[data-testid=health]').textContent(), 'healthy')
    // 2 of 4 on 4 nodes: no spare node can take the lost slot, and the page says so instead of only "degraded".
    await page.waitForSelector('[data-testid=repair-blocked]', { timeout: 30_000 })
    assert.match((await page.locator('[data-testid=repair-blocked]').textContent()) ?? '', /no eligible node/)
    await page.screenshot({ path: join(SHOTS, 'file-after-kill.png') })
  })

  it('shows the deals, wallet and bank page', async () => {
    await page.goto(`${harness.url}/#/bank`)
    await page.waitForSelector('[data-testid=deals]')
    await page.waitForSelector('[data-testid=wallet]')
    await page.screenshot({ path: join(SHOTS, 'bank.png') })
  })
})
