/** Bundles a page script of test/browser for Chromium with rolldown, into a folder a static server can serve. */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { build } from 'rolldown'

/**
 * Stopgap, to remove: src/net/slot-acceptance-protocol.ts imports `randomBytes` from node:crypto (for a spot check's
 * nonce, a node-side path), which reaches any bundle of src/net/browser-host.ts. Until it uses
 * `crypto.getRandomValues`, the page's bundle resolves that one import to WebCrypto's random bytes.
 */
const nodeCryptoStopgap = {
  name: 'cairn-node-crypto-stopgap',
  resolveId: (id: string) => (id === 'node:crypto' ? '\0node-crypto-stopgap' : null),
  load: (id: string) =>
    id === '\0node-crypto-stopgap'
      ? 'export function randomBytes(n) { const b = crypto.getRandomValues(new Uint8Array(n)); b.toString = (e) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(""); return b }'
      : null,
}

/** Builds `entry` (a file of test/browser) to `folder/name.js` with an index.html loading it; returns the bundle's text. */
export async function bundlePage(entry: string, folder: string, name: string): Promise<string> {
  await build({
    input: new URL(entry, import.meta.url).pathname,
    platform: 'browser',
    logLevel: 'silent',
    plugins: [nodeCryptoStopgap],
    output: { dir: folder, format: 'esm', entryFileNames: `${name}.js`, minify: true },
  })
  await writeFile(
    join(folder, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>cairn ${name}</title><link rel="icon" href="data:,"><script type="module" src="${name}.js"></script>\n`,
  )
  return await readFile(join(folder, `${name}.js`), 'utf8')
}
