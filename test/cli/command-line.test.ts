import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { helpText, parseCommandLine, redundancyFlags } from '../../src/cli/command-line.ts'
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

describe('--k and --n', () => {
  const flags = (...args: string[]) => redundancyFlags(parseCommandLine(['put', 'a.txt', ...args]).values)
  const rule =
    /^k and n must be whole numbers with 1 <= k < n <= 255 .*, got k=(\d+), n=(\d+): use --k\/--n within that range$/

  it('passes the pairs the storage layer accepts', () => {
    assert.deepEqual(flags(), {})
    assert.deepEqual(flags('--k', '2', '--n', '6'), { k: 2, n: 6 })
    assert.deepEqual(flags('--k', '1', '--n', '2'), { k: 1, n: 2 })
    assert.deepEqual(flags('--n', '5'), { n: 5 })
    assert.deepEqual(flags('--k', '1'), { k: 1 })
  })

  it("refuses every other pair with the storage layer's one message, before any node is asked", () => {
    for (const [args, pair] of [
      [['--k', '2', '--n', '2'], 'got k=2, n=2'],
      [['--k', '5', '--n', '3'], 'got k=5, n=3'],
      [['--n', '1'], 'got k=1, n=1'],
      [['--k', '255', '--n', '255'], 'got k=255, n=255'],
    ] as const) {
      assert.throws(
        () => flags(...args),
        (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError)
          assert.match(err.message, rule)
          assert.ok(err.message.includes(pair), err.message)
          return true
        },
      )
    }
    assert.throws(() => flags('--k', '3'), { message: '--k 3 needs --n as well (for example --k 3 --n 9)' })
    assert.throws(() => flags('--k', 'two'), { message: '--k must be a whole number from 1 to 255, got "two"' })
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
