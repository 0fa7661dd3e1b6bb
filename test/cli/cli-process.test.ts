/** The `cairn` program as users run it: exit codes and one-line errors, without a network. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/cairn.js', import.meta.url))

describe('cairn program', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-cli-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  const cairn = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, CAIRN_DEVNET: '', CAIRN_HOME: join(dir, 'home') },
      cwd: dir,
      timeout: 60_000,
    })

  it('prints its version and help', () => {
    const version = cairn('--version')
    assert.equal(version.status, 0)
    assert.match(version.stdout, /^cairn \d+\.\d+\.\d+\n$/)
    assert.match(cairn('help').stdout, /cairn put FILE\|-/)
  })

  it('fails with one line and exit code 2 on a usage error', () => {
    const result = cairn('put', 'a', '--k', 'two', '--n', '3')
    assert.equal(result.status, 2)
    assert.equal(result.stderr, 'error: --k must be a whole number from 1 to 255, got "two"\n')
    const bad = cairn('get', 'not-a-capability', '--devnet', dir)
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /^error: a capability starts with 'cairn:'.*\n$/)
  })

  it('names the fix when no devnet is running', () => {
    const result = cairn('nodes', '--devnet', join(dir, 'nowhere'))
    assert.equal(result.status, 4)
    assert.match(
      result.stderr,
      /^error: no devnet at .*devnet\.json: start one with "cairn devnet --dir .*" or pass --devnet DIR\n$/,
    )
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  })

  it('refuses a missing file before touching the network', () => {
    const result = cairn('put', join(dir, 'missing.bin'))
    assert.equal(result.status, 1)
    assert.equal(result.stderr, `error: no such file: ${join(dir, 'missing.bin')}\n`)
  })

  it('names the missing folder of -o before touching the network, not an internal file', () => {
    const capability = `cairn:bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku#${'A'.repeat(43)}`
    const out = join(dir, 'no-such-folder', 'out.bin')
    const result = cairn('get', capability, '-o', out, '--devnet', join(dir, 'nowhere'))
    assert.equal(result.status, 2, result.stderr)
    assert.equal(
      result.stderr,
      `error: -o ${out}: the folder ${join(dir, 'no-such-folder')} does not exist; create it first or choose another path\n`,
    )
    assert.doesNotMatch(result.stderr, /cairn-partial/)
  })
})
