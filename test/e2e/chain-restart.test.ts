/**
 * End to end: `cairn devnet` with its devchain and gateway, a put, then SIGINT and `cairn devnet` again on the same
 * folder: the deal, the balances and the file are all there, and the nodes go on proving.
 *
 * Once the devnet is up the test holds the devchain's clock and steps it one epoch at a time after the holders have
 * proven the current one (a restart holds and releases the clock itself, so the test holds it again after each start).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type ChainReader, createChainReader, holdDevchainClock } from '../../src/chain/index.ts'
import type { DealView } from '../../src/cli/user-deals.ts'
import { readDeals } from '../../src/client/index.ts'
import type { DevnetState } from '../../src/devnet/index.ts'
import { type DevnetCli, devnetCli, type LongRunning, nextEpoch, startCairn, waitFor } from './devnet-fixture.ts'

describe('restarting a devnet with its chain', { timeout: 240_000 }, () => {
  let dir: string
  let devnet: LongRunning | undefined
  let cli: DevnetCli
  const bytes = randomBytes(120_000)
  let capability = ''
  let dealsBefore: DealView[] = []
  let walletBefore: { balance: string; escrow: string } | undefined
  let chain: NonNullable<DevnetState['chain']>
  let reader: ChainReader

  const start = async () => {
    devnet = startCairn([
      'devnet',
      '--dir',
      dir,
      '--nodes',
      '3',
      '--heartbeat-ms',
      '500',
      '--epoch-seconds',
      '5',
      '--gateway-port',
      '0',
      '--s3-port',
      '0',
    ])
    await devnet.waitForLine((l) => l.startsWith('devnet ready'), 120_000)
    chain = (JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetState).chain!
    reader = createChainReader({ rpcUrl: chain.rpc, chainId: chain.chainId, contracts: chain.contracts })
    await holdDevchainClock(chain.rpc)
  }
  const proofs = (deals: DealView[]) => deals.flatMap((d) => d.slots).reduce((s, slot) => s + slot.proofsMade, 0)
  /** Steps epochs, each once every active slot has proven the current one, until `target` proofs were made. */
  const proveUntil = async (target: number) => {
    for (let steps = 0; steps < 8; steps++) {
      const epoch = await nextEpoch(chain.rpc, reader)
      await waitFor(
        async () => {
          const deals = await readDeals(reader, { fromBlock: BigInt(chain.blockNumber) })
          const owing = deals.flatMap((d) => d.view.slots).filter((s) => s.state === 'active' && s.nextEpoch <= epoch)
          return owing.length === 0 ? true : undefined
        },
        90_000,
        `every holder to prove epoch ${epoch}`,
      )
      if (proofs(JSON.parse(await cli.ok(['deals', '--json']))) >= target) return
    }
    assert.fail(`fewer than ${target} proofs after 8 epochs`)
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-e2e-chain-restart-'))
    cli = devnetCli(dir)
    await start()
  })
  after(async () => {
    await devnet?.stop('SIGINT')
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('devnet.json names the chain, the user wallet, each node account and the gateway', async () => {
    const state = JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetState & { s3?: string }
    assert.match(state.chain!.rpc, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.equal(state.chain!.chainId, 31_337)
    for (const key of ['token', 'registry', 'market'] as const)
      assert.match(state.chain!.contracts[key], /^0x[0-9a-fA-F]{40}$/)
    assert.match(state.chain!.user.address, /^0x[0-9a-fA-F]{40}$/)
    assert.equal(new Set(state.nodes.map((n) => n.address)).size, 3)
    assert.match(state.gateway!, /^http:\/\/127\.0\.0\.1:\d+$/)
    const health = await fetch(`${state.gateway}/api/v1/health`)
    assert.deepEqual(await health.json(), { ok: true })
    const credentials = JSON.parse(await cli.ok(['s3', 'credentials', '--json']))
    assert.equal(credentials.endpoint, state.s3)
    assert.ok(credentials.accessKeyId.length > 0 && credentials.secretAccessKey.length > 0)
  })

  it('put opens an active deal paid from the user wallet', async () => {
    const path = join(dir, 'file')
    await writeFile(path, bytes)
    const walletStart = JSON.parse(await cli.ok(['wallet', '--json']))
    const put = JSON.parse(await cli.ok(['put', path, '--duration', '100', '--json']))
    capability = put.capability
    const wallet = JSON.parse(await cli.ok(['wallet', '--json']))
    assert.equal(BigInt(walletStart.balance) - BigInt(wallet.balance), BigInt(put.deal.escrow))
    await proveUntil(6)
  })

  it('after SIGINT and a restart on the same folder, deals, balances and the file are all there', async () => {
    walletBefore = JSON.parse(await cli.ok(['wallet', '--json']))
    dealsBefore = JSON.parse(await cli.ok(['deals', '--json']))
    // A clean stop (exit code 0) of the nodes, the gateway and the chain may take a while on a loaded machine.
    await devnet!.stop('SIGINT', 60_000)
    assert.equal(devnet!.child.exitCode, 0)
    devnet = undefined
    await start()
    const wallet = JSON.parse(await cli.ok(['wallet', '--json']))
    assert.equal(wallet.balance, walletBefore!.balance)
    const deals = JSON.parse(await cli.ok(['deals', '--json'])) as DealView[]
    assert.deepEqual(
      deals.map((d) => d.dealId),
      dealsBefore.map((d) => d.dealId),
    )
    assert.deepEqual(
      deals[0]!.slots.map((s) => s.holder),
      dealsBefore[0]!.slots.map((s) => s.holder),
    )
    assert.ok(BigInt(deals[0]!.escrowLeft) <= BigInt(dealsBefore[0]!.escrowLeft))
    const got = await cli.run(['get', capability])
    assert.equal(got.code, 0, got.stderr)
    assert.ok(got.stdout.equals(bytes))
  })

  it('the restarted nodes go on proving', async () => {
    await proveUntil(proofs(dealsBefore) + 3)
  })
})
