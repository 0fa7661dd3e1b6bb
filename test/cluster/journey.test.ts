/**
 * The journey of issue 13 across the namespace cluster, each command typed in its own host as an operator and a user
 * would: anvil on the chain host (1 s blocks, reached only through standard JSON-RPC at its cluster address), `cairn
 * network deploy`, `cairn wallet new` and `cairn wallet send` to fund six operators and a user, `cairn node start` on
 * n1..n6 and on nat1 (behind the NAT) with an empty bootstrap list (the Registry alone), then from the user host a
 * (1,3) and a (2,6) put (every slot on a distinct /24 where the ranges allow, the NATed node holding a slot), both read
 * back byte-equal, the deals proved and paid, a slot holder's host killed and the slot repaired onto another host on
 * chain, the file still byte-equal, and the operators' balances up. Skips, saying why, where network namespaces
 * cannot be made (not root, no `ip`/`nft`/`tc`).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { waitFor } from '../wait-for.ts'
import { type Cluster, createCluster, namespaceSupport } from './cluster.ts'
import { CAIRN, ClusterNetwork, type WalletJson } from './fixtures/network-setup.ts'

const skip = namespaceSupport()
/** Short epochs, so proofs, payments and a withdrawal happen within the test's few minutes. */
const EPOCH_SECONDS = 10
const OPERATOR_TOKENS = 2_000n
const USER_TOKENS = 5_000n

interface DealView {
  dealId: string
  manifestCid: string
  k: number
  n: number
  paidSoFar: string
  slots: Array<{ index: number; peerId: string | null; holder: string; proofsMade: number; state: string }>
}
interface PutJson {
  capability: string
  manifestCid: string
  k: number
  n: number
  slots: Array<{ index: number; peerId: string }>
  deal?: { dealId: string; slots: Array<{ index: number; peerId: string }> }
}

/** The /24 (or 'nat') each node host sits on, by host name. */
function subnetOf(cluster: Cluster, host: string): string {
  return cluster.host(host).subnet
}

