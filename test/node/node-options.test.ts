/**
 * Every node option resolves as flag > environment > config.json > default: for each key, each level overrides the
 * one below (unit: defaults, a real config.json, an env map, parsed flags), and once through the real CLI process.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { TOKEN_DECIMALS } from '../../src/chain/index.ts'
import { COMMANDS } from '../../src/cli/command-line.ts'
import {
  NODE_OPTION_FLAGS,
  NODE_OPTION_SOURCES,
  nodeOptionsFromEnv,
  nodeOptionsFromFlags,
} from '../../src/cli/node-options-sources.ts'
import { InvalidArgumentError } from '../../src/errors.ts'
import {
  defaultNodeOptions,
  loadNodeOptions,
  NODE_OPTION_KEYS,
  type NodeOptionKey,
  type NodeOptions,
} from '../../src/node/index.ts'
import { startCairn } from '../e2e/devnet-fixture.ts'

const dirs: string[] = []
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-node-options-'))
  dirs.push(dir)
  return dir
}
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

const CAIRN = 10n ** BigInt(TOKEN_DECIMALS)
const MiB = 1024 * 1024

/**
 * One value per level, each different from the level below: [raw in config.json, expected], [variable text,
 * expected], [parsed flags, expected]. Faults have no config.json key and no flag (test switches, environment only).
 */
type Level = [raw: unknown, expected: unknown]
const SAMPLES: Record<
  NodeOptionKey,
  { file?: Level; env: [string, unknown]; flags?: [Record<string, unknown>, unknown] }
