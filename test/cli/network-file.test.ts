/**
 * The network file as a stranger hands it over: every malformed field is refused with the file and the field named;
 * and the wallet commands that need no chain: `wallet new` (0600, never over a file) and `wallet send`'s checks.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { privateKeyToAccount } from 'viem/accounts'
import {
  formatNetworkFile,
  type NetworkFile,
  parseNetworkFile,
  readNetworkFile,
  writeNetworkFile,
} from '../../src/chain/index.ts'
import type { CommandContext } from '../../src/cli/command-context.ts'
import { runCli } from '../../src/cli/main.ts'
import { InvalidArgumentError, NotFoundError } from '../../src/errors.ts'

const PEER = '12D3KooWGBd51JsBSBxRsNPH3KqNasGzS85mnevMUiM3KhjH8mzi'
const VALID: NetworkFile = {
  format: 1,
  name: 'testnet',
  chainId: 84532,
  rpc: 'https://rpc.example.org',
  contracts: {
    token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    registry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    market: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  },
  deploymentBlock: 12_345_678n,
  epochSeconds: 3600,
  bootstrap: [`/dns4/seed.example.org/tcp/4001/p2p/${PEER}`],
  allowPrivateAddresses: false,
}

function withField(field: string, value: unknown): string {
  const json = JSON.parse(formatNetworkFile(VALID)) as Record<string, unknown>
  if (value === undefined) delete json[field]
  else json[field] = value
  return JSON.stringify(json)
}

describe('network file', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-network-file-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('round-trips through its text, the deployment block as decimal text', () => {
    const text = formatNetworkFile(VALID)
    assert.equal(JSON.parse(text).deploymentBlock, '12345678')
    assert.deepEqual(parseNetworkFile(text, 'n.json'), VALID)
  })

  it('takes a list of RPC URLs: the first is `rpc`, the others its fallbacks, written back as the same list', () => {
    const urls = ['https://rpc.example.org', 'https://backup.example.net', 'wss://third.example.com']
    const parsed = parseNetworkFile(withField('rpc', urls))
    assert.equal(parsed.rpc, urls[0])
    assert.deepEqual(parsed.rpcFallbacks, urls.slice(1))
    assert.deepEqual(JSON.parse(formatNetworkFile(parsed)).rpc, urls)
    assert.deepEqual(parseNetworkFile(formatNetworkFile(parsed)), parsed)
    // One URL in a list is one URL.
    assert.deepEqual(parseNetworkFile(withField('rpc', [urls[0]])), VALID)
  })

  it('accepts an empty or absent bootstrap list and defaults to a public network', () => {
    const parsed = parseNetworkFile(withField('bootstrap', undefined))
    assert.deepEqual(parsed.bootstrap, [])
    assert.equal(parseNetworkFile(withField('allowPrivateAddresses', undefined)).allowPrivateAddresses, false)
  })

  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"name": ', /is not valid JSON/],
    ['an array', '[]', /must hold a JSON object/],
    ['a newer format', withField('format', 2), /format 2, this cairn reads format 1: upgrade cairn/],
    ['a typo in a field name', withField('bootstap', []), /unknown field "bootstap"/],
    ['a name with a slash', withField('name', '../evil'), /"name": 1 to 64 letters/],
    ['a chain ID of zero', withField('chainId', 0), /"chainId": a positive whole number, got 0/],
    ['an RPC URL without a scheme', withField('rpc', 'rpc.example.org'), /"rpc": a JSON-RPC URL/],
    ['a file: RPC URL', withField('rpc', 'file:///etc/passwd'), /"rpc": an http, https, ws or wss URL/],
    ['an empty RPC list', withField('rpc', []), /"rpc": a JSON-RPC URL or a list of 1 to 8 of them, got a list of 0/],
    ['a bad fallback RPC URL', withField('rpc', ['https://a.example', 'ftp://b']), /"rpc": an http, https, ws/],
    ['a short address', withField('contracts', { ...VALID.contracts, market: '0x1234' }), /"contracts.market"/],
    [
      'one address for two contracts',
      withField('contracts', { ...VALID.contracts, market: VALID.contracts.token }),
      /one address for two contracts/,
    ],
    ['a negative block', withField('deploymentBlock', -1), /"deploymentBlock": a block number/],
    ['a bootstrap string', withField('bootstrap', `/ip4/1.2.3.4/tcp/1/p2p/${PEER}`), /"bootstrap" must be an array/],
    ['a bootstrap address without /p2p/', withField('bootstrap', ['/ip4/1.2.3.4/tcp/4001']), /must end with \/p2p\//],
    ['a bootstrap entry that is no multiaddr', withField('bootstrap', ['seed:4001']), /is not a multiaddr/],
    ['allowPrivateAddresses as text', withField('allowPrivateAddresses', 'yes'), /true or false/],
  ]
  for (const [what, text, problem] of cases) {
    it(`refuses ${what}, naming the file`, () => {
      assert.throws(
        () => parseNetworkFile(text, '/srv/network.json'),
        (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError, String(err))
          assert.match(err.message, /^the network file \/srv\/network\.json /)
          assert.match(err.message, problem)
          return true
        },
      )
    })
  }

  it('names a missing file and the flag that fixes it', async () => {
    const path = join(dir, 'missing.json')
    await assert.rejects(readNetworkFile(path), (err: unknown) => {
      assert.ok(err instanceof NotFoundError)
      assert.match(err.message, new RegExp(`no network file at ${path}: pass --network FILE`))
      return true
    })
  })

  it('writes durably what it reads back, readable by all (it holds no secret)', async () => {
    const path = join(dir, 'network.json')
    await writeNetworkFile(path, VALID)
    assert.deepEqual(await readNetworkFile(path), VALID)
    assert.equal((await stat(path)).mode & 0o777, 0o644)
  })
})

/** Runs `cairn ARGS` in this process and returns its exit code and output. */
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

