/**
 * Scenario 4, partitions, on the namespace cluster (test/cluster): anvil on its own host (1 s blocks, 10 s epochs),
 * each operator's `cairn node start --network` on its own host, the user on another, on routed /24 subnets, set up
 * as the journey does (fixtures/network-setup.ts). After the user's puts, 30% of the nodes (seeded) are cut off from
 * the other nodes, the chain host and the user (nftables in the router: routed and bridged traffic) for 60 s (20 s
 * quick), then the partition heals. Measured:
 * - false slashes: ProofMissed with stake slashed of a node that was never cut, or of a cut node for an epoch outside
 *   the cut (the cut nodes' misses while cut are the protocol's rule: a proof not sent before the epoch's deadline is
 *   a miss; counted apart);
 * - lost files: every file read back byte-equal by the user after the heal;
 * - repair bytes: `cairn_node_repair_rebuilt_bytes_total` summed over every node, before the cut, during it and after
 *   the heal, compared with the bytes the cut nodes hold (what rebuilding every one of their slots elsewhere would move).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { type Cluster, createCluster, namespaceSupport } from '../cluster/cluster.ts'
import { ClusterNetwork } from '../cluster/fixtures/network-setup.ts'
import { registerCleanup } from './chaos-devnet.ts'
import type { ChaosContext, Scenario } from './scenario.ts'

const EPOCH_SECONDS = 10
const PROBE = fileURLToPath(new URL('./cluster-probe.ts', import.meta.url))

/** Runs the probe inside `host` and parses its line (undefined when it failed). */
async function probe<T>(cluster: Cluster, host: string, args: string[]): Promise<T | undefined> {
  const run = await cluster.run(host, ['node', PROBE, ...args], { timeoutMs: 60_000 })
  if (run.code !== 0) return undefined
  try {
    return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as T
  } catch {
    return undefined
  }
}

