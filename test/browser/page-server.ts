/** What the browser tests share: Debian's Chromium (or the reason to skip) and a static server for a built page. */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

export const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium'

/** false when Chromium is there, else why the tests of `what` skip. */
export function chromiumSkip(what: string): false | string {
  return existsSync(CHROMIUM)
    ? false
    : `${CHROMIUM} is missing: install it with 'apt-get install -y chromium' to run the ${what}`
}

/** Serves the files of `folder` (flat) and nothing else. */
export async function serveFolder(folder: string): Promise<{ server: Server; url: string }> {
  const files = new Map<string, Buffer>()
  for (const name of await readdir(folder)) files.set(`/${name}`, await readFile(join(folder, name)))
  const types: Record<string, string> = { html: 'text/html', js: 'text/javascript', map: 'application/json' }
  const server = createServer((request, response) => {
    const path = request.url === '/' ? '/index.html' : (request.url ?? '')
    const body = files.get(path)
    if (body === undefined) return void response.writeHead(404).end()
    response.writeHead(200, { 'content-type': types[path.split('.').pop() ?? ''] ?? 'application/octet-stream' })
    response.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(address !== null && typeof address === 'object')
  return { server, url: `http://127.0.0.1:${address.port}/` }
}

export interface OpenPageInit {
  url: string
  /** The Chromium profile folder (the caller makes and removes it). */
  profile: string
  /** The global the page's script sets once it is ready. */
  readyGlobal: string
  /** Names the bundle in the error when the page does not get ready. */
  what: string
  /** Receives the page's uncaught errors (and its console errors with `consoleErrors`). */
  errors: string[]
  consoleErrors?: boolean
}

/**
 * Opens `url` in a headless Chromium and waits until the page's script set `globalThis[readyGlobal]`; throws naming
 * `what` and the page's errors when it does not within 30 s (the browser is closed then).
 */
export async function openPage(init: OpenPageInit): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(init.profile, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  })
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (error) => init.errors.push(error.message))
  if (init.consoleErrors === true) {
    page.on('console', (message) => message.type() === 'error' && init.errors.push(message.text()))
  }
  await page.goto(init.url)
  await page
    .waitForFunction((name) => name in globalThis, init.readyGlobal, { timeout: 30_000 })
    .catch(async (cause) => {
      await context.close()
      throw new Error(`the ${init.what} bundle did not load in chromium: ${init.errors.join('; ') || cause}`)
    })
  return { context, page }
}
