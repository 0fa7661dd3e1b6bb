/**
 * The page as a client, with no gateway in the data path. A devnet (4 node processes and the devchain, started with
 * --no-gateway) stores a file put by the CLI; the test bundles test/browser/client-page.ts (src/client's browser entry
 * over src/net/browser-host.ts) for the browser, serves it and the devnet's network.json from a plain static server
 * on 127.0.0.1 and opens it in Debian's chromium. The page dials the nodes the network file lists, fetches the
 * manifest and pieces, checks each against its CID, decodes and decrypts in the page, and hashes what it read.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { parseCapability } from '../../src/storage/index.ts'
import {
  type DevnetCli,
  devnetCli,
  type LongRunning,
  readDevnetJson,
  startCairn,
  stopAll,
} from '../e2e/devnet-fixture.ts'
import { waitFor } from '../wait-for.ts'
import type { PageDownload, PageGetRequest, PageGetResult, PagePutRequest, PagePutResult } from './client-page.ts'
import { bundlePage } from './page-bundle.ts'
import { chromiumSkip, openPage, serveFolder } from './page-server.ts'

const skip = chromiumSkip('browser client tests')

describe('a page reads a file straight from devnet nodes (no gateway)', { skip, timeout: 480_000 }, () => {
  let dir: string
  let folder: string
  let profile: string
  let devnet: LongRunning
  let nodePids: number[] = []
  let cli: DevnetCli
  let served: { server: Server; url: string }
  let context: BrowserContext
  let page: Page
  let bundle: string
  let nodeDirs: string[] = []
  let nodePeers: string[] = []
  /** The 30 MB file the page put: its capability and sha-256. */
  let pagePut: PagePutResult | undefined
  const pageErrors: string[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-page-client-'))
    folder = await mkdtemp(join(tmpdir(), 'cairn-page-bundle-'))
    profile = await mkdtemp(join(tmpdir(), 'cairn-chromium-'))
    const built = await bundlePage('./client-page.ts', folder, 'client')
    bundle = built.text
    devnet = startCairn(['devnet', '--dir', dir, '--nodes', '4', '--heartbeat-ms', '250', '--no-gateway'])
    await devnet.waitForLine((line) => line.startsWith('devnet ready'), 180_000)
    const devnetJson = await readDevnetJson(dir)
    nodePids = devnetJson.nodes.map((node) => node.pid)
    nodeDirs = devnetJson.nodes.map((node) => node.dataDir)
    nodePeers = devnetJson.nodes.map((node) => node.peerId)
    cli = devnetCli(dir, { timeoutMs: 180_000 })
    await copyFile(join(dir, 'network.json'), join(folder, 'network.json'))
    served = await serveFolder(folder)
    ;({ context, page } = await openPage({
      url: served.url,
      profile,
      readyGlobal: 'cairnClient',
      what: 'client',
      errors: pageErrors,
    }))
  })

  after(async () => {
    await context?.close()
    await new Promise((resolve) => served?.server.close(resolve))
    await devnet?.stop('SIGTERM', 15_000)
    await stopAll(nodePids)
    for (const path of [dir, folder, profile]) if (path !== undefined) await rm(path, { recursive: true, force: true })
  })

  it('bundles the client for the browser: no Node built-in is loaded or polyfilled', () => {
    assert.doesNotMatch(bundle, /(?:from|import)\s*\(?\s*["']node:/, 'a node: import reached the browser bundle')
    assert.doesNotMatch(bundle, /node-datachannel/, 'the Node WebRTC binding reached the bundle')
  })

  it('reads back byte-equal a file of a few MB that the CLI put', async (t) => {
    const data = randomBytes(5 * 1024 * 1024 + 333)
    await writeFile(join(dir, 'file.bin'), data)
    const { capability } = await cli.json<{ capability: string }>(['put', join(dir, 'file.bin'), '--json'])
    const request: PageGetRequest = { networkUrl: 'network.json', capability }
    const got = (await page.evaluate(
      (r) =>
        (globalThis as unknown as { cairnClient: { getFile: (r: unknown) => Promise<unknown> } }).cairnClient.getFile(
          r,
        ),
      request,
    )) as PageGetResult
    assert.equal(got.bytes, data.byteLength)
    assert.equal(got.sha256, createHash('sha256').update(data).digest('hex'), 'the page read the bytes the CLI put')
    assert.equal(got.nodes, 4, 'the page reached every node of the network file')
    t.diagnostic(
      `page get of ${data.byteLength} B: ${got.ms.toFixed(0)} ms (${(data.byteLength / 1e3 / got.ms).toFixed(1)} MB/s)`,
    )
    assert.deepEqual(pageErrors, [], 'no error in the page')
  })

  it('puts a 30 MB file from the page (key and wallet in the page) that cairn get reads back byte-equal', async (t) => {
    const canary = `cairn-page-canary-${randomBytes(12).toString('hex')}`
    const request: PagePutRequest = {
      networkUrl: 'network.json',
      privateKey: (await readFile(join(dir, 'user.key'), 'utf8')).trim(),
      size: 30 * 1000 * 1000 + 7,
      canary,
      k: 2,
      n: 4,
    }
    const put = (await page.evaluate(
      (r) =>
        (globalThis as unknown as { cairnClient: { putFile: (r: unknown) => Promise<unknown> } }).cairnClient.putFile(
          r,
        ),
      request,
    )) as PagePutResult
    pagePut = put
    t.diagnostic(`page put of ${request.size} B with its deal: ${put.ms.toFixed(0)} ms (deal ${put.dealId})`)
    assert.equal(new Set(put.slots).size, 4, 'four distinct nodes hold the slots')
    const { bytes } = await cli.getBytes(put.capability)
    assert.equal(bytes.byteLength, request.size)
    assert.equal(createHash('sha256').update(bytes).digest('hex'), put.sha256, 'cairn get reads what the page put')
    assert.ok(bytes.includes(canary), 'the canary is in the plaintext')
    // The capability the page showed holds the only copy of the key: no node's folder nor the static server's has it.
    const key = Buffer.from(parseCapability(put.capability).key!)
    const needles = [
      key,
      Buffer.from(key.toString('hex')),
      Buffer.from(key.toString('base64')),
      Buffer.from(key.toString('base64url')),
      Buffer.from(put.capability.slice(put.capability.indexOf('#') + 1)),
      Buffer.from(canary),
    ]
    for (const root of [...nodeDirs, folder]) {
      for (const file of await filesUnder(root)) {
        const text = await readFile(file)
        for (const needle of needles) assert.equal(text.includes(needle), false, `${file} holds ${needle.toString()}`)
      }
    }
    assert.deepEqual(pageErrors, [], 'no error in the page')
  })

  it('a page download completes when a node serving it is SIGKILLed halfway', async (t) => {
    assert.ok(pagePut !== undefined, 'the page put a file (the test above)')
    const request: PageGetRequest = { networkUrl: 'network.json', capability: pagePut.capability }
    const state = () =>
      page.evaluate(
        () => (globalThis as unknown as { cairnClient: { downloadState: () => unknown } }).cairnClient.downloadState(),
        undefined,
      ) as Promise<PageDownload>
    await page.evaluate(
      (r) => (globalThis as unknown as { cairnClient: { startGet: (r: unknown) => void } }).cairnClient.startGet(r),
      request,
    )
    const serving = await waitFor(
      async () => {
        const now = await state()
        return now.error !== undefined || now.result !== undefined || (now.bytes > 0 && now.servedBy.length > 0)
          ? now
          : undefined
      },
      120_000,
      'the page to read its first bytes',
    )
    assert.ok(serving.result === undefined && serving.error === undefined, `the download ended first: ${serving.error}`)
    const victim = serving.servedBy[0]!
    const pid = nodePids[nodePeers.indexOf(victim)]!
    process.kill(pid, 'SIGKILL')
    t.diagnostic(`SIGKILLed ${victim} after ${serving.bytes} of 30000007 bytes`)
    const ended = await waitFor(
      async () => {
        const now = await state()
        return now.error !== undefined || now.result !== undefined ? now : undefined
      },
      300_000,
      'the page download to finish',
    )
    assert.equal(ended.error, undefined, 'the page download failed')
    const done = ended.result!
    assert.equal(done.sha256, pagePut.sha256, 'the page read the whole file despite the dead node')
    t.diagnostic(`page get of ${done.bytes} B with one node killed: ${done.ms.toFixed(0)} ms`)
  })
})

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}