export const partitions: Scenario = {
  name: 'partitions',
  number: 4,
  timeoutMs: { full: 40 * 60_000, quick: 25 * 60_000 },
  async run(context: ChaosContext) {
    const unsupported = namespaceSupport()
    if (unsupported !== undefined) {
      return { ok: true, runs: 0, failures: [], details: { skipped: `no namespace cluster: ${unsupported}` } }
    }
    const failures: string[] = []
    const cutMs = context.quick ? 20_000 : 60_000
    const cluster = await createCluster({ subnets: 3, nodesPerSubnet: context.quick ? 2 : 3, natNodes: 0 })
    const unregister = registerCleanup(() => cluster.destroy())
    const details: Record<string, unknown> = { epoch_seconds: EPOCH_SECONDS, cut_s: cutMs / 1000 }
    let acknowledged = 0
    let lost = 0
    let falseSlashes = 0
    const net = new ClusterNetwork(cluster, {
      dir: join(context.workDir, 'cluster'),
      epochSeconds: EPOCH_SECONDS,
      operatorTokens: 2_000n,
      userTokens: 5_000n,
      onStep: (step) => context.log(step),
    })
    try {
      await net.startChain()
      await net.deploy()
      await net.fundAndStartNodes()
      await net.waitUntilListed(180_000)
      const market = (JSON.parse(await readFile(net.networkFile, 'utf8')) as { contracts: { market: string } })
        .contracts.market
      const hosts = net.operatorHosts
      const apiOf = new Map(
        [...net.nodes].map(([host, p]) => {
          const ready = JSON.parse(p.lines().find((l) => l.includes('"event":"ready"'))!) as { api: string }
          return [host, ready.api]
        }),
      )
      // The chain's clock, read once inside the cluster (a probe is a Node process: polling with probes would starve
      // the nodes); anvil mines a block a second on the wall clock, so the epoch follows from the time since then.
      const clock = await probe<{ now: number; genesis: number; epochSeconds: number }>(cluster, 'user', [
        'epoch',
        net.rpc,
        market,
      ])
      if (clock === undefined) throw new Error('the chain could not be read from the user host')
      const skew = clock.now - Date.now() / 1000
      const epoch = () => Math.floor((Date.now() / 1000 + skew - clock.genesis) / clock.epochSeconds)
      const untilEpoch = async (target: number) => {
        const wait = (clock.genesis + target * clock.epochSeconds - skew) * 1000 - Date.now()
        if (wait > 0) await sleep(wait + 500)
      }
      // One node at a time: six probes at once (a Node process each) starve the nodes of these 2 cores, and a
      // starved node misses its proof of a 10 s epoch.
      const repairs = async () => {
        const sample = { bytes: 0, done: 0, failed: 0, unread: [] as string[] }
        for (const host of hosts) {
          const series = await probe<Record<string, number>>(cluster, host, [
            'metrics',
            apiOf.get(host)!,
            'cairn_node_',
          ])
          if (series === undefined) {
            sample.unread.push(host)
            continue
          }
          sample.bytes += series.cairn_node_repair_rebuilt_bytes_total ?? 0
          sample.done += series['cairn_node_slot_repairs_total{outcome="done"}'] ?? 0
          sample.failed += series['cairn_node_slot_repairs_total{outcome="failed"}'] ?? 0
        }
        return sample
      }
      const files: Array<{ name: string; bytes: Buffer; capability: string }> = []
      const shapes: Array<[number, number]> = context.quick
        ? [
            [2, 5],
            [1, 3],
          ]
        : [
            [2, 6],
            [2, 5],
            [1, 3],
            [3, 8],
          ]
      for (const [i, [k, n]] of shapes.entries()) {
        const bytes = context.rng.bytes(300_000 + context.rng.int(0, 200_000))
        const path = join(net.home('user'), `file-${i}.bin`)
        await writeFile(path, bytes)
        try {
          const put = await net.json<{ capability: string }>(
            'user',
            ['put', path, '--k', String(k), '--n', String(n), ...net.asUser()],
            180_000,
          )
          files.push({ name: `(${k},${n}) file-${i}`, bytes, capability: put.capability })
          acknowledged++
        } catch (err) {
          failures.push(`the (${k},${n}) put before the partition failed: ${(err as Error).message.slice(0, 300)}`)
        }
      }
      context.log(`${files.length} files stored`)

      const cut = context.rng.pick(hosts, Math.max(1, Math.round(hosts.length * 0.3)))
      const rest = hosts.filter((h) => !cut.includes(h))
      details.nodes = hosts.length
      details.cut_hosts = cut
      let heldByCut = 0
      for (const h of cut) {
        heldByCut += (await probe<{ bytes: number }>(cluster, h, ['get', apiOf.get(h)!, '/usage']))?.bytes ?? 0
      }
      details.bytes_held_by_cut_nodes = heldByCut
      // Two epochs of proofs before the cut, so that every slot is confirmed and proven once.
      await untilEpoch(epoch() + 2)
      const before = await repairs()
      const cutEpoch = epoch()
      await cluster.partition([cut, [...rest, 'chain', 'user']])
      const cutAt = Date.now()
      context.log(`cut ${cut.join(', ')} off from the rest, the chain and the user at epoch ${cutEpoch}`)
      // The fault has a length: nothing else to wait for.
      await sleep(cutMs - (Date.now() - cutAt))
      await cluster.heal()
      details.cut_measured_s = Math.round((Date.now() - cutAt) / 100) / 10
      // Read right after the heal: what the repairs did during the cut (a repair that moves bytes takes seconds).
      const healEpoch = epoch()
      const during = await repairs()
      context.log(`healed at epoch ${healEpoch}`)
      // Three epochs for the cut nodes to prove again and for watchers to report the misses, then 30 s more of
      // repair (a node's default repair confirmation is 20 s).
      await untilEpoch(healEpoch + 3)
      await sleep(30_000)
      const after = await repairs()
      const delta = (a: typeof before, b: typeof before) => ({
        rebuilt_bytes: b.bytes - a.bytes,
        slot_repairs_done: b.done - a.done,
        slot_repairs_failed: b.failed - a.failed,
      })
      details.repairs = {
        before_cut: { rebuilt_bytes: before.bytes, slot_repairs_done: before.done, slot_repairs_failed: before.failed },
        during_cut: delta(before, during),
        after_heal: delta(during, after),
        nodes_unread: [...before.unread, ...during.unread, ...after.unread],
      }
      // A storm: rebuilding more than the cut nodes hold, i.e. some slot rebuilt more than once (or bytes of nodes
      // that were never cut).
      const moved = after.bytes - before.bytes
      if (moved > heldByCut) {
        failures.push(
          `repair storm: ${moved} bytes rebuilt during and after the partition, more than the ${heldByCut} bytes the cut nodes hold`,
        )
      }
      details.cut_epochs = [cutEpoch, healEpoch]

      const missed = await probe<Array<{ node: string; epoch: number; slashed: string }>>(cluster, 'user', [
        'missed',
        net.rpc,
        market,
      ])
      if (missed === undefined) failures.push('the ProofMissed events could not be read')
      const cutAddresses = new Set(cut.map((h) => net.wallets.get(h)!.toLowerCase()))
      const hostOfAddress = new Map(hosts.map((h) => [net.wallets.get(h)!.toLowerCase(), h]))
      const whileCut = (m: { node: string; epoch: number }) =>
        cutAddresses.has(m.node) && m.epoch >= cutEpoch && m.epoch <= healEpoch
      const expected = (missed ?? []).filter(whileCut)
      const wrong = (missed ?? []).filter((m) => !whileCut(m) && BigInt(m.slashed) > 0n)
      falseSlashes = wrong.length
      details.misses = {
        total: missed?.length ?? null,
        of_cut_nodes_while_cut: expected.length,
        slashed_while_cut: expected.filter((m) => BigInt(m.slashed) > 0n).length,
        false: wrong.map((m) => ({ host: hostOfAddress.get(m.node), epoch: m.epoch, slashed: m.slashed })),
      }
      if (falseSlashes > 0) failures.push(`${falseSlashes} slashes outside the partition (nodes that could prove)`)

      for (const file of files) {
        const out = join(net.home('user'), 'read.out')
        try {
          await net.cairn('user', ['get', file.capability, '-o', out, ...net.asUser()], 180_000)
          if (!(await readFile(out)).equals(file.bytes)) throw new Error('different bytes')
        } catch (err) {
          lost++
          failures.push(`${file.name} did not read back after the heal: ${(err as Error).message.slice(-500)}`)
        }
      }
    } catch (err) {
      failures.push(`the scenario stopped: ${(err as Error).message.slice(0, 500)}`)
      context.log(net.failureReport().slice(-3000))
    } finally {
      // Each node's output beside its folder, for `--keep` (the nodes write no log file of their own).
      for (const [host, node] of net.nodes) {
        await writeFile(join(net.home(host), 'node-output.txt'), node.output()).catch(() => {})
      }
      unregister()
      await cluster.destroy()
    }
    return {
      ok: failures.length === 0,
      runs: 1,
      failures,
      acknowledged_files: acknowledged,
      lost_files: lost,
      false_slashes: falseSlashes,
      details,
    }
  },
}
