/**
 * A usage error or `--help` must answer at once: the CLI loads a command's module (libp2p, viem, the storage
 * pipeline) only when that command runs. The test records every module the process resolves.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
// Logs each resolved module URL to stderr as "resolved: URL".
const HOOK = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; registerHooks({ resolve(s, c, next) { const r = next(s, c); process.stderr.write('resolved: ' + r.url + '\\n'); return r } })",
)}`

function run(args: string[]) {
  const result = spawnSync(process.execPath, ['--import', HOOK, CLI, ...args], { encoding: 'utf8' })
  const modules = result.stderr.split('\n').filter((l) => l.startsWith('resolved: '))
  const errors = result.stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('resolved: '))
  return { status: result.status, stdout: result.stdout, errors, modules }
}

describe('cli start-up', () => {
  for (const args of [['put'], ['get', 'a', 'b'], ['help'], ['nodes', '--bogus']]) {
    it(`\`cairn ${args.join(' ')}\` answers without loading libp2p or viem`, () => {
      const { status, errors, modules } = run(args)
      assert.ok(modules.length > 0, 'the resolve hook saw the CLI load')
      const heavy = modules.filter((m) => /libp2p|viem|@chainsafe/.test(m))
      assert.deepEqual(heavy, [])
      if (args[0] !== 'help') {
        assert.equal(status, 2)
        assert.match(errors.join('\n'), /^error: /)
      }
    })
  }
  it('a command that runs still loads its module', () => {
    const { modules } = run(['version'])
    assert.ok(modules.some((m) => m.includes('/src/node/index.ts')))
  })
})

describe('devnet start-up hint', () => {
  it('names a cairn command that works from where npm start runs (cairn is not on PATH there)', async () => {
    const { cairnCommand } = await import('../../src/cli/command-devnet.ts')
    const root = fileURLToPath(new URL('../..', import.meta.url))
    const saved = process.env.PATH
    process.env.PATH = '/usr/bin:/bin'
    try {
      assert.equal(cairnCommand(root), './bin/cairn.js')
      assert.equal(cairnCommand(`${root}/docs`), '../bin/cairn.js')
    } finally {
      process.env.PATH = saved
    }
  })
})
