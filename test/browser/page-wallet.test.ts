/**
 * The page's own wallet in Debian's chromium: a key generated in the page and kept in its IndexedDB survives a
 * reload, export gives it back, an import replaces it (and survives a reload), and a bad paste keeps the old key.
 * The page is served by a plain static server and makes no request but for its own files.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { privateKeyToAddress } from 'viem/accounts'
import type { PageWalletKey } from '../../src/client/page-wallet.ts'
import { bundlePage } from './page-bundle.ts'
import { chromiumSkip, openPage, serveFolder } from './page-server.ts'

const skip = chromiumSkip('page wallet tests')
/** anvil's first account: what a devnet's user.key holds. */
const DEVNET_USER_KEY = 'ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'

type WalletGlobal = {
  cairnWallet: {
    key: () => Promise<PageWalletKey>
    importKey: (text: string) => Promise<{ address?: string; error?: string; code?: string }>
  }
}

describe('a wallet kept in the page (IndexedDB)', { skip, timeout: 120_000 }, () => {
  let folder: string
  let profile: string
  let served: { server: Server; url: string }
  let context: BrowserContext
  let page: Page
  let bundle: string
  const errors: string[] = []
  const requests: string[] = []

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'cairn-wallet-page-'))
    profile = await mkdtemp(join(tmpdir(), 'cairn-chromium-'))
    bundle = (await bundlePage('./wallet-page.ts', folder, 'wallet')).text
    served = await serveFolder(folder)
    ;({ context, page } = await openPage({
      url: served.url,
      profile,
      readyGlobal: 'cairnWallet',
      what: 'wallet',
      errors,
    }))
    page.on('request', (request) => requests.push(request.url()))
  })

  after(async () => {
    await context?.close()
    await new Promise((resolve) => served?.server.close(resolve))
    for (const path of [folder, profile]) if (path !== undefined) await rm(path, { recursive: true, force: true })
  })

  const key = () => page.evaluate(() => (globalThis as unknown as WalletGlobal).cairnWallet.key())
  const importKey = (text: string) =>
    page.evaluate((t) => (globalThis as unknown as WalletGlobal).cairnWallet.importKey(t), text)
  const reload = async () => {
    await page.reload()
    await page.waitForFunction(() => 'cairnWallet' in globalThis, undefined, { timeout: 30_000 })
  }

  it('bundles without Node built-ins', () => {
    assert.doesNotMatch(bundle, /(?:from|import)\s*\(?\s*["']node:/)
  })

  it('generates a key once and keeps it across a reload; export gives it back', async () => {
    const first = await key()
    assert.equal(first.created, true, 'a fresh profile has no key: the page makes one')
    assert.match(first.key, /^0x[0-9a-f]{64}$/)
    assert.equal(first.address, privateKeyToAddress(first.key), 'the address is the key’s')
    await reload()
    const again = await key()
    assert.equal(again.created, false, 'the key was kept')
    assert.equal(again.key, first.key, 'the export after a reload is the key made before it')
  })

  it('an imported key replaces the page’s key and survives a reload; a bad paste keeps it', async () => {
    const imported = await importKey(`  ${DEVNET_USER_KEY}\n`)
    assert.deepEqual(imported, { address: privateKeyToAddress(`0x${DEVNET_USER_KEY}`) })
    await reload()
    const now = await key()
    assert.equal(now.key, `0x${DEVNET_USER_KEY}`)
    assert.equal(now.created, false)
    for (const bad of ['0x1234', 'not a key', `0x${'0'.repeat(64)}`, `${DEVNET_USER_KEY}00`]) {
      const refused = await importKey(bad)
      assert.equal(refused.code, 'ERR_INVALID_ARGUMENT', bad)
      assert.match(refused.error ?? '', /paste 64 hexadecimal digits/)
    }
    assert.equal((await key()).key, `0x${DEVNET_USER_KEY}`, 'a refused import kept the key')
  })

  it('sends the key nowhere: the page asked only for its own files, and threw nothing', () => {
    for (const url of requests) assert.ok(url.startsWith(served.url), `the page requested ${url}`)
    assert.equal(
      requests.some((url) => url.includes(DEVNET_USER_KEY)),
      false,
    )
    assert.deepEqual(errors, [])
  })
})
