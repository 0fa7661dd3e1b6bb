/** What the browser tests share: Debian's Chromium (or the reason to skip) and a static server for a built page. */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'

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
