/**
 * A page fetches from a storage node with no gateway in between. A devnet (4 node processes, the devchain, no gateway)
 * stores a file put by the CLI; the test bundles test/browser/transport-page.ts for the browser with rolldown, serves it
 * from a plain static file server on 127.0.0.1 and opens it in Debian's chromium through playwright-core. The page
 * dials a slot holder at the address the network file lists, over WebSockets, then over WebRTC-direct, fetches the
 * file's manifest and that slot's first piece over `/cairn/piece/1.0.0`, and checks the piece against its CID.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import type { BrowserContext, Page } from 'playwright-core'
import { build } from 'rolldown'
import type { FileStatus } from '../../src/client/index.ts'
import { addressTransport } from '../../src/net/index.ts'
import {
  type DevnetCli,
  devnetCli,
  type LongRunning,
  readDevnetJson,
  startCairn,
  stopAll,
} from '../e2e/devnet-fixture.ts'
import { chromiumSkip, openPage, serveFolder } from './page-server.ts'
import type { PieceFetchRequest, PieceFetchResult } from './transport-page.ts'

const skip = chromiumSkip('browser transport tests')

describe('a page fetches a piece straight from a devnet node (WebSockets, WebRTC-direct)', {
  skip,
  timeout: 420_000,
}, () => {
  let dir: string
  let folder: string
  let profile: string
  let devnet: LongRunning
  let nodePids: number[] = []
  let cli: DevnetCli
  let served: { server: Server; url: string }
  let context: BrowserContext
  let page: Page
  let capability: string
  let status: FileStatus
  let bootstrap: string[]
  let bundle: string
  const data = randomBytes(3 * 1024 * 1024 + 17)
  const pageErrors: string[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-page-fetch-'))
    folder = await mkdtemp(join(tmpdir(), 'cairn-page-bundle-'))
    profile = await mkdtemp(join(tmpdir(), 'cairn-chromium-'))
    await build({
      input: new URL('./transport-page.ts', import.meta.url).pathname,
      platform: 'browser',
      logLevel: 'silent',
      output: { dir: folder, format: 'esm', entryFileNames: 'transport.js', minify: true },
    })
    bundle = await readFile(join(folder, 'transport.js'), 'utf8')
    await writeFile(
      join(folder, 'index.html'),
      '<!doctype html><meta charset="utf-8"><title>cairn transport</title><link rel="icon" href="data:,"><script type="module" src="transport.js"></script>\n',
    )
    devnet = startCairn(['devnet', '--dir', dir, '--nodes', '4', '--heartbeat-ms', '250', '--no-gateway'])
    await devnet.waitForLine((line) => line.startsWith('devnet ready'), 180_000)
    nodePids = (await readDevnetJson(dir)).nodes.map((node) => node.pid)
    cli = devnetCli(dir, { timeoutMs: 180_000 })
    await writeFile(join(dir, 'file.bin'), data)
    const put = await cli.json<{ capability: string }>(['put', join(dir, 'file.bin'), '--k', '2', '--n', '4', '--json'])
    capability = put.capability
    status = await cli.status(capability)
    bootstrap = (JSON.parse(await readFile(join(dir, 'network.json'), 'utf8')) as { bootstrap: string[] }).bootstrap
    served = await serveFolder(folder)
    ;({ context, page } = await openPage({
      url: served.url,
      profile,
      readyGlobal: 'cairnTransport',
      what: 'transport',
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

  it('bundles libp2p for the browser without any Node built-in', (t) => {
    assert.doesNotMatch(bundle, /(?:from|import)\s*\(?\s*["']node:/, 'a node: import reached the browser bundle')
    assert.doesNotMatch(
      bundle,
      /node-datachannel/,
      "the Node WebRTC binding reached the bundle (not the package's browser build)",
    )
    const gzipped = gzipSync(bundle).byteLength
    t.diagnostic(`bundle: ${(bundle.length / 1024).toFixed(0)} KiB minified, ${(gzipped / 1024).toFixed(0)} KiB gzip`)
  })

  it("lists each node's WebSocket and WebRTC-direct addresses in the network file", () => {
    assert.equal(status.slots.length, 4)
    for (const slot of status.slots) {
      const kinds = bootstrap.filter((a) => a.endsWith(`/p2p/${slot.peerId}`)).map(addressTransport)
      assert.deepEqual(kinds.sort(), ['tcp', 'webrtc-direct', 'ws'], `node ${slot.peerId}: ${bootstrap.join(' ')}`)
    }
  })

  for (const [transport, slot] of [
    ['ws', 0],
    ['webrtc-direct', 1],
  ] as const) {
    it(`fetches a piece of a file the CLI stored, over ${transport}, and verifies its CID in the page`, async (t) => {
      const holder = status.slots[slot]!.peerId!
      const address = bootstrap.find((a) => a.endsWith(`/p2p/${holder}`) && addressTransport(a) === transport)!
      const request: PieceFetchRequest = { address, transport, capability, slot }
      const got = (await page.evaluate(
        (r) =>
          (
            globalThis as unknown as { cairnTransport: { fetchSlotPiece: (r: unknown) => Promise<unknown> } }
          ).cairnTransport.fetchSlotPiece(r),
        request,
      )) as PieceFetchResult
      assert.equal(got.peerId, holder)
      assert.deepEqual(
        got.connections.map(addressTransport),
        [transport],
        `one ${transport} connection: ${got.connections}`,
      )
      assert.deepEqual(got.manifest, { size: data.byteLength, k: 2, n: 4, segments: got.manifest.segments })
      assert.ok(got.verified, 'the piece hashes to its CID in the page')
      assert.equal(`${got.cid}`.length > 0 && got.bytes > 0, true)
      // the CID is sha2-256 of the bytes: WebCrypto's digest in the page is the CID's own multihash digest
      const { CID } = await import('multiformats/cid')
      assert.equal(Buffer.from(CID.parse(got.cid).multihash.digest).toString('hex'), got.sha256)
      t.diagnostic(`${transport}: dial, manifest and a ${got.bytes}-byte piece in ${got.ms.toFixed(0)} ms`)
      assert.deepEqual(pageErrors, [], 'no error in the page')
    })
  }

  it('the file the page read from is whole (cairn get)', async () => {
    const { bytes } = await cli.getBytes(capability)
    assert.equal(createHash('sha256').update(bytes).digest('hex'), createHash('sha256').update(data).digest('hex'))
  })
})
