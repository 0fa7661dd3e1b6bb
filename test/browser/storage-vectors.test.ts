/**
 * src/storage runs unchanged in a browser page. The test bundles test/browser/storage-page.ts (which imports
 * src/storage/index.ts) for the browser with rolldown, serves it from a plain static file server on 127.0.0.1, opens
 * it in Debian's chromium through playwright-core, and checks in the page: every known-answer vector of
 * test/vectors/file-format.json gives the recorded manifest CID, capability, piece CIDs and slot roots and decodes
 * back; a file encoded in the page decodes in Node and one encoded in Node decodes in the page (with slots lost).
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import type { BrowserContext, Page } from 'playwright-core'
import { build } from 'rolldown'
import { VECTOR_KEY, VECTOR_SALT, vectorInput } from '../../scripts/generate-file-format-vectors.ts'
import { decodeManifest, encodeFile, parseCapability } from '../../src/storage/index.ts'
import { decodeAll, testData } from '../storage/pipeline-helpers.ts'
import { chromiumSkip, openPage, serveFolder } from './page-server.ts'
import type { EncodedInPage, StoragePage, VectorRequest } from './storage-page.ts'

const skip = chromiumSkip('browser storage tests')

interface VectorCase {
  name: string
  size: number
  input: 'noise' | 'text'
  k: number
  n: number
  metadata?: Record<string, unknown>
  capability: string
  manifestCid: string
  manifestSize: number
  keyCheck: string
  segments: Array<{ size: number; flags: number; ciphertextHash: string; pieces: string[] }>
  slots: Array<{ root: string; size: number }>
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/file-format.json', import.meta.url), 'utf8')) as {
  key: string
  salt: string
  segmentSize: number
  cases: VectorCase[]
}
const CHANGED = 'the page encodes differently from the recorded vectors (and so from Node)'
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64')
const fromB64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'))

/** Calls `globalThis.cairnStorage[method](...args)` in the page. */
function call<M extends keyof StoragePage>(page: Page, method: M, ...args: Parameters<StoragePage[M]>) {
  return page.evaluate(
    ([name, list]) => {
      const api = (globalThis as unknown as { cairnStorage: Record<string, (...a: unknown[]) => unknown> }).cairnStorage
      return api[name]!(...list)
    },
    [method, args] as [string, unknown[]],
  ) as Promise<Awaited<ReturnType<StoragePage[M]>>>
}

