import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { helpText, parseCommandLine } from '../../src/cli/command-line.ts'
import { describeError } from '../../src/cli/error-message.ts'
import { formatTable } from '../../src/cli/output.ts'
import { ProgressBar } from '../../src/cli/progress-bar.ts'
import { InvalidArgumentError, NotEnoughNodesError, NotEnoughPiecesError } from '../../src/errors.ts'

describe('command line parsing', () => {
  it('splits commands, positionals and flags', () => {
    const put = parseCommandLine(['put', 'a.txt', '--k', '2', '--n', '6', '--json'])
    assert.deepEqual(
      { ...put, values: { ...put.values } },
      {
        command: 'put',
        positionals: ['a.txt'],
        values: { k: '2', n: '6', json: true },
      },
    )
    const get = parseCommandLine(['get', 'cairn:x', '-o', 'out.bin', '--devnet', 'd'])
    assert.deepEqual([get.command, get.values.output, get.values.devnet], ['get', 'out.bin', 'd'])
    const node = parseCommandLine(['node', 'start', '--bootstrap', 'a', '--bootstrap', 'b', '--no-mdns'])
    assert.deepEqual([node.command, node.values.bootstrap, node.values['no-mdns']], ['node start', ['a', 'b'], true])
    assert.equal(parseCommandLine([]).command, 'help')
    assert.deepEqual(parseCommandLine(['status', '--help']), {
      command: 'help',
      topic: 'status',
      positionals: [],
      values: {},
    })
  })

  it('names the fix for unknown commands, unknown flags and missing arguments', () => {
    assert.throws(() => parseCommandLine(['pull']), {
      message: 'unknown command "pull": run "cairn help" for the list of commands',
    })
    assert.throws(() => parseCommandLine(['node', 'stop']), { message: /did you mean "cairn node start"/ })
    assert.throws(
      () => parseCommandLine(['put', 'a', '--kk', '2']),
      (err: Error) => {
        assert.ok(err instanceof InvalidArgumentError)
        assert.match(err.message, /--kk.*usage: cairn put FILE\|-/)
        return true
      },
    )
    assert.throws(() => parseCommandLine(['get']), { message: /"get" takes 1 argument, got 0: usage: cairn get/ })
  })

  it('help lists every command', () => {
    const text = helpText()
    for (const command of ['devnet', 'node start', 'put', 'get', 'status', 'nodes', 'ls']) {
      assert.ok(text.includes(`cairn ${command}`), command)
    }
  })
})

describe('error lines and exit codes', () => {
  it('maps Cairn errors to one line and a stable exit code', () => {
    assert.deepEqual(describeError(new NotEnoughNodesError('only 2 live nodes are known')), {
      line: 'error: only 2 live nodes are known',
      exitCode: 3,
      code: 'ERR_NOT_ENOUGH_NODES',
    })
    assert.equal(describeError(new NotEnoughPiecesError('x')).exitCode, 5)
    assert.equal(describeError(new InvalidArgumentError('bad\nflag')).line, 'error: bad flag')
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', path: 'missing.txt' })
    assert.deepEqual(describeError(enoent), { line: 'error: no such file: missing.txt', exitCode: 1, code: 'ENOENT' })
    assert.equal(describeError(new TypeError('boom')).line, 'error: boom')
  })
})

describe('output', () => {
  it('draws a progress bar with percent, bytes and speed', () => {
    let now = 0
    const written: string[] = []
    const stream = { columns: 80, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream
    const bar = new ProgressBar({ label: 'put', total: 2_000_000, stream, now: () => now })
    now = 1000
    bar.update(1_000_000)
    assert.match(bar.render(80), /^put \[#+-+\] {2}50% 1\.0 MB\/2\.0 MB 1\.0 MB\/s$/)
    const unknown = new ProgressBar({ label: 'get', stream, now: () => now })
    unknown.update(500)
    assert.match(unknown.render(80), /^get 500 B/)
  })

  it('aligns tables', () => {
    assert.equal(formatTable(['A', 'BB'], [['xxx', 'y']]), 'A    BB\nxxx  y\n')
  })
})
