import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, statSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  createChainClient,
  DEVCHAIN_FILES,
  DEVNET_STATE_INTERVAL,
  type Devchain,
  getBalances,
  getEpochInfo,
  getNode,
  registerNode,
  startDevchain,
} from '../../src/chain/index.ts'
import { waitFor } from '../wait-for.ts'
import { MIN_STAKE, PRICE } from './harness.ts'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-devchain-test-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function nodeClient(devchain: Devchain, index: number) {
  return createChainClient({
    rpcUrl: devchain.rpcUrl,
    chainId: devchain.chainId,
    privateKey: devchain.accounts[index]!,
    contracts: devchain.contracts,
  })
}

const offer = { peerId: '12D3KooWDevchain', multiaddrs: [], capacity: 1n, pricePerByteEpoch: PRICE, stake: MIN_STAKE }

test('deploys once, funds the accounts, and resumes the same chain after a clean stop', async (t) => {
  const dir = await tempDir(t)
  const first = await startDevchain({ dir, epochSeconds: 7, accounts: 3 })
  t.after(() => first.stop())
  assert.equal(first.deployed, true)
  assert.equal(first.accounts.length, 3)
  assert.equal(first.deployment.params.epochSeconds, 7)
  assert.equal((await getEpochInfo(nodeClient(first, 0))).epochSeconds, 7)
  const balances = await getBalances(nodeClient(first, 2))
  assert.equal(balances.tokens, 1_000_000n * 10n ** 18n)
  assert.ok(balances.ether > 0n)
  await registerNode(nodeClient(first, 2), offer)
  assert.equal(await readFile(join(dir, DEVCHAIN_FILES.pid), 'utf8'), `${first.pid}\n`)
  await first.stop()
  assert.equal(alive(first.pid), false)
  assert.equal(existsSync(join(dir, DEVCHAIN_FILES.pid)), false)

  const second = await startDevchain({ dir, epochSeconds: 99, accounts: 3 })
  t.after(() => second.stop())
  assert.equal(second.deployed, false)
  assert.deepEqual(second.contracts, first.contracts)
  assert.equal(second.deployment.params.epochSeconds, 7, 'a resumed chain keeps its deployed epoch length')
  const node = await getNode(nodeClient(second, 1), { account: nodeClient(second, 2).account.address })
  assert.equal(node.status, 'active')
})

test('a SIGKILLed anvil loses nothing older than the state interval', async (t) => {
  const dir = await tempDir(t)
  const first = await startDevchain({ dir, accounts: 3 })
  t.after(() => first.stop())
  await registerNode(nodeClient(first, 1), offer)
  // anvil writes its state every DEVNET_STATE_INTERVAL s: a write begun a whole interval after the registration holds it.
  const registeredAt = Date.now()
  const statePath = join(dir, DEVCHAIN_FILES.state)
  await waitFor(
    () => existsSync(statePath) && statSync(statePath).mtimeMs >= registeredAt + 2 * DEVNET_STATE_INTERVAL * 1000,
    30_000,
    'anvil to write its state after the registration',
  )
  process.kill(first.pid, 'SIGKILL')
  await waitFor(() => !alive(first.pid), 10_000, 'the SIGKILLed anvil to exit')

  const second = await startDevchain({ dir, accounts: 3 })
  t.after(() => second.stop())
  assert.equal(second.deployed, false)
  const node = await getNode(nodeClient(second, 2), { account: nodeClient(second, 1).account.address })
  assert.equal(node.status, 'active')
})

test('an anvil orphaned by a killed parent is found through the pid file and stopped on the next start', async (t) => {
  const dir = await tempDir(t)
  const script = `
    const { startDevchain } = await import(${JSON.stringify(new URL('../../src/chain/index.ts', import.meta.url).href)})
    const devchain = await startDevchain({ dir: ${JSON.stringify(dir)}, accounts: 1 })
    console.log('PID ' + devchain.pid)
    setInterval(() => {}, 1000)
  `
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.after(() => {
    parent.kill('SIGKILL')
  })
  const orphan = await new Promise<number>((resolve, reject) => {
    let out = ''
    parent.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /PID (\d+)/.exec(out)
      if (match !== null) resolve(Number(match[1]))
    })
    parent.once('exit', (code) => reject(new Error(`parent exited with ${code}: ${out}`)))
  })
  const parentGone = once(parent, 'exit')
  parent.kill('SIGKILL')
  await parentGone
  assert.equal(alive(orphan), true, 'anvil outlives its SIGKILLed parent')
  t.after(() => {
    if (alive(orphan)) process.kill(orphan, 'SIGKILL')
  })

  const devchain = await startDevchain({ dir, accounts: 1 })
  t.after(() => devchain.stop())
  assert.equal(alive(orphan), false, 'the stale anvil was stopped')
  assert.notEqual(devchain.pid, orphan)
  assert.equal(devchain.deployed, false)
})