describe('the journey across the namespace cluster', { skip: skip === undefined ? false : skip }, () => {
  test('deploy, fund, join through the Registry, put (1,3) and (2,6), get, prove, pay, kill, repair', {
    timeout: 600_000,
  }, async (t) => {
    const started = Date.now()
    const mark = (step: string) => process.stderr.write(`# ${((Date.now() - started) / 1000).toFixed(1)} s ${step}\n`)
    const dir = await mkdtemp(join(tmpdir(), 'cairn-journey-'))
    const cluster = await createCluster({ bandwidth: '100mbit' })
    // a timed-out test is not awaited to its finally: stop every process and namespace at once
    t.signal.addEventListener('abort', () => cluster.destroySync(), { once: true })
    const net = new ClusterNetwork(cluster, {
      dir,
      epochSeconds: EPOCH_SECONDS,
      operatorTokens: OPERATOR_TOKENS,
      userTokens: USER_TOKENS,
      onStep: mark,
    })
    const { networkFile: network, peers, warnings } = net
    const home = (host: string) => net.home(host)
    const cairn = (host: string, args: string[], timeoutMs?: number) => net.cairn(host, args, timeoutMs)
    const json = <T>(host: string, args: string[], timeoutMs?: number) => net.json<T>(host, args, timeoutMs)
    /** Failed checks that do not stop the journey: asserted empty at its end. */
    const deferred: string[] = []
    try {
      // 1. The chain: anvil on the chain host, 1 s blocks, on its cluster address only.
      const rpc = await net.startChain()

      // 2. The deployer (on n1): contracts deployed through plain JSON-RPC, network.json written.
      await net.deploy()
      const file = JSON.parse(await readFile(network, 'utf8'))
      assert.equal(file.name, 'cluster')
      assert.equal(file.rpc, rpc)
      assert.deepEqual(file.bootstrap, [], 'an empty bootstrap list: the Registry is the only way in')

      // 3. Wallets, funded by the deployer (tokens) and a faucet (gas); 4. operators start their nodes once funded,
      // with no bootstrap address anywhere (see fixtures/network-setup.ts).
      const operatorHosts = net.operatorHosts
      await net.fundAndStartNodes()
      const funded = await net.wallet('user')
      assert.equal(funded.balance, (USER_TOKENS * CAIRN).toString(), 'the user holds what the deployer sent')
      assert.ok(BigInt(funded.ether) > 0n, 'the user has gas')
      const hostOf = net.hostOf()
      // They found each other through the Registry alone, and the user sees every one of them live and active.
      const listing = await net.waitUntilListed()
      // Each operator's balance once registered (its stake left its wallet), to see earnings arrive later.
      const operatorWallet = (host: string) => net.wallet(host)
      const registeredBalance = new Map(
        await Promise.all(operatorHosts.map(async (h) => [h, BigInt((await operatorWallet(h)).balance)] as const)),
      )

      // 5. The user stores a (1,3) file and a (2,6) file, paid by the user's own key.
      const userKey = join(home('user'), 'wallet.key')
      const asUser = ['--network', network, '--key-file', userKey]
      const small = randomBytes(300_000)
      const large = randomBytes(2_000_000)
      await writeFile(join(home('user'), 'small.bin'), small)
      await writeFile(join(home('user'), 'large.bin'), large)
      const movedBefore = warnings.length
      const putSmall = await json<PutJson>(
        'user',
        ['put', join(home('user'), 'small.bin'), '--k', '1', '--n', '3', ...asUser],
        180_000,
      )
      mark('(1,3) put')
      const movedSmall = warnings.length - movedBefore
      const putLarge = await json<PutJson>(
        'user',
        ['put', join(home('user'), 'large.bin'), '--k', '2', '--n', '6', ...asUser],
        180_000,
      )
      mark('(2,6) put')
      // A (1,n) file on every operator: placement is random within the /24 spread, so only this one is sure to give
      // the node behind the NAT a slot (pieces stored to it relayed, then read back from it).
      const tiny = randomBytes(50_000)
      await writeFile(join(home('user'), 'tiny.bin'), tiny)
      const putAll = await json<PutJson>(
        'user',
        ['put', join(home('user'), 'tiny.bin'), '--k', '1', '--n', String(operatorHosts.length), ...asUser],
        180_000,
      )
      mark(`(1,${operatorHosts.length}) put`)
      const moved = new Map([
        [putSmall, movedSmall],
        [putLarge, warnings.length - movedBefore - movedSmall],
      ])
      const ranges = new Set(operatorHosts.map((h) => subnetOf(cluster, h)))
      for (const put of [putSmall, putLarge]) {
        assert.ok(put.deal !== undefined, 'the put opened a deal')
        const hosts = put.slots.map((s) => hostOf.get(s.peerId) ?? `unknown peer ${s.peerId}`)
        const subnets = hosts.map((h) => (h.startsWith('unknown') ? h : subnetOf(cluster, h)))
        // as even as the ranges allow: no /24 holds more than ceil(n / ranges) slots of one file, plus one for each
        // slot the put had to move to a spare node (a spare comes from a range already used)
        const most = Math.max(...[...new Set(subnets)].map((s) => subnets.filter((x) => x === s).length))
        assert.ok(
          most <= Math.ceil(put.n / ranges.size) + (moved.get(put) ?? 0),
          `(${put.k},${put.n}) slots spread over the /24s: ${hosts.map((h, i) => `${h}@${subnets[i]}`).join(', ')}`,
        )
        assert.equal(new Set(hosts).size, put.n, 'each slot on its own host')
      }
      const slotHosts = [putSmall, putLarge, putAll].flatMap((p) => p.slots.map((s) => hostOf.get(s.peerId)))
      // Checked at the end, so that one miss here still lets the rest of the journey run and be seen.
      if (!slotHosts.includes('nat1')) {
        const natListed = JSON.stringify(
          (listing.find((p) => p.peerId === peers.get('nat1')) as { multiaddrs?: string[] } | undefined)?.multiaddrs,
        )
        deferred.push(
          `the node behind the NAT holds no slot (holders: ${slotHosts.join(', ')}; the user's put warned: ${warnings.join(' | ') || 'nothing'}; \`cairn nodes\` gave nat1 the addresses ${natListed})`,
        )
      }

      // 6. Both read back byte-equal on the user host; the deals, their proofs and the user's payment show.
      for (const [put, bytes, name] of [
        [putSmall, small, 'small'],
        [putLarge, large, 'large'],
        [putAll, tiny, 'tiny'],
      ] as const) {
        const out = join(home('user'), `${name}.copy`)
        await cairn('user', ['get', put.capability, '-o', out, '--network', network])
        assert.ok(bytes.equals(await readFile(out)), `the ${name} file reads back byte-equal`)
      }
      mark('both read back')
      const proved = await waitFor(
        async () => {
          const deals = await json<DealView[]>('user', ['deals', ...asUser])
          return (
            deals.length === 3 &&
            deals.every((d) => d.slots.every((s) => s.proofsMade > 0) && BigInt(d.paidSoFar) > 0n) &&
            deals
          )
        },
        90_000,
        'every slot of the three deals proved and paid at least once (`cairn deals`)',
      )
      assert.deepEqual(
        proved.map((d) => d.dealId).sort(),
        [putSmall.deal?.dealId, putLarge.deal?.dealId, putAll.deal?.dealId].sort(),
      )
      const wallet = await json<WalletJson>('user', ['wallet', ...asUser])
      assert.ok(BigInt(wallet.balance) < USER_TOKENS * CAIRN, `the user's balance dropped: ${wallet.balance}`)
      assert.ok(BigInt(wallet.escrow) > 0n, 'the deals hold escrow')
      assert.ok(BigInt(wallet.paid) > 0n, 'the nodes were paid')
      mark('proved and paid')

      // 7. A host holding a slot of the (1,3) file dies; another host takes the slot over on chain.
      const victim = putSmall.slots.map((s) => hostOf.get(s.peerId) as string).find((h) => h !== 'nat1') as string
      const slot = putSmall.slots.find((s) => hostOf.get(s.peerId) === victim)?.index as number
      await cluster.kill(victim)
      mark(`killed ${victim} (slot ${slot} of the (1,3) file)`)
      const repaired = await waitFor(
        async () => {
          const deals = await json<DealView[]>('user', ['deals', ...asUser])
          const deal = deals.find((d) => d.dealId === putSmall.deal?.dealId)
          const peerId = deal?.slots[slot]?.peerId
          return peerId !== undefined && peerId !== null && peerId !== peers.get(victim) && peerId
        },
        180_000,
        `slot ${slot} of the (1,3) file repaired onto another host on chain (\`cairn deals\`)`,
      )
      const newHost = hostOf.get(repaired)
      assert.ok(newHost !== undefined && newHost !== victim, `the slot moved to another node host: ${newHost}`)
      mark(`slot ${slot} repaired onto ${newHost}`)
      const status = await json<{ slotsAlive: number; slots: Array<{ index: number; peerId: string | null }> }>(
        'user',
        ['status', putSmall.capability, '--network', network],
      )
      assert.equal(status.slots[slot]?.peerId, repaired, '`cairn status` names the new holder')
      const copy = join(home('user'), 'small.after-repair')
      await cairn('user', ['get', putSmall.capability, '-o', copy, '--network', network])
      assert.ok(small.equals(await readFile(copy)), 'the file still reads back byte-equal')

      // 8. Operators were paid: a holder withdraws its earnings (once they reach 1 CAIRN), and its wallet shows more
      // than it held once registered.
      const holders = operatorHosts.filter((h) => h !== victim && slotHosts.includes(h))
      const paid = await waitFor(
        async () => {
          for (const host of holders) {
            const balance = BigInt((await operatorWallet(host)).balance)
            if (balance > (registeredBalance.get(host) as bigint)) return { host, balance }
          }
          return undefined
        },
        150_000,
        `an operator's balance above its balance once registered (holders: ${holders.join(', ')})`,
      )
      process.stderr.write(
        `# ${paid.host}: ${registeredBalance.get(paid.host)} once registered, ${paid.balance} now (token units)\n`,
      )
      mark('operators paid')
      assert.deepEqual(deferred, [], 'every check of the journey passed')
    } catch (error) {
      process.stderr.write(net.failureReport())
      throw error
    } finally {
      await cluster.destroy()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