describe('cairn wallet new and wallet send', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-wallet-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('writes a fresh key readable by its owner only and prints its address', async () => {
    const path = join(dir, 'alice.key')
    const result = await cairn('wallet', 'new', '--out', path)
    assert.equal(result.code, 0, result.stderr)
    const key = (await readFile(path, 'utf8')).trim()
    assert.match(key, /^0x[0-9a-f]{64}$/)
    assert.equal(result.stdout.trim(), privateKeyToAccount(key as `0x${string}`).address)
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    const other = await cairn('wallet', 'new', '--out', join(dir, 'bob.key'))
    assert.notEqual(other.stdout, result.stdout, 'two wallets, two keys')
  })

  it('never overwrites a file, and leaves it as it was', async () => {
    const path = join(dir, 'funds.key')
    await writeFile(path, 'precious\n', { mode: 0o600 })
    const result = await cairn('wallet', 'new', '--out', path)
    assert.equal(result.code, 2)
    assert.match(result.stderr, /^error: --out .*funds\.key already exists: a key file is never overwritten/)
    assert.equal(await readFile(path, 'utf8'), 'precious\n')
  })

  it('names a missing --out and a missing folder', async () => {
    assert.match((await cairn('wallet', 'new')).stderr, /wallet new needs --out FILE/)
    const result = await cairn('wallet', 'new', '--out', join(dir, 'nowhere', 'k.key'))
    assert.equal(result.code, 2)
    assert.match(result.stderr, /the folder .*nowhere does not exist/)
  })

  it('refuses a bad address or amount before touching any network', async () => {
    const to = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
    const cases: Array<[string[], RegExp]> = [
      [['0x1234', '5'], /"0x1234" is not an address: an address is 0x followed by 40 hex digits/],
      [['0x5FbDB2315678afecb367f032d93F642f64180aA3', '5'], /fails its checksum/],
      [['0x0000000000000000000000000000000000000000', '5'], /refusing to send to the zero address/],
      [[to, 'five'], /"five" is not an amount of CAIRN: write a positive number such as 12.5/],
      [[to, '1e3'], /"1e3" is not an amount of CAIRN/],
      [[to, '0'], /the amount must be above 0 CAIRN/],
      [[to, '0.0000000000000000001'], /at most 18 decimals/],
    ]
    for (const [args, message] of cases) {
      const result = await cairn('wallet', 'send', ...args, '--network', join(dir, 'absent.json'))
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message)
    }
    const noNetwork = await cairn('wallet', 'send', to, '5', '--network', join(dir, 'absent.json'))
    assert.equal(noNetwork.code, 4)
    assert.match(noNetwork.stderr, /no network file at .*absent\.json: pass --network FILE/)
  })
})
