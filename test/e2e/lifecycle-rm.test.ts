import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createTestClient, http } from 'viem'
import { type ChainReader, createChainReader, getEpochInfo, holdDevchainClock } from '../../src/chain/index.ts'
import { readDeals } from '../../src/client/index.ts'
import type { DevnetState } from '../../src/devnet/index.ts'
import { type DevnetCli, devnetCli, type LongRunning, nextEpoch, startCairn, waitFor } from './devnet-fixture.ts'

/** Bytes of the piece files under one node's data dir (what its deals occupy on disk). */
async function pieceBytes(dataDir: string): Promise<number> {
  let total = 0
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await walk(path)
      else total += (await stat(path)).size
    }
  }
  await walk(join(dataDir, 'pieces', 'pieces'))
  return total
}

describe('rm, garbage collection, closing and unbonding on a devnet', { timeout: 300_000 }, () => {
  let dir: string
  let devnet: LongRunning | undefined
  let cli: DevnetCli
  let chain: NonNullable<DevnetState['chain']>
  let reader: ChainReader
  let nodeDirs: string[] = []
  const keep = randomBytes(150_000)
  const gone = randomBytes(200_000)
  let keepCapability = ''
  let goneCapability = ''
  let empty: number[] = []
  let withKeep: number[] = []

  const sizes = () => Promise.all(nodeDirs.map(pieceBytes))
  /** Steps one epoch, then waits until every slot of a running deal proved the epoch before it. */
  const step = async () => {
    const epoch = await nextEpoch(chain.rpc, reader)
    await waitFor(
      async () => {
        const deals = await readDeals(reader, { fromBlock: BigInt(chain.blockNumber) })
        const owing = deals
          .filter((d) => !d.view.closed && epoch < d.view.endEpoch)
          .flatMap((d) => d.view.slots)
          .filter((s) => s.state === 'active' && s.nextEpoch < epoch)
        return owing.length === 0 ? true : undefined
      },
      90_000,
      `every holder to prove the epoch before ${epoch}`,
    )
    return epoch
  }
  const dealOf = async (capability: string) => {
    const manifest = capability.slice('cairn:'.length).split('#')[0]
    const deals = await readDeals(reader, { fromBlock: BigInt(chain.blockNumber) })
    return deals.find((d) => d.view.manifestCid === manifest)!.view
  }
  /** Steps epochs until the deal of `capability` has ended and the nodes closed it. */
  const endAndClose = async (capability: string) => {
    for (let i = 0; i < 6; i++) {
      const deal = await dealOf(capability)
      if (deal.closed) return
      const { epoch } = await getEpochInfo(reader)
      if (epoch > deal.endEpoch) {
        await waitFor(async () => ((await dealOf(capability)).closed ? true : undefined), 30_000, 'a node to close it')
        return
      }
      await step()
    }
    assert.fail('the deal was not closed by its nodes')
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-e2e-lifecycle-rm-'))
    cli = devnetCli(dir)
    devnet = startCairn(
      ['devnet', '--dir', dir, '--nodes', '3', '--heartbeat-ms', '500', '--epoch-seconds', '5', '--no-gateway'],
      { CAIRN_GC_GRACE_MS: '12000', CAIRN_GC_INTERVAL_MS: '1000' },
    )
    await devnet.waitForLine((l) => l.startsWith('devnet ready'), 120_000)
    const state = JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetState
    chain = state.chain!
    nodeDirs = state.nodes.map((n) => n.dataDir)
    reader = createChainReader({ rpcUrl: chain.rpc, chainId: chain.chainId, contracts: chain.contracts })
    await holdDevchainClock(chain.rpc)
    empty = await sizes()
  })
  after(async () => {
    await devnet?.stop('SIGINT', 30_000)
    if (dir !== undefined && process.env.CAIRN_TEST_KEEP !== '1') await rm(dir, { recursive: true, force: true })
  })

  it('cairn rm ends the deal, returns the escrow no node can earn, and forgets the file', async () => {
    await writeFile(join(dir, 'keep'), keep)
    await writeFile(join(dir, 'gone'), gone)
    keepCapability = JSON.parse(await cli.ok(['put', join(dir, 'keep'), '--duration', '100', '--json'])).capability
    withKeep = await sizes()
    goneCapability = JSON.parse(await cli.ok(['put', join(dir, 'gone'), '--duration', '100', '--json'])).capability
    const withBoth = await sizes()
    assert.ok(
      withBoth.some((bytes, i) => bytes > withKeep[i]!),
      'the second put stored pieces',
    )
    const walletBefore = JSON.parse(await cli.ok(['wallet', '--json']))
    const removed = JSON.parse(await cli.ok(['rm', goneCapability, '--json']))
    assert.equal(removed.forgotten, true)
    assert.equal(removed.deals.length, 1)
    assert.equal(removed.deals[0].outcome, 'ended')
    assert.ok(BigInt(removed.refund) > 0n)
    const walletAfter = JSON.parse(await cli.ok(['wallet', '--json']))
    assert.equal(BigInt(walletAfter.balance) - BigInt(walletBefore.balance), BigInt(removed.refund))
    const listed = JSON.parse(await cli.ok(['ls', '--json'])) as Array<{ capability: string }>
    assert.deepEqual(
      listed.map((f) => f.capability),
      [keepCapability],
    )
    const again = await cli.run(['rm', goneCapability])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout.toString(), /had already ended|not in the list/)
    const bad = await cli.run(['rm', 'cairn:nonsense'])
    assert.notEqual(bad.code, 0)
    assert.match(bad.stderr, /^error: /)
  })

  it('the nodes close the ended deal and their piece folders return to their size before the put', async () => {
    await endAndClose(goneCapability)
    await waitFor(
      async () => {
        const now = await sizes()
        return now.every((bytes, i) => bytes === withKeep[i]) ? true : undefined
      },
      60_000,
      'every node to delete the pieces of the removed file',
    )
    const got = await cli.run(['get', keepCapability])
    assert.equal(got.code, 0, got.stderr)
    assert.ok(got.stdout.equals(keep), 'the other file still reads byte-equal')
  })

  it('unbond, then withdraw-stake once the unbonding delay passed and the node holds no slot', async () => {
    const key = join(nodeDirs[0]!, 'chain.key')
    const early = await cli.run(['node', 'withdraw-stake', '--key-file', key])
    assert.equal(early.code, 1)
    assert.match(early.stderr, /run "cairn node unbond" first/)
    const unbond = JSON.parse(await cli.ok(['node', 'unbond', '--key-file', key, '--json']))
    assert.equal(unbond.status, 'unbonding')
    const notYet = await cli.run(['node', 'withdraw-stake', '--key-file', key])
    assert.match(notYet.stderr, /unbonding period of node .* is not over/)
    // the last file goes too: its deal ends, the nodes close it and every slot is released
    await cli.ok(['rm', keepCapability])
    await endAndClose(keepCapability)
    await waitFor(
      async () => ((await sizes()).every((bytes, i) => bytes === empty[i]) ? true : undefined),
      60_000,
      'every node folder to be as before any put',
    )
    const test = createTestClient({ mode: 'anvil', transport: http(chain.rpc) })
    await test.setNextBlockTimestamp({ timestamp: BigInt(unbond.unbondAt + 1) })
    await test.mine({ blocks: 1 })
    const walletBefore = JSON.parse(await cli.ok(['wallet', '--key-file', key, '--json']))
    const withdrawn = JSON.parse(await cli.ok(['node', 'withdraw-stake', '--key-file', key, '--json']))
    assert.equal(withdrawn.withdrawn, unbond.stake)
    const walletAfter = JSON.parse(await cli.ok(['wallet', '--key-file', key, '--json']))
    assert.equal(BigInt(walletAfter.balance) - BigInt(walletBefore.balance), BigInt(unbond.stake))
    const twice = await cli.run(['node', 'withdraw-stake', '--key-file', key])
    assert.match(twice.stderr, /nothing to withdraw/)
  })
})
