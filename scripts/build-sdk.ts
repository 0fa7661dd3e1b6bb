/**
 * `npm run build:sdk`: builds the installable SDK into dist/ (package.json's exports map points there).
 *
 * - dist/node/: src/client/sdk-node.ts bundled for Node (ESM), with src/storage/segment-worker.ts beside it (the
 *   encode workers load it from the bundle's own folder). Packages stay imports (they are the package's dependencies).
 * - dist/browser/: src/client/sdk-browser.ts bundled for browsers. The build fails when a Node built-in (`node:x` or a
 *   bare `fs`, `crypto`, ...) is still imported by the bundle: no Node built-in is polyfilled.
 * - dist/types/: declarations (.d.ts) tsc emits for both entries.
 *
 * Run with `--no-types` to skip the declarations (about 10 s of tsc on this machine).
 */

import { execFileSync } from 'node:child_process'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { join, relative } from 'node:path'
import { build } from 'rolldown'

const ROOT = new URL('../', import.meta.url).pathname
const DIST = join(ROOT, 'dist')
const NODE_ONLY = '\0cairn-node-only'

/** A package import (kept external): neither relative, absolute, a package.json `#import` nor a virtual module. */
function isPackage(id: string): boolean {
  return !/^[./#\0]/.test(id) && !id.startsWith('node:') && !isBuiltin(id)
}

async function buildNode(): Promise<void> {
  await build({
    input: {
      index: join(ROOT, 'src/client/sdk-node.ts'),
      'segment-worker': join(ROOT, 'src/storage/segment-worker.ts'),
    },
    platform: 'node',
    logLevel: 'warn',
    external: (id) => isPackage(id) || id.startsWith('node:') || isBuiltin(id),
    output: { dir: join(DIST, 'node'), format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
  })
}

/** Builds the browser bundle; returns the Node built-ins some module still links (tree-shaking must drop them all). */
async function buildBrowser(): Promise<string[]> {
  const nodeOnly: string[] = []
  await build({
    input: { index: join(ROOT, 'src/client/sdk-browser.ts') },
    platform: 'browser',
    // Missing exports are those of the empty stand-ins for Node built-ins; checkBrowserBundle proves none is left.
    logLevel: 'silent',
    shimMissingExports: true,
    // The client's modules have no side effects at import: what the page does not call is dropped, and with it the
    // Node-only parts src/client's other files link through src/node and src/net's indexes.
    treeshake: { moduleSideEffects: (id, external) => external && !id.startsWith(NODE_ONLY) },
    external: isPackage,
    plugins: [
      {
        name: 'cairn-node-only',
        resolveId(id, importer) {
          if (!id.startsWith('node:') && !isBuiltin(id)) return null
          nodeOnly.push(`${relative(ROOT, importer ?? '')}: ${id}`)
          return { id: `${NODE_ONLY}:${id}`, moduleSideEffects: false }
        },
        load: (id) => (id.startsWith(NODE_ONLY) ? 'export {}' : null),
      },
    ],
    output: {
      dir: join(DIST, 'browser'),
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: '[name]-[hash].js',
    },
  })
  return nodeOnly
}

/** Throws naming each Node built-in a file of the browser bundle imports (a page cannot load them). */
async function checkBrowserBundle(): Promise<void> {
  const folder = join(DIST, 'browser')
  for (const name of (await readdir(folder)).filter((f) => f.endsWith('.js'))) {
    const text = await readFile(join(folder, name), 'utf8')
    const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!)
    const builtins = specifiers.filter((s) => s.startsWith('node:') || isBuiltin(s))
    if (builtins.length > 0 || text.includes(NODE_ONLY)) {
      throw new Error(
        `dist/browser/${name} imports Node built-ins (${[...new Set(builtins)].join(', ') || NODE_ONLY}): ` +
          'a module src/client/sdk-browser.ts reaches calls them; move that call behind a browser implementation',
      )
    }
  }
}

async function buildTypes(): Promise<void> {
  const config = join(DIST, 'tsconfig.types.json')
  await writeFile(
    config,
    JSON.stringify({
      extends: '../tsconfig.json',
      compilerOptions: {
        noEmit: false,
        declaration: true,
        emitDeclarationOnly: true,
        outDir: './types',
        rootDir: '../src',
      },
      include: [],
      files: ['../src/client/sdk-node.ts', '../src/client/sdk-browser.ts'],
    }),
  )
  execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', config], { stdio: 'inherit' })
}

const started = performance.now()
await rm(DIST, { recursive: true, force: true })
await buildNode()
const nodeOnly = await buildBrowser()
await checkBrowserBundle()
if (!process.argv.includes('--no-types')) await buildTypes()
process.stdout.write(
  `sdk: dist/node, dist/browser${process.argv.includes('--no-types') ? '' : ', dist/types'} built in ` +
    `${((performance.now() - started) / 1000).toFixed(1)} s (${nodeOnly.length} Node-only imports tree-shaken out of the browser bundle)\n`,
)
