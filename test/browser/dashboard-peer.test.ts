/**
 * The dashboard as a peer, in Debian's chromium, with no gateway process: the built dashboard (web/dist) and the
 * devnet's network.json are served by a plain static server, and a devnet (4 node processes and the devchain, started
 * with --no-gateway) stores the files. On a fresh profile the page makes a wallet key; the test imports the devnet's
 * user key through the page (it survives a reload, export shows it), drops a file on the Files page (encoded in the
 * page, pieces straight to the nodes, deal paid from the page) and reads it back with `cairn get`; then the page
 * downloads a file the CLI put. Neither the nodes' folders nor the static server's hold the file key or the plaintext.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { privateKeyToAddress } from 'viem/accounts'
import { parseCapability } from '../../src/storage/index.ts'
import {
  type DevnetCli,
  devnetCli,
  type LongRunning,
  readDevnetJson,
  startCairn,
  stopAll,
} from '../e2e/devnet-fixture.ts'
import { CHROMIUM, chromiumSkip } from './page-server.ts'

const ROOT = new URL('../../', import.meta.url).pathname
const skip = chromiumSkip('dashboard peer tests')

describe('the dashboard as a peer, served by a static server (no gateway)', { skip, timeout: 480_000 }, () => {
  let dir: string
  let site: string
  let profile: string
  let devnet: LongRunning
  let nodePids: number[] = []
  let nodeDirs: string[] = []
  let cli: DevnetCli
  let served: { server: Server; url: string; requests: string[] }
  let context: BrowserContext
  let page: Page
  let userKey: string
  const pageErrors: string[] = []

  before(async () => {
    const build = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'],
      { cwd: join(ROOT, 'web'), encoding: 'utf8' },
    )
    assert.equal(build.status, 0, `the dashboard build failed: ${build.stderr}`)
    dir = await mkdtemp(join(tmpdir(), 'cairn-dashboard-peer-'))
    site = await mkdtemp(join(tmpdir(), 'cairn-dashboard-site-'))
    profile = await mkdtemp(join(tmpdir(), 'cairn-chromium-'))
    await cp(join(ROOT, 'web', 'dist'), site, { recursive: true })
    devnet = startCairn(['devnet', '--dir', dir, '--nodes', '4', '--heartbeat-ms', '250', '--no-gateway'])
    await devnet.waitForLine((line) => line.startsWith('devnet ready'), 180_000)
    const devnetJson = await readDevnetJson(dir)
    nodePids = devnetJson.nodes.map((node) => node.pid)
    nodeDirs = devnetJson.nodes.map((node) => node.dataDir)
    cli = devnetCli(dir, { timeoutMs: 180_000 })
    userKey = (await readFile(join(dir, 'user.key'), 'utf8')).trim()
    await cp(join(dir, 'network.json'), join(site, 'network.json'))
    served = await serveSite(site)
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      acceptDownloads: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => pageErrors.push(error.message))
    page.on('dialog', (dialog) => void dialog.accept())
  })

  after(async () => {
    await context?.close()
    await new Promise((resolve) => served?.server.close(resolve))
    await devnet?.stop('SIGTERM', 15_000)
    await stopAll(nodePids)
    for (const path of [dir, site, profile]) if (path !== undefined) await rm(path, { recursive: true, force: true })
  })

  const connected = () => page.waitForSelector('[data-testid=peer-status][data-connected=yes]', { timeout: 60_000 })

  it('opens as a peer where a network.json sits next to it, and dials the nodes', async () => {
    await page.goto(served.url)
    await page.waitForURL(/#\/peer$/, { timeout: 30_000 })
    await connected()
    assert.match((await page.locator('[data-testid=peer-status]').textContent()) ?? '', /connected to 4 storage nodes/)
    assert.equal(await page.locator('[data-testid=wallet]').getAttribute('data-kind'), 'page')
  })

  it('keeps a wallet in the page: the imported devnet key survives a reload and export shows it', async () => {
    const made = (await page.locator('[data-testid=wallet-address]').textContent()) ?? ''
    assert.match(made, /^0x[0-9a-fA-F]{40}$/, 'a fresh profile gets a key made in the page')
    await page.fill('[data-testid=wallet-import-key]', 'not a key')
    await page.click('[data-testid=wallet-import]')
    await page.waitForSelector('[data-testid=wallet-message]:has-text("paste 64 hexadecimal digits")')
    await page.fill('[data-testid=wallet-import-key]', userKey)
    await page.click('[data-testid=wallet-import]')
    await page.waitForSelector('[data-testid=wallet-message]:has-text("key imported")')
    await page.reload()
    await connected()
    const address = privateKeyToAddress(userKey.startsWith('0x') ? (userKey as `0x${string}`) : `0x${userKey}`)
    await page.waitForSelector(`[data-testid=wallet-address]:has-text("${address}")`)
    await page.click('[data-testid=wallet-export]')
    const exported = (await page.locator('[data-testid=wallet-key]').textContent()) ?? ''
    assert.equal(exported.replace(/^0x/, ''), userKey.replace(/^0x/, '').toLowerCase())
    await page.click('text=hide')
  })

  it('puts a dropped file from the page (progress shown) that cairn get reads back byte-equal', async (t) => {
    const canary = `cairn-dashboard-canary-${randomBytes(12).toString('hex')}`
    const data = randomBytes(10 * 1024 * 1024 + 123)
    for (const at of [0, 5_000_000, data.byteLength - canary.length]) data.write(canary, at)
    // the progress bar's values while the put runs, sampled in the page
    // (this runs in the page; the repo compiles without the DOM library)
    await page.evaluate(() => {
      type Bar = { value: number }
      const dom = (globalThis as unknown as { document: { querySelector(s: string): Bar | null } }).document
      const seen: number[] = []
      ;(globalThis as unknown as { progressSeen: number[] }).progressSeen = seen
      setInterval(() => {
        const bar = dom.querySelector('[data-testid=upload-progress]')
        if (bar !== null && seen.at(-1) !== bar.value) seen.push(bar.value)
      }, 5)
    })
    const started = Date.now()
    await page.setInputFiles('[data-testid=file-input]', {
      name: 'page-file.bin',
      mimeType: 'application/octet-stream',
      buffer: data,
    })
    const upload = page.locator('[data-testid=upload]').first()
    await page
      .waitForSelector('[data-testid=upload][data-state=done], [data-testid=upload][data-state=failed]', {
        timeout: 180_000,
      })
      .catch(async (cause) => {
        throw new Error(`the put did not end: ${await upload.textContent()}; page errors: ${pageErrors.join('; ')}`, {
          cause,
        })
      })
    assert.equal(await upload.getAttribute('data-state'), 'done', (await upload.textContent()) ?? '')
    t.diagnostic(`page put of ${data.byteLength} B with its deal: ${Date.now() - started} ms`)
    assert.match((await upload.textContent()) ?? '', /encoded in a worker/, 'the encode ran in a Web Worker')
    const seen = await page.evaluate(() => (globalThis as unknown as { progressSeen: number[] }).progressSeen)
    assert.ok(
      seen.some((v) => v > 0 && v < data.byteLength),
      `the progress bar moved through the put: ${seen.join(', ')}`,
    )
    assert.equal(seen.at(-1), data.byteLength)
    const capability = ((await page.locator('[data-testid=capability]').textContent()) ?? '').trim()
    const { bytes } = await cli.getBytes(capability)
    assert.equal(bytes.byteLength, data.byteLength)
    assert.ok(bytes.equals(data), 'cairn get reads back what the page put')
    // the capability the page showed holds the only copy of the key
    const key = Buffer.from(parseCapability(capability).key!)
    const needles = [
      key,
      Buffer.from(key.toString('hex')),
      Buffer.from(key.toString('base64')),
      Buffer.from(key.toString('base64url')),
      Buffer.from(capability.slice(capability.indexOf('#') + 1)),
      Buffer.from(canary),
    ]
    for (const root of [...nodeDirs, site]) {
      for (const file of await filesUnder(root)) {
        const text = await readFile(file)
        for (const needle of needles) assert.equal(text.includes(needle), false, `${file} holds ${needle.toString()}`)
      }
    }
    for (const url of served.requests) assert.equal(url.includes(capability.slice(capability.indexOf('#') + 1)), false)
  })

  it('downloads byte-equal a file the CLI put, from a pasted capability', async (t) => {
    const data = randomBytes(3 * 1024 * 1024 + 77)
    await writeFile(join(dir, 'cli-file.bin'), data)
    const { capability } = await cli.json<{ capability: string }>(['put', join(dir, 'cli-file.bin'), '--json'])
    await page.fill('[data-testid=get-capability]', capability)
    await page.fill('[data-testid=get-name]', 'from-cli.bin')
    const started = Date.now()
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 120_000 }),
      page.click('[data-testid=get]'),
    ])
    assert.equal(download.suggestedFilename(), 'from-cli.bin')
    const saved = await readFile(await download.path())
    t.diagnostic(`page download of ${data.byteLength} B: ${Date.now() - started} ms`)
    assert.equal(createHash('sha256').update(saved).digest('hex'), createHash('sha256').update(data).digest('hex'))
    await page.waitForSelector('[data-testid=download-state][data-state=done]')
    assert.deepEqual(pageErrors, [], 'no error in the page')
  })

  it('served nothing but static files: the page made no request to a gateway', () => {
    for (const url of served.requests)
      assert.doesNotMatch(url, /^\/api\//, `the page asked the static server for ${url}`)
  })
})

/** Serves `root` (with its subfolders) read-only, logging each path asked for. */
async function serveSite(root: string): Promise<{ server: Server; url: string; requests: string[] }> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.css': 'text/css',
    '.json': 'application/json',
    '.wasm': 'application/wasm',
  }
  const requests: string[] = []
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname
    requests.push(request.url ?? '')
    const file = normalize(join(root, path === '/' ? 'index.html' : path))
    if (!file.startsWith(root)) return void response.writeHead(403).end()
    readFile(file).then(
      (body) => {
        response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' })
        response.end(body)
      },
      () => void response.writeHead(404).end(),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(address !== null && typeof address === 'object')
  return { server, url: `http://127.0.0.1:${address.port}/`, requests }
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}
