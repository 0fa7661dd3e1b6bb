/**
 * `npm run bench -- browser [--mb 32] [--k 2] [--n 4]`: the same file put and got by the CLI and by a page in
 * Chromium, from one run on one devnet (4 node processes and the devchain, no gateway). The page is
 * bench/browser/page.ts bundled from the SDK's browser entry and served by a plain static server with the network
 * file; it dials the nodes over WebSockets or WebRTC-direct and puts (deal included, paid by the devnet's user key
 * imported into the page) and gets with no gateway. CLI figures are the wall time of `cairn put` / `cairn get` (process
 * start and dialling included); page figures are the put or get alone (the page's dial is reported as connect ms).
 * Every read is checked byte-equal by sha-256, and `cairn get` reads back what the page put. Needs Debian's chromium.
 */
import { createHash, randomBytes } from 'node:crypto'
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { BrowserContext } from 'playwright-core'
import { bundlePage } from '../test/browser/page-bundle.ts'
import { chromiumSkip, openPage, serveFolder } from '../test/browser/page-server.ts'
import { devnetCli, type LongRunning, readDevnetJson, startCairn, stopAll } from '../test/e2e/devnet-fixture.ts'
import type { BenchGetRequest, BenchGetResult, BenchPutRequest, BenchPutResult } from './browser/page.ts'

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '32' },
    k: { type: 'string', default: '2' },
    n: { type: 'string', default: '4' },
  },
})
const size = Math.round(Number(values.mb) * 1e6)
const [k, n] = [Number(values.k), Number(values.n)]
if (!(size > 0) || !Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k || n > 4) {
  console.error('usage: npm run bench -- browser [--mb MB] [--k K] [--n N] (1 <= K <= N <= 4: the devnet has 4 nodes)')
  process.exit(2)
}
const skip = chromiumSkip('browser benchmark')
if (skip !== false) {
  console.error(skip)
  process.exit(2)
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const mbps = (ms: number) => Number((size / 1e3 / ms).toFixed(1))

const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-browser-'))
const folder = await mkdtemp(join(tmpdir(), 'cairn-bench-page-'))
const profile = await mkdtemp(join(tmpdir(), 'cairn-bench-chromium-'))
let devnet: LongRunning | undefined
let nodePids: number[] = []
let served: { server: Server; url: string } | undefined
let context: BrowserContext | undefined
const pageErrors: string[] = []
try {
  await bundlePage('../../bench/browser/page.ts', folder, 'bench')
  devnet = startCairn(['devnet', '--dir', dir, '--nodes', '4', '--no-gateway'])
  await devnet.waitForLine((line) => line.startsWith('devnet ready'), 180_000)
  nodePids = (await readDevnetJson(dir)).nodes.map((node) => node.pid)
  const cli = devnetCli(dir, { timeoutMs: 300_000 })
  const data = randomBytes(size)
  const digest = sha256(data)
  await writeFile(join(dir, 'file.bin'), data)
  await writeFile(join(folder, 'file.bin'), data)
  await copyFile(join(dir, 'network.json'), join(folder, 'network.json'))
  served = await serveFolder(folder)
  const opened = await openPage({
    url: served.url,
    profile,
    readyGlobal: 'cairnBench',
    what: 'bench',
    errors: pageErrors,
  })
  context = opened.context
  const page = opened.page

  let started = performance.now()
  const { capability } = await cli.json<{ capability: string }>([
    'put',
    join(dir, 'file.bin'),
    '--k',
    String(k),
    '--n',
    String(n),
    '--json',
  ])
  const cliPutMs = performance.now() - started
  started = performance.now()
  const cliGot = await cli.getBytes(capability)
  const cliGetMs = performance.now() - started
  if (sha256(cliGot.bytes) !== digest) throw new Error('cairn get read other bytes than cairn put stored')

  const getRequest: BenchGetRequest = { networkUrl: 'network.json', capability }
  const pageGot = (await page.evaluate(
    (r) => (globalThis as unknown as { cairnBench: { get: (r: unknown) => Promise<unknown> } }).cairnBench.get(r),
    getRequest,
  )) as BenchGetResult
  if (pageGot.sha256 !== digest) throw new Error('the page read other bytes than cairn put stored')

  const putRequest: BenchPutRequest = {
    networkUrl: 'network.json',
    fileUrl: 'file.bin',
    privateKey: (await readFile(join(dir, 'user.key'), 'utf8')).trim(),
    k,
    n,
  }
  const pagePut = (await page.evaluate(
    (r) => (globalThis as unknown as { cairnBench: { put: (r: unknown) => Promise<unknown> } }).cairnBench.put(r),
    putRequest,
  )) as BenchPutResult
  if (pagePut.sha256 !== digest) throw new Error('the page put other bytes than the file')
  if (sha256((await cli.getBytes(pagePut.capability)).bytes) !== digest) {
    throw new Error('cairn get read other bytes than the page put')
  }

  const rows: Array<[string, number, number]> = [
    ['cli put (cairn put, deal included)', cliPutMs, mbps(cliPutMs)],
    ['cli get (cairn get -o FILE)', cliGetMs, mbps(cliGetMs)],
    [`browser put (page, deal included; dial ${pagePut.connectMs.toFixed(0)} ms)`, pagePut.ms, mbps(pagePut.ms)],
    [`browser get (page; dial ${pageGot.connectMs.toFixed(0)} ms)`, pageGot.ms, mbps(pageGot.ms)],
  ]
  console.log(`${size} B random, k=${k} n=${n}, 4-node devnet, Chromium ${context.browser()?.version() ?? ''}`)
  console.log('path'.padEnd(56), 'seconds'.padStart(8), 'MB/s'.padStart(8))
  for (const [path, ms, rate] of rows) {
    console.log(path.padEnd(56), (ms / 1000).toFixed(2).padStart(8), rate.toFixed(1).padStart(8))
  }
  if (pageErrors.length > 0) console.log(`page errors: ${pageErrors.join('; ')}`)
  console.log(
    JSON.stringify({
      bench: 'browser',
      bytes: size,
      k,
      n,
      browser_put_MBps: mbps(pagePut.ms),
      browser_get_MBps: mbps(pageGot.ms),
      cli_put_MBps: mbps(cliPutMs),
      cli_get_MBps: mbps(cliGetMs),
      browser_connect_ms: Math.round(Math.max(pagePut.connectMs, pageGot.connectMs)),
    }),
  )
} catch (error) {
  // Playwright wraps a page's error with the page's stack: the first line names what failed.
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error)
  console.error(
    `browser bench failed: ${message}${pageErrors.length > 0 ? ` (page errors: ${pageErrors.join('; ')})` : ''}`,
  )
  process.exitCode = 1
} finally {
  await context?.close()
  await new Promise((resolve) => (served === undefined ? resolve(undefined) : served.server.close(resolve)))
  await devnet?.stop('SIGTERM', 15_000)
  await stopAll(nodePids)
  for (const path of [dir, folder, profile]) await rm(path, { recursive: true, force: true })
}
