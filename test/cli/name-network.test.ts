/**
 * Names on a network a stranger deployed (no devnet): anvil started by hand, `cairn network deploy` writes a network
 * file with the Names contract, the deployer publishes a name twice with its key file, and a reader with no key at
 * all resolves it and lists its history with --network and --owner alone.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { anvilBinary } from '../../src/chain/index.ts'
import type { NameEntry, PublishedName } from '../../src/client/index.ts'
import { waitFor } from '../wait-for.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
/** anvil's first well-known dev account: it has ether on a fresh anvil. */
const DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const DEPLOYER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const MANIFEST = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const FIRST = `cairn:${MANIFEST}#q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA`
const SECOND = `cairn:${MANIFEST}#A83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA`

describe('names on a network from network.json', { timeout: 300_000 }, () => {
  let dir: string
  let anvil: ChildProcess | undefined

  const cairn = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: dir,
        env: {
          ...process.env,
          CAIRN_DEVNET: '',
          CAIRN_NETWORK: '',
          CAIRN_PRIVATE_KEY: '',
          CAIRN_HOME: join(dir, 'home'),
          ...env,
        },
      })
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
  const ok = async (args: string[], env: Record<string, string> = {}) => {
    const run = await cairn(args, env)
    assert.equal(run.status, 0, `cairn ${args.join(' ')} failed: ${run.stderr}`)
    return run.stdout
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-name-network-'))
    anvil = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', '0', '--hardfork', 'cancun'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    anvil.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    anvil.stderr?.resume()
    const port = await waitFor(() => /Listening on 127\.0\.0\.1:(\d+)/.exec(output)?.[1], 30_000, 'anvil to listen')
    await writeFile(join(dir, 'deployer.key'), `${DEPLOYER_KEY}\n`, { mode: 0o600 })
    await ok([
      'network',
      'deploy',
      '--rpc',
      `http://127.0.0.1:${port}`,
      '--key-file',
      'deployer.key',
      '--out',
      'network.json',
      '--lan',
    ])
  })
  after(async () => {
    if (anvil !== undefined && anvil.exitCode === null && anvil.signalCode === null) {
      const exited = new Promise((resolve) => anvil!.once('exit', resolve))
      anvil.kill('SIGTERM')
      const killer = setTimeout(() => anvil!.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(killer)
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('network deploy writes the Names contract; the owner publishes, a reader with no key resolves', async () => {
    const file = JSON.parse(await readFile(join(dir, 'network.json'), 'utf8')) as { contracts: Record<string, string> }
    assert.deepEqual(Object.keys(file.contracts), ['token', 'registry', 'market', 'names'])
    const owner = ['--network', 'network.json', '--key-file', 'deployer.key']
    const first = JSON.parse(
      await ok(['name', 'publish', 'release/latest', FIRST, ...owner, '--json']),
    ) as PublishedName
    assert.equal(first.owner, DEPLOYER)
    assert.equal(first.sequence, 1)
    // The key from the environment signs as well.
    await ok(['name', 'publish', 'release/latest', SECOND, '--network', 'network.json', '--expect-sequence', '1'], {
      CAIRN_PRIVATE_KEY: DEPLOYER_KEY,
    })
    const reader = ['--network', 'network.json', '--owner', DEPLOYER]
    assert.equal((await ok(['name', 'resolve', 'release/latest', ...reader])).trim(), SECOND)
    const history = JSON.parse(await ok(['name', 'history', 'release/latest', ...reader, '--json'])) as NameEntry[]
    assert.deepEqual(
      history.map((e) => [e.sequence, e.capability]),
      [
        [1, FIRST],
        [2, SECOND],
      ],
    )
    // Without --owner and without a key there is no owner to read for: the error says what to pass.
    const nobody = await cairn(['name', 'resolve', 'release/latest', '--network', 'network.json'])
    assert.notEqual(nobody.status, 0)
    assert.match(nobody.stderr, /^error: no owner to resolve the name for: pass --owner 0xADDR/)
  })
})
