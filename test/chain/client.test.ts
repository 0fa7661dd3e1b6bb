import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  anvilBinary,
  createChainClient,
  createChainReader,
  devnetPrivateKeys,
  getDeal,
  loadPrivateKey,
  PRIVATE_KEY_ENV,
} from '../../src/chain/index.ts'
import { InvalidArgumentError, NotFoundError, UnreachableError } from '../../src/errors.ts'

const contracts = {
  token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  registry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  market: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
} as const

test('the anvil binary is resolved inside its npm platform package', () => {
  assert.match(anvilBinary(), /node_modules\/@foundry-rs\/anvil-[a-z0-9]+-[a-z0-9]+\/bin\/anvil(\.exe)?$/)
})

test('devnet keys are the well-known test mnemonic accounts', () => {
  const [first] = devnetPrivateKeys(1)
  const client = createChainClient({ rpcUrl: 'http://127.0.0.1:1', chainId: 31337, privateKey: first!, contracts })
  assert.equal(client.account.address, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
  assert.equal(client.chain.id, 31337)
})

test('a private key loads from a file or the environment, and malformed keys are refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-key-test-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const key = devnetPrivateKeys(1)[0]!
  await writeFile(join(dir, 'evm.key'), `  ${key.slice(2).toUpperCase()}\n`, { mode: 0o600 })
  assert.equal(await loadPrivateKey({ file: join(dir, 'evm.key') }), key)
  await assert.rejects(loadPrivateKey({ file: join(dir, 'missing.key') }), NotFoundError)
  await writeFile(join(dir, 'bad.key'), '0x1234')
  await assert.rejects(loadPrivateKey({ file: join(dir, 'bad.key') }), InvalidArgumentError)
  const previous = process.env[PRIVATE_KEY_ENV]
  t.after(() => {
    if (previous === undefined) delete process.env[PRIVATE_KEY_ENV]
    else process.env[PRIVATE_KEY_ENV] = previous
  })
  process.env[PRIVATE_KEY_ENV] = key
  assert.equal(await loadPrivateKey({ text: process.env[PRIVATE_KEY_ENV] }), key)
  delete process.env[PRIVATE_KEY_ENV]
  await assert.rejects(loadPrivateKey({ text: process.env[PRIVATE_KEY_ENV] }), /no private key: set CAIRN_PRIVATE_KEY/)
  assert.throws(
    () => createChainClient({ rpcUrl: 'http://127.0.0.1:1', chainId: 1, privateKey: '0x12', contracts }),
    InvalidArgumentError,
  )
})

test('an unreachable RPC endpoint is reported as UnreachableError', async () => {
  const reader = createChainReader({ rpcUrl: 'http://127.0.0.1:9', chainId: 31337, contracts })
  await assert.rejects(getDeal(reader, { dealId: 1n }), (error: unknown) => {
    assert.ok(error instanceof UnreachableError, String(error))
    assert.match(error.message, /getDeal: the chain RPC is unreachable/)
    return true
  })
})
