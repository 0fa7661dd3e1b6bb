/**
 * `cairn name` without a chain: every bad input is refused with a line naming the problem (before anything touches
 * the network), and a network file written before the Names contract names the fix. The network file keeps working
 * with and without `contracts.names`. (test/e2e/names.test.ts runs the commands against a devnet.)
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { formatNetworkFile, type NetworkFile, parseNetworkFile } from '../../src/chain/index.ts'
import type { CommandContext } from '../../src/cli/command-context.ts'
import { helpText } from '../../src/cli/command-line.ts'
import { runCli } from '../../src/cli/main.ts'

const CAPABILITY =
  'cairn:bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy#q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA'
const OWNER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const NETWORK: NetworkFile = {
  format: 1,
  name: 'older',
  chainId: 31337,
  // Nothing listens here: every case below must fail before any RPC call.
  rpc: 'http://127.0.0.1:9',
  contracts: {
    token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    registry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    market: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  },
  deploymentBlock: 1n,
  bootstrap: [],
  allowPrivateAddresses: true,
}

async function cairn(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  const context: CommandContext = {
    stdout,
    stderr: stderr as unknown as NodeJS.WriteStream,
    showProgress: false,
    signal: new AbortController().signal,
  }
  const code = await runCli(args, context)
  return { code, stdout: out, stderr: err }
}

describe('cairn name: bad input and older network files', () => {
  let dir: string
  let oldFile: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-name-cli-'))
    oldFile = join(dir, 'older.json')
    await writeFile(oldFile, formatNetworkFile(NETWORK))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('refuses bad names, values, owners and argument counts with one line and exit 2', async () => {
    const net = ['--network', oldFile, '--owner', OWNER]
    const cases: Array<[string[], RegExp]> = [
      [['name', 'publish', '', CAPABILITY], /^error: a name must not be empty: give 1 to 255 bytes of text/],
      [
        ['name', 'publish', 'x'.repeat(256), CAPABILITY],
        /^error: a name has at most 255 bytes \(UTF-8\), this one has 256/,
      ],
      [['name', 'resolve', 'é'.repeat(128), ...net], /this one has 256/],
      [['name', 'history', 'bad\uD800name', ...net], /a name must be valid Unicode text/],
      [
        ['name', 'publish', 'photos', 'https://example.org/x'],
        /^error: a name points to a capability \(cairn:<manifest CID>#<key>/,
      ],
      [['name', 'publish', 'photos', 'cairn:bafyrei'], /a name points to a capability/],
      [
        ['name', 'publish', 'photos', CAPABILITY, '--expect-sequence', 'two'],
        /--expect-sequence must be a whole number/,
      ],
      [
        ['name', 'resolve', 'photos', '--owner', '0x1234'],
        /^error: --owner must be the owner's 0x address of 40 hex digits/,
      ],
      [
        ['name', 'publish', 'photos'],
        /"name publish" takes 2 argument, got 1: usage: cairn name publish NAME CAPABILITY/,
      ],
      [['name', 'resolve'], /"name resolve" takes 1 argument, got 0/],
      [['name', 'rename', 'photos'], /unknown command "name rename": did you mean "cairn name publish"\?/],
      [['name', 'resolve', 'photos', '--sequence', '2'], /Unknown option '--sequence'/],
    ]
    for (const [args, message] of cases) {
      const result = await cairn(...args)
      assert.equal(result.code, 2, `cairn ${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message, `cairn ${args.join(' ')}`)
      assert.equal(result.stderr.split('\n').length, 2, `one line: ${result.stderr}`)
      assert.equal(result.stdout, '')
    }
  })

  it('a network file without the Names contract names the fix, for every name command', async () => {
    for (const args of [
      ['name', 'resolve', 'photos', '--network', oldFile, '--owner', OWNER],
      ['name', 'history', 'photos', '--network', oldFile, '--owner', OWNER],
    ]) {
      const result = await cairn(...args)
      assert.notEqual(result.code, 0)
      assert.match(
        result.stderr,
        /^error: this network has no Names contract; redeploy or upgrade the network file/,
        args.join(' '),
      )
    }
  })

  it('network files read and write with and without contracts.names', () => {
    const older = parseNetworkFile(formatNetworkFile(NETWORK))
    assert.equal(older.contracts.names, undefined)
    const names = '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9'
    const newer = parseNetworkFile(formatNetworkFile({ ...NETWORK, contracts: { ...NETWORK.contracts, names } }))
    assert.equal(newer.contracts.names, names)
    const text = (contracts: Record<string, unknown>) =>
      JSON.stringify({ ...JSON.parse(formatNetworkFile(NETWORK)), contracts })
    assert.throws(
      () => parseNetworkFile(text({ ...NETWORK.contracts, names: '0x12' }), 'n.json'),
      /the network file n.json needs "contracts.names": a 0x address of 40 hex digits, got "0x12"/,
    )
    assert.throws(
      () => parseNetworkFile(text({ ...NETWORK.contracts, names: NETWORK.contracts.market }), 'n.json'),
      /names one address for two contracts/,
    )
    assert.throws(
      () => parseNetworkFile(text({ ...NETWORK.contracts, nmaes: names })),
      /unknown field "contracts.nmaes"/,
    )
  })

  it('cairn help lists the name commands', () => {
    const help = helpText()
    for (const command of ['name publish NAME CAPABILITY', 'name resolve NAME', 'name history NAME']) {
      assert.ok(help.includes(`cairn ${command}`), command)
    }
  })
})
