/**
 * `npm run test:unit`: every test file that starts no process, no chain and no browser (the rest of `npm test`).
 * A file is left out when it spawns processes or uses anvil, a devnet or Chromium, read from its imports and calls,
 * so a new unit test is picked up without being listed anywhere. The files share one process (`--test-isolation=none`):
 * loading libp2p and stripping types once instead of once per file is most of the time saved.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
/** Signs of a test that needs more than its own process. */
const HEAVY = [
  /from 'node:child_process'/,
  /playwright-core/,
  /\bcreateDevchain\b|\bstartDevchain\b|\buseTestChain\b|\bstartTestChain\b|from '\.\/harness\.ts'|chain\/harness\.ts/,
  /devnet-fixture\.ts|cairn-process\.ts|spawn-host\.ts|cluster\.ts/,
  /\bcompileContracts\b|solc/,
]

const files = readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join(ROOT, 'test', f))
  .filter((path) => {
    const text = readFileSync(path, 'utf8')
    return !HEAVY.some((re) => re.test(text))
  })
  .map((path) => relative(ROOT, path))
  .sort()

const child = spawn(process.execPath, ['--test', '--test-isolation=none', ...files, ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
})
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)))
