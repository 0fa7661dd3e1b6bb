/**
 * A network that strangers form, with no devnet code: anvil started by hand, then the commands an operator and a user
 * type (docs/operators.md, docs/users.md): deploy the contracts and write network.json, make wallets, fund them, start
 * four nodes with an empty bootstrap list (they find each other and are found through the Registry), put a (1,3) file
 * paid by the user's own key, get it back byte-equal, and see the deal and the payment in `deals` and `wallet`.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { arch, platform, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { waitFor } from '../wait-for.ts'

const BIN = fileURLToPath(new URL('../../bin/cairn.js', import.meta.url))
/** anvil's first well-known dev account: it has ether on a fresh anvil, so it deploys and funds the others. */
const DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const OPERATORS = 4

/** The anvil binary of the @foundry-rs/anvil npm package (its platform package), found without any Cairn code. */
function anvilPath(): string {
  const os = platform() === 'darwin' ? 'darwin' : 'linux'
  const cpu = arch() === 'arm64' ? 'arm64' : 'amd64'
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve(`@foundry-rs/anvil-${os}-${cpu}/package.json`)), 'bin', 'anvil')
}

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

describe('a network from network.json, with no devnet', { timeout: 480_000 }, () => {
  let dir: string
  let anvil: ChildProcess | undefined
  let rpc = ''
  const nodes: ChildProcess[] = []
  /** Every node's output, shown when a command fails. */
  const nodeLogs: string[] = []
  const env = () => ({
    ...process.env,
    CAIRN_DEVNET: '',
    CAIRN_NETWORK: '',
    CAIRN_PRIVATE_KEY: '',
    CAIRN_HOME: join(dir, 'home'),
  })

  /** One `cairn` command as a person types it; resolves with its exit status and output. */
  const cairn = (...args: string[]): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: env(), cwd: dir })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
      })
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const killer = setTimeout(() => child.kill('SIGKILL'), 120_000)
      child.once('error', reject)
      child.once('exit', (status) => {
        clearTimeout(killer)
        resolve({ status, stdout, stderr })
      })
    })
  const ok = async (...args: string[]): Promise<string> => {
    const run = await cairn(...args)
    assert.equal(
      run.status,
      0,
      `cairn ${args.join(' ')} failed (${run.status}): ${run.stderr}${run.stdout}\nnodes:\n${nodeLogs.join('\n')}`,
    )
    return run.stdout
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-network-journey-'))
    anvil = spawn(anvilPath(), ['--host', '127.0.0.1', '--port', '0', '--hardfork', 'cancun'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    anvil.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    const port = await waitFor(() => /Listening on 127\.0\.0\.1:(\d+)/.exec(output)?.[1], 30_000, 'anvil to listen')
    rpc = `http://127.0.0.1:${port}`
    await writeFile(join(dir, 'deployer.key'), `${DEPLOYER_KEY}\n`, { mode: 0o600 })
  })

  after(async () => {
    const all = [...nodes, ...(anvil === undefined ? [] : [anvil])]
    await Promise.all(
      all.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(killer)
      }),
    )
    await rm(dir, { recursive: true, force: true })
  })

  it('deploys, funds, joins through the Registry, stores (1,3), reads back and pays', async () => {
    // The deployer: contracts on a plain JSON-RPC endpoint, the network file written.
    const network = join(dir, 'network.json')
    await ok(
      'network',
      'deploy',
      '--rpc',
      rpc,
      '--key-file',
      'deployer.key',
      '--out',
      'network.json',
      '--name',
      'journey',
      '--lan',
    )
    const file = JSON.parse(await readFile(network, 'utf8'))
    assert.equal(file.name, 'journey')
    assert.deepEqual(file.bootstrap, [])
    assert.equal(file.allowPrivateAddresses, true)
    const again = await cairn('network', 'deploy', '--rpc', rpc, '--key-file', 'deployer.key', '--out', 'network.json')
    assert.equal(again.status, 2)
    assert.match(again.stderr, /already exists/)

    // Wallets for four operators and one user, funded by the deployer.
    const wallets: Record<string, string> = {}
    for (const name of [...Array.from({ length: OPERATORS }, (_, i) => `operator-${i}`), 'user']) {
      wallets[name] = (await ok('wallet', 'new', '--out', `${name}.key`)).trim()
      assert.match(wallets[name]!, /^0x[0-9a-fA-F]{40}$/)
      await ok('wallet', 'send', wallets[name]!, '2000', '--network', 'network.json', '--key-file', 'deployer.key')
      await ok(
        'wallet',
        'send',
        wallets[name]!,
        '1',
        '--eth',
        '--network',
        'network.json',
        '--key-file',
        'deployer.key',
      )
    }
    const funded = JSON.parse(await ok('wallet', '--json', '--network', 'network.json', '--key-file', 'user.key'))
    assert.equal(funded.balance, (2000n * 10n ** 18n).toString())

    // Operators: nodes join with the network file alone (its bootstrap list is empty).
    const ready = await Promise.all(
      Array.from({ length: OPERATORS }, async (_, i) => {
        const child = spawn(
          process.execPath,
          [
            BIN,
            'node',
            'start',
            '--network',
            'network.json',
            '--dir',
            `node-${i}`,
            '--key-file',
            `operator-${i}.key`,
            '--listen',
            '/ip4/127.0.0.1/tcp/0',
            '--lan',
            '--no-mdns',
          ],
          { env: env(), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
        )
        nodes.push(child)
        let output = ''
        const log = (chunk: Buffer) => {
          output += chunk.toString()
          nodeLogs[i] = output
        }
        child.stdout?.on('data', log)
        child.stderr?.on('data', log)
        const line = await waitFor(
          () => {
            if (child.exitCode !== null) throw new Error(`node ${i} exited: ${output}`)
            return output.split('\n').find((l) => l.includes('"event":"ready"'))
          },
          60_000,
          `node ${i} to be ready`,
        )
        return JSON.parse(line) as { peerId: string }
      }),
    )
    const listed = JSON.parse(await ok('nodes', '--json', '--network', 'network.json')) as Array<{
      peerId: string
      state: string
      chain?: { status: string }
    }>
    for (const node of ready) {
      const seen = listed.find((p) => p.peerId === node.peerId)
      assert.equal(seen?.chain?.status, 'active', `node ${node.peerId} is active in the Registry`)
      assert.equal(seen?.state, 'alive', `node ${node.peerId} answers heartbeats`)
    }

    // The user: store, read back, see the deal and the payment.
    const bytes = randomBytes(200_000)
    await writeFile(join(dir, 'photo.bin'), bytes)
    const put = JSON.parse(
      await ok(
        'put',
        'photo.bin',
        '--k',
        '1',
        '--n',
        '3',
        '--json',
        '--network',
        'network.json',
        '--key-file',
        'user.key',
      ),
    ) as { capability: string; deal?: { dealId: string } }
    assert.ok(put.deal !== undefined, 'the put opened a deal')
    await ok('get', put.capability, '-o', 'copy.bin', '--network', 'network.json')
    assert.ok(bytes.equals(await readFile(join(dir, 'copy.bin'))), 'the copy is byte-equal')
    const status = JSON.parse(await ok('status', put.capability, '--json', '--network', 'network.json'))
    assert.equal(status.slotsAlive, 3)
    const deals = JSON.parse(
      await ok('deals', '--json', '--network', 'network.json', '--key-file', 'user.key'),
    ) as Array<{
      dealId: string
      n: number
      slots: Array<{ state: string }>
    }>
    assert.equal(deals.length, 1)
    assert.equal(deals[0]!.dealId, put.deal.dealId)
    assert.equal(deals[0]!.slots.length, 3)
    const wallet = JSON.parse(await ok('wallet', '--json', '--network', 'network.json', '--key-file', 'user.key'))
    assert.ok(BigInt(wallet.balance) < 2000n * 10n ** 18n, `the balance dropped: ${wallet.balance}`)
    assert.ok(BigInt(wallet.escrow) > 0n, 'the deal holds escrow')
    const files = await ok('ls', '--network', 'network.json')
    assert.match(files, /photo\.bin/)
  })
})
