/** Bundles a page script of test/browser for Chromium with rolldown, into a folder a static server can serve. */
import { readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { build } from 'rolldown'

const ROOT = new URL('../../', import.meta.url).pathname
const NODE_ONLY = '\0cairn-node-only'

export interface PageBundle {
  text: string
  /**
   * Imports of Node built-ins that modules the page's code reaches through an index still link (`importer: node:x`,
   * e.g. src/node's state files through src/client's imports of src/node/index.ts). None is in the page: tree-shaking
   * drops them (the page never calls them), and the bundle links any left to an empty module, so a call would throw.
   * No Node built-in is polyfilled. A browser entry of the SDK that imports no node-only index would shrink this list.
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
    ],
    output: { dir: folder, format: 'esm', entryFileNames: `${name}.js`, minify: true },
  })
  await writeFile(
    join(folder, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>cairn ${name}</title><link rel="icon" href="data:,"><script type="module" src="${name}.js"></script>\n`,
  )
  return { text: await readFile(join(folder, `${name}.js`), 'utf8'), nodeOnly: [...nodeOnly].sort() }
}