describe('src/storage in chromium (browser platform: @noble, zstd wasm, Reed-Solomon wasm)', {
  skip,
  timeout: 180_000,
}, () => {
  let folder: string
  let profile: string
  let served: { server: Server; url: string }
  let context: BrowserContext
  let page: Page
  let bundle: string
  const pageErrors: string[] = []

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'cairn-browser-'))
    profile = await mkdtemp(join(tmpdir(), 'cairn-chromium-'))
    await build({
      input: new URL('./storage-page.ts', import.meta.url).pathname,
      platform: 'browser',
      logLevel: 'silent',
      output: { dir: folder, format: 'esm', entryFileNames: 'storage.js', minify: true },
    })
    bundle = await readFile(join(folder, 'storage.js'), 'utf8')
    await writeFile(
      join(folder, 'index.html'),
      '<!doctype html><meta charset="utf-8"><title>cairn storage</title><link rel="icon" href="data:,"><script type="module" src="storage.js"></script>\n',
    )
    served = await serveFolder(folder)
    ;({ context, page } = await openPage({
      url: served.url,
      profile,
      readyGlobal: 'cairnStorage',
      what: 'storage',
      errors: pageErrors,
      consoleErrors: true,
    }))
  })

  after(async () => {
    await context?.close()
    await new Promise((resolve) => served?.server.close(resolve))
    if (folder !== undefined) await rm(folder, { recursive: true, force: true })
    if (profile !== undefined) await rm(profile, { recursive: true, force: true })
  })

  it('bundles without any Node built-in (no node: import reaches the browser)', (t) => {
    assert.doesNotMatch(bundle, /(?:from|import)\s*\(?\s*["']node:/, 'a node: import reached the browser bundle')
    // (cborg's feature-detected globalThis.Buffer is fine; a bare Buffer would throw in the page)
    assert.doesNotMatch(
      bundle,
      /(?<![.\w])Buffer\.(?:from|alloc|compare|concat)\(/,
      'Node Buffer calls reached the bundle',
    )
    const gzipped = gzipSync(bundle).byteLength
    t.diagnostic(`bundle: ${(bundle.length / 1024).toFixed(0)} KiB minified, ${(gzipped / 1024).toFixed(0)} KiB gzip`)
  })

  for (const c of vectors.cases) {
    it(`${c.name}: the page encodes the recorded CIDs and decodes back`, async () => {
      const request: VectorRequest = {
        input: b64(vectorInput(c.size, c.input)),
        k: c.k,
        n: c.n,
        segmentSize: vectors.segmentSize,
        key: vectors.key,
        salt: vectors.salt,
        ...(c.metadata === undefined ? {} : { metadata: c.metadata }),
      }
      assert.equal(vectors.key, Buffer.from(VECTOR_KEY).toString('hex'))
      assert.equal(vectors.salt, Buffer.from(VECTOR_SALT).toString('hex'))
      const got = await call(page, 'encodeVector', request)
      assert.equal(got.manifestCid, c.manifestCid, CHANGED)
      assert.equal(got.capability, c.capability, CHANGED)
      assert.equal(got.manifestSize, c.manifestSize, CHANGED)
      assert.equal(got.keyCheck, c.keyCheck, CHANGED)
      assert.deepEqual(got.segments, c.segments, CHANGED)
      assert.deepEqual(got.slots, c.slots, CHANGED)
      c.segments.forEach((segment, index) => {
        segment.pieces.forEach((cid, slot) => {
          assert.equal(got.cids[`${index}/${slot}`], cid, `segment ${index} slot ${slot}: ${CHANGED}`)
        })
      })
      assert.equal(Object.keys(got.cids).length, c.segments.length * c.n, 'every piece was produced')
      assert.ok(got.piecesHashToTheirCid, 'every piece hashes to its CID in the page')
      assert.deepEqual(got.metadata, c.metadata ?? {})
      assert.ok(got.decodes, 'the page decodes the file back to its input')
      assert.ok(got.decodesFromLastK, 'the page decodes it from the last k slots (erasure decoding)')
    })
  }

  it('a file encoded in the page (k=10, n=14) decodes in Node, also with 4 slots lost', async () => {
    const data = new Uint8Array([...testData(700_000, 'text'), ...randomBytes(300_000)])
    const file: EncodedInPage = await call(page, 'encode', b64(data), { k: 10, n: 14, segmentSize: 262_144 })
    const { manifestCid, key } = parseCapability(file.capability)
    assert.ok(key !== undefined)
    const manifest = decodeManifest(fromB64(file.manifest), manifestCid)
    assert.ok(
      manifest.segments.some((s) => s.flags === 1),
      'the text segments were zstd-compressed in the page',
    )
    const pieces = new Map(Object.entries(file.pieces).map(([at, bytes]) => [at, fromB64(bytes)]))
    assert.deepEqual(await decodeAll(manifest, key, pieces), data)
    const lost = new Set([0, 3, 7, 12])
    assert.deepEqual(await decodeAll(manifest, key, pieces, { missing: () => lost }), data)
  })

  it('a file encoded in Node (k=4, n=6) decodes in the page, also with 2 slots lost', async () => {
    const data = new Uint8Array([...testData(400_000, 'text', 7), ...randomBytes(200_000)])
    const { pieces, done } = encodeFile([data], { k: 4, n: 6, segmentSize: 131_072 })
    const stored: Record<string, string> = {}
    for await (const piece of pieces) stored[`${piece.segment}/${piece.slot}`] = b64(piece.bytes)
    const file = await done
    const encoded: EncodedInPage = { capability: file.capability, manifest: b64(file.manifestBytes), pieces: stored }
    const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
    assert.equal(sha(fromB64(await call(page, 'decode', encoded))), sha(data))
    assert.equal(sha(fromB64(await call(page, 'decode', encoded, [1, 4]))), sha(data))
  })

  it('encodes and decodes 8 MiB at k=10, n=14 in the page (throughput for the record)', async (t) => {
    const result = await call(page, 'throughput', 8, 10, 14)
    assert.ok(result.equal, 'the page decodes its own file back')
    t.diagnostic(
      `page: encode ${result.encodeMBps.toFixed(0)} MB/s, decode (2 slots lost) ${result.decodeMBps.toFixed(0)} MB/s, erasure kernel ${result.erasure}`,
    )
    assert.deepEqual(pageErrors, [], 'no error in the page console')
  })
})
