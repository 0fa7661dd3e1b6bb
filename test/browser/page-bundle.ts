/** Bundles a page script of test/browser for Chromium with rolldown, into a folder a static server can serve. */
import { readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { build } from 'rolldown'

const ROOT = new URL('../../', import.meta.url).pathname
const NODE_ONLY = '\0cairn-node-only'

/**
 * Stopgap, to remove once src/net/slot-acceptance-messages.ts stops using Node's `Buffer` (two hex conversions and a
 * concat, on the reserve and accept messages a put sends): the page's bundle gets the same three lines in portable
 * code. Each replacement must match, so an edit of that file shows here instead of failing in the page.
 */
const BUFFER_FREE: Record<string, Array<[string, string]>> = {
  'src/net/slot-acceptance-messages.ts': [
    [
      "Uint8Array.from(Buffer.from(hex.slice(2), 'hex'))",
      'Uint8Array.from(hex.slice(2).match(/../g) ?? [], (h) => Number.parseInt(h, 16))',
    ],
    [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text to replace
      "`0x${Buffer.from(bytes).toString('hex')}`",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text to put in
      "`0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`",
    ],
    [
      'return Buffer.concat(this.parts)',
      'const out = new Uint8Array(this.parts.reduce((n, p) => n + p.byteLength, 0)); let at = 0; for (const p of this.parts) { out.set(p, at); at += p.byteLength } return out',
    ],
  ],
}

export interface PageBundle {
  text: string
  /**
   * Stopgap, to shrink to nothing: imports of Node built-ins that the page's code still links (`importer: node:x`).
   * src/chain's transaction lock (node:fs, node:os, node:crypto) and chain-client's `join` (node:path), and
   * src/net/slot-acceptance-protocol's `randomBytes` (node:crypto) are linked by the page's wallet and host but never
   * called there; until they sit behind a platform seam (as src/storage's do), the bundle links them to an empty
   * module (a call would throw), and unused ones are dropped. No Node built-in is polyfilled.
   */
  nodeOnly: string[]
}

/** Builds `entry` (a file of test/browser) to `folder/name.js` with an index.html loading it. */
export async function bundlePage(entry: string, folder: string, name: string): Promise<PageBundle> {
  const nodeOnly = new Set<string>()
  await build({
    input: new URL(entry, import.meta.url).pathname,
    platform: 'browser',
    logLevel: 'silent',
    treeshake: { moduleSideEffects: false },
    shimMissingExports: true,
    plugins: [
      {
        name: 'cairn-node-only',
        resolveId(id, importer) {
          if (!id.startsWith('node:')) return null
          nodeOnly.add(`${relative(ROOT, importer ?? '')}: ${id}`)
          return NODE_ONLY
        },
        load: (id) => (id === NODE_ONLY ? 'export {}' : null),
      },
      {
        name: 'cairn-buffer-free-stopgap',
        transform(code, id) {
          const swaps = BUFFER_FREE[relative(ROOT, id)]
          if (swaps === undefined) return null
          let out = code
          for (const [from, to] of swaps) {
            if (!out.includes(from)) throw new Error(`${id} changed: update the stopgap in test/browser/page-bundle.ts`)
            out = out.replace(from, to)
          }
          return out
        },
      },
    ],
    output: { dir: folder, format: 'esm', entryFileNames: `${name}.js`, minify: true },
  })
  await writeFile(
    join(folder, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>cairn ${name}</title><link rel="icon" href="data:,"><script type="module" src="${name}.js"></script>\n`,
  )
  return { text: await readFile(join(folder, `${name}.js`), 'utf8'), nodeOnly: [...nodeOnly].sort() }
}