> = {
  'network.listen': {
    file: [['/ip4/127.0.0.1/tcp/1'], ['/ip4/127.0.0.1/tcp/1']],
    env: ['/ip4/127.0.0.1/tcp/2, /ip4/127.0.0.1/tcp/3', ['/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3']],
    flags: [{ listen: ['/ip4/127.0.0.1/tcp/4'] }, ['/ip4/127.0.0.1/tcp/4']],
  },
  'network.announce': {
    file: [['/ip4/203.0.113.1/tcp/4001'], ['/ip4/203.0.113.1/tcp/4001']],
    env: [
      '/ip4/203.0.113.2/tcp/4001, /dns4/node.example.org/tcp/4001',
      ['/ip4/203.0.113.2/tcp/4001', '/dns4/node.example.org/tcp/4001'],
    ],
    flags: [{ announce: ['/ip4/203.0.113.3/tcp/4001'] }, ['/ip4/203.0.113.3/tcp/4001']],
  },
  'network.iceServers': {
    file: [['stun:file.example.org:3478'], ['stun:file.example.org:3478']],
    env: [
      'stun:env-a.example.org, stuns:env-b.example.org:5349',
      ['stun:env-a.example.org', 'stuns:env-b.example.org:5349'],
    ],
    flags: [{ 'ice-server': ['stun:flag.example.org'] }, ['stun:flag.example.org']],
  },
  'network.allowPrivateAddresses': { file: [true, true], env: ['0', false], flags: [{ lan: true }, true] },
  'chain.logBlockRange': { file: [500, 500], env: ['1000', 1000], flags: [{ 'log-block-range': '100' }, 100] },
  'chain.networkFile': {
    file: ['/etc/cairn/network.json', '/etc/cairn/network.json'],
    env: ['/env/network.json', '/env/network.json'],
    flags: [{ network: '/flag/network.json' }, '/flag/network.json'],
  },
  'network.bootstrap': {
    file: [['/dns4/a/tcp/1/p2p/A'], ['/dns4/a/tcp/1/p2p/A']],
    env: ['/dns4/b/tcp/1/p2p/B', ['/dns4/b/tcp/1/p2p/B']],
    flags: [
      { bootstrap: ['/dns4/c/tcp/1/p2p/C', '/dns4/d/tcp/1/p2p/D'] },
      ['/dns4/c/tcp/1/p2p/C', '/dns4/d/tcp/1/p2p/D'],
    ],
  },
  'network.mdns': { file: [false, false], env: ['1', true], flags: [{ 'no-mdns': true }, false] },
  'network.devnet': { file: [true, true], env: ['0', false], flags: [{ devnet: true }, true] },
  'network.heartbeatIntervalMs': { file: [500, 500], env: ['700', 700], flags: [{ 'heartbeat-ms': '900' }, 900] },
  'network.apiPort': { file: [7001, 7001], env: ['7002', 7002], flags: [{ 'api-port': '7003' }, 7003] },
  'storage.quota': { file: ['2GiB', 2 * 2 ** 30], env: ['500MB', 500e6], flags: [{ quota: '4096' }, 4096] },
  'chain.rpcUrl': {
    file: ['http://file:8545', 'http://file:8545'],
    env: ['http://env:8545', 'http://env:8545'],
    flags: [{ 'chain-rpc': 'http://flag:8545' }, 'http://flag:8545'],
  },
  'chain.fallbackRpcUrls': {
    file: [['http://file-b:8545'], ['http://file-b:8545']],
    env: ['http://env-b:8545,https://env-c', ['http://env-b:8545', 'https://env-c']],
    flags: [{ 'chain-rpc-fallback': ['http://flag-b:8545'] }, ['http://flag-b:8545']],
  },
  'chain.contractsFile': {
    file: ['/etc/cairn/contracts.json', '/etc/cairn/contracts.json'],
    env: ['/env/contracts.json', '/env/contracts.json'],
    flags: [{ contracts: '/flag/contracts.json' }, '/flag/contracts.json'],
  },
  'chain.privateKey': {
    file: ['/etc/cairn/evm.key', { file: '/etc/cairn/evm.key' }],
    env: ['0xabc', { text: '0xabc' }],
    flags: [{ 'key-file': '/flag/evm.key' }, { file: '/flag/evm.key' }],
  },
  'chain.pricePerByteEpoch': { file: ['11', 11n], env: ['12', 12n], flags: [{ price: '13' }, 13n] },
  'chain.stake': { file: [100, 100n * CAIRN], env: ['200', 200n * CAIRN], flags: [{ stake: '300' }, 300n * CAIRN] },
  'chain.watcher': { file: [false, false], env: ['true', true], flags: [{ 'no-watcher': true }, false] },
  'repair.checkIntervalMs': { file: [501, 501], env: ['502', 502], flags: [{ 'repair-check-ms': '503' }, 503] },
  'repair.placementRefreshMs': {
    file: [5001, 5001],
    env: ['5002', 5002],
    flags: [{ 'repair-placement-refresh-ms': '5003' }, 5003],
  },
  'repair.confirmMs': { file: [1001, 1001], env: ['1002', 1002], flags: [{ 'repair-confirm-ms': '1003' }, 1003] },
  'repair.fallbackMs': { file: [8001, 8001], env: ['8002', 8002], flags: [{ 'repair-fallback-ms': '8003' }, 8003] },
  'repair.scrubIntervalMs': { file: [1501, 1501], env: ['1502', 1502], flags: [{ 'repair-scrub-ms': '1503' }, 1503] },
  'repair.scrubReads': { file: [2, 2], env: ['3', 3], flags: [{ 'repair-scrub-reads': '4' }, 4] },
  'repair.concurrency': { file: [1, 1], env: ['2', 2], flags: [{ 'repair-concurrency': '3' }, 3] },
  'repair.pieceTimeoutMs': {
    file: [9001, 9001],
    env: ['9002', 9002],
    flags: [{ 'repair-piece-timeout-ms': '9003' }, 9003],
  },
  'repair.adoptTimeoutMs': {
    file: [60001, 60001],
    env: ['60002', 60002],
    flags: [{ 'repair-adopt-timeout-ms': '60003' }, 60003],
  },
  'gc.graceMs': { file: [60001, 60001], env: ['60002', 60002], flags: [{ 'gc-grace-ms': '60003' }, 60003] },
  'gc.intervalMs': { file: [1001, 1001], env: ['1002', 1002], flags: [{ 'gc-interval-ms': '1003' }, 1003] },
  'limits.maxBytesInFlightTotal': {
    file: ['16MiB', 16 * MiB],
    env: ['32MiB', 32 * MiB],
    flags: [{ 'max-bytes-in-flight': '48MiB' }, 48 * MiB],
  },
  'limits.maxBytesInFlightPerPeer': {
    file: ['1MiB', MiB],
    env: ['2MiB', 2 * MiB],
    flags: [{ 'max-bytes-in-flight-per-peer': '3MiB' }, 3 * MiB],
  },
  'faults.corruptServedPieces': { env: ['1', true] },
  'faults.fakeProofs': { env: ['1', true] },
  'faults.repairHoldFile': { env: ['/tmp/hold', '/tmp/hold'] },
  'faults.benchSink': { env: ['1', true] },
  'faults.crashAt': { env: ['piece-store:renamed:2', 'piece-store:renamed:2'] },
}

const optionValue = (options: NodeOptions, key: NodeOptionKey): unknown => {
  const [section, name] = key.split('.') as [keyof NodeOptions, string]
  return (options[section] as unknown as Record<string, unknown>)[name]
}

const fileKey = (key: NodeOptionKey) => (key === 'chain.privateKey' ? 'chain.keyFile' : key)

