/**
 * Checks the house rules on src/: a file imports another folder only through that folder's index.ts, and only
 * downward in the layer map (storage <- net, chain <- node <- client <- api, devnet <- cli). Run by `npm run lint`.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..', 'src')
/** What each top-level room may import (besides itself and src/errors.ts). */
const ALLOWED: Record<string, string[]> = {
  storage: [],
  net: ['storage'],
  chain: ['storage'],
  node: ['storage', 'net', 'chain'],
  client: ['storage', 'net', 'chain', 'node'],
  api: ['storage', 'net', 'chain', 'node', 'client'],
  devnet: ['storage', 'net', 'chain', 'node', 'client', 'api'],
  cli: ['storage', 'net', 'chain', 'node', 'client', 'api', 'devnet'],
}

const files = readdirSync(ROOT, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
const problems: string[] = []
for (const file of files) {
  const path = join(ROOT, file)
  const text = readFileSync(path, 'utf8')
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    const target = resolve(dirname(path), match[1]!)
    const to = relative(ROOT, target)
    if (to.startsWith('..')) continue
    const fromDir = dirname(file)
    const toDir = dirname(to)
    if (to === 'errors.ts') continue
    const fromRoom = file.split('/')[0]!
    const toRoom = to.split('/')[0]!
    if (fromRoom !== toRoom && !(ALLOWED[fromRoom] ?? []).includes(toRoom)) {
      problems.push(`${file}: imports ${to}, but ${fromRoom}/ may not depend on ${toRoom}/`)
    }
    // A file imports its own folder and the folders above it freely; any other folder only through its index.ts.
    const above = fromDir === toDir || fromDir.startsWith(`${toDir}/`) || toDir === '.'
    if (!above && !to.endsWith('/index.ts') && !toDir.endsWith('/generated')) {
      problems.push(`${file}: imports ${to} directly; import ${toDir}/index.ts`)
    }
  }
}
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n${problems.length} layer rule violations\n`)
  process.exit(1)
}
process.stdout.write(`layers: ${files.length} files follow the layer map\n`)