describe('node options: flags > environment > config.json > defaults', () => {
  it('the table names a source for every key, and every flag and variable of earlier versions', () => {
    assert.deepEqual(NODE_OPTION_SOURCES.map((s) => s.key).sort(), [...NODE_OPTION_KEYS].sort())
    assert.deepEqual(Object.keys(SAMPLES).sort(), [...NODE_OPTION_KEYS].sort())
    const envs = NODE_OPTION_SOURCES.map((s) => s.env)
    assert.equal(new Set(envs).size, envs.length, 'one variable per key')
    for (const name of [
      'CAIRN_REPAIR_CHECK_MS',
      'CAIRN_REPAIR_CONFIRM_MS',
      'CAIRN_REPAIR_FALLBACK_MS',
      'CAIRN_REPAIR_SCRUB_MS',
      'CAIRN_FAULT_REPAIR_HOLD_FILE',
      'CAIRN_FAULT_CORRUPT_PIECES',
      'CAIRN_FAULT_FAKE_PROOFS',
      'CAIRN_BENCH_SINK',
      'CAIRN_NODE_PRICE',
      'CAIRN_PRIVATE_KEY',
    ]) {
      assert.ok(envs.includes(name), `${name} still sets a key`)
    }
    for (const flag of Object.keys(COMMANDS['node start'].options)) {
      if (flag === 'dir' || flag === 'help') continue
      assert.ok(flag in NODE_OPTION_FLAGS, `--${flag} still sets a key`)
    }
  })

  for (const key of NODE_OPTION_KEYS) {
    it(`${key}: each level overrides the one below`, async () => {
      const sample = SAMPLES[key]
      const source = NODE_OPTION_SOURCES.find((s) => s.key === key)!
      const dir = await tempDir()
      const fallback = optionValue(defaultNodeOptions(), key)
      assert.deepEqual(optionValue(await loadNodeOptions(dir), key), fallback, 'default')
      let below = fallback
      if (sample.file !== undefined) {
        const [section, name] = fileKey(key).split('.') as [string, string]
        await writeFile(join(dir, 'config.json'), JSON.stringify({ [section]: { [name]: sample.file[0] } }))
        assert.notDeepEqual(sample.file[1], below)
        assert.deepEqual(optionValue(await loadNodeOptions(dir), key), sample.file[1], 'config.json over the default')
        below = sample.file[1]
      }
      const env = nodeOptionsFromEnv({ [source.env!]: sample.env[0] })
      assert.notDeepEqual(sample.env[1], below)
      assert.deepEqual(
        optionValue(await loadNodeOptions(dir, { env }), key),
        sample.env[1],
        'environment over the file',
      )
      if (sample.flags !== undefined) {
        const flags = nodeOptionsFromFlags(sample.flags[0] as Record<string, string>)
        assert.notDeepEqual(sample.flags[1], sample.env[1])
        assert.deepEqual(optionValue(await loadNodeOptions(dir, { env, flags }), key), sample.flags[1], 'flag over all')
      } else {
        assert.equal(source.flag, undefined)
      }
    })
  }

  it('a value that does not parse is refused, naming its flag, variable or config.json key', async () => {
    assert.throws(() => nodeOptionsFromEnv({ CAIRN_REPAIR_CONFIRM_MS: 'soon' }), {
      message: /^CAIRN_REPAIR_CONFIRM_MS must be a whole number of milliseconds/,
    })
    assert.throws(() => nodeOptionsFromEnv({ CAIRN_FAULT_FAKE_PROOFS: 'yes' }), InvalidArgumentError)
    assert.throws(() => nodeOptionsFromFlags({ 'api-port': 'x' }), {
      message: '--api-port must be a whole number from 0 to 65535, got "x"',
    })
    assert.throws(() => nodeOptionsFromFlags({ mdns: true, 'no-mdns': true }), {
      message: '--mdns and --no-mdns contradict each other',
    })
    assert.throws(() => nodeOptionsFromFlags({ 'ice-server': ['turn:user:secret@turn.example.org'] }), {
      message: /^--ice-server must hold STUN URLs such as "stun:stun.example.org:3478" \(no TURN/,
    })
    assert.deepEqual(nodeOptionsFromEnv({ CAIRN_NODE_QUOTA: '' }), {}, 'an empty variable is unset')
  })

  it("relative file paths in config.json are the data dir's; the first start writes network and storage only", async () => {
    const dir = await tempDir()
    const first = await loadNodeOptions(dir, { flags: { network: { apiPort: 7005 }, repair: { confirmMs: 5 } } })
    assert.equal(first.repair.confirmMs, 5)
    const written = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))
    assert.deepEqual(Object.keys(written), ['network', 'storage'])
    assert.equal(written.network.apiPort, 7005)
    await writeFile(join(dir, 'config.json'), JSON.stringify({ chain: { contractsFile: 'c.json', keyFile: 'k.key' } }))
    const options = await loadNodeOptions(dir)
    assert.equal(options.chain.contractsFile, join(dir, 'c.json'))
    assert.deepEqual(options.chain.privateKey, { file: join(dir, 'k.key') })
  })
})

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('node options through `cairn node start`', () => {
  it('a CAIRN_* variable beats config.json and a flag beats both (node.json, GET /usage)', async (t) => {
    const dir = await tempDir()
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ network: { apiPort: 1, mdns: false, devnet: true }, storage: { quota: 1000 } }),
    )
    const port = await freePort()
    const node = startCairn(
      ['node', 'start', '--dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', `${port}`],
      {
        CAIRN_NODE_API_PORT: '2',
        CAIRN_NODE_QUOTA: '2000',
      },
    )
    t.after(() => node.stop())
    await node.waitForLine((line) => line.includes('"event":"ready"'), 60_000)
    const info = JSON.parse(await readFile(join(dir, 'node.json'), 'utf8'))
    assert.equal(info.api, `http://127.0.0.1:${port}`, 'the flag beats the variable and the file')
    const usage = (await (await fetch(`${info.api}/usage`)).json()) as { quota: number }
    assert.equal(usage.quota, 2000, 'the variable beats the file')
  })
})
