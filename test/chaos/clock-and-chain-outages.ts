/**
 * Scenario 8, clock steps and chain outages, on a devnet with its chain (10 s epochs).
 *
 * (a) Clock step: one node is restarted under libfaketime (Debian's libfaketime, LD_PRELOAD; CLOCK_MONOTONIC left
 * alone, as a real NTP step leaves it) and, once its peers see it alive, its wall clock is stepped back one hour. For
 * the observation window every other node's view of it (`GET /peers` of each control API) must never say dead, its
 * slots must stay with it (`cairn status`), the chain must keep accepting its proofs, and files read preferring it
 * must come back byte-equal. Then the clock jumps to an hour ahead of the true time for another window: peers must
 * still see it alive, the chain must accept its proofs, and its slots must stay whole on its disk.
 *
 * The node measures intervals on the monotonic clock (defect 7): its `/health` `uptimeMs` must keep counting up
 * through both steps, while its `clockMs` (its wall clock) shows each step took.
 *
 * (b) Chain outage: some nodes are restarted with their chain endpoint behind test/chain/rpc-proxy.ts, which is then
 * cut (connections refused and reset) for two whole epochs and restored. Nodes given a fallback
 * (`--chain-rpc-fallback`, a second proxy that stays up: 1 node quick, 2 full) must keep proving through the outage,
 * keep their slots and not be slashed at all; nodes with the one cut URL (1) have nothing to fall back to: they must
 * stay up and prove again after the outage. Misses are classified by the chain's ProofMissed events: one for a node in
 * an epoch where it was restarting, or cut with no fallback, is expected (the chain's deadline passed while it could
 * not reach it); any other is a false slash.
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { PeerView } from '../../src/net/index.ts'
import { startRpcProxy } from '../chain/rpc-proxy.ts'
import { type LongRunning, waitFor } from '../e2e/devnet-fixture.ts'
import { confirmationEpochMisses, watchChain } from './chain-watch.ts'
import { type PutOutcome, registerCleanup, startChaosDevnet } from './chaos-devnet.ts'
import { FAST_REPAIR_ENV } from './mass-failure.ts'
import { restartNode, withFlag } from './node-restart.ts'
import type { ChaosContext, Scenario } from './scenario.ts'

/** Debian's libfaketime (apt-get install libfaketime); the scenario's part (a) is skipped, saying so, without it. */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'
const EPOCH_SECONDS = 10
const STEP = '-1h'
const FORWARD = '+1h'

async function peersOf(api: string): Promise<PeerView[] | undefined> {
  try {
    const response = await fetch(`${api}/peers`, { signal: AbortSignal.timeout(5_000) })
    return response.ok ? ((await response.json()) as PeerView[]) : undefined
  } catch {
    return undefined
  }
}

/** The node's `/health` uptime (monotonic) and its wall clock's offset from this process's (ms). */
async function clockOf(api: string): Promise<{ uptimeMs: number; offsetMs: number } | undefined> {
  try {
    const response = await fetch(`${api}/health`, { signal: AbortSignal.timeout(5_000) })
    const health = (await response.json()) as { uptimeMs?: number; clockMs?: number }
    if (typeof health.uptimeMs !== 'number' || typeof health.clockMs !== 'number') return undefined
    return { uptimeMs: health.uptimeMs, offsetMs: health.clockMs - Date.now() }
  } catch {
    return undefined
  }
}

export const clockAndChainOutages: Scenario = {
  name: 'clock-and-chain-outages',
  number: 8,
  timeoutMs: { full: 20 * 60_000, quick: 8 * 60_000 },
  async run(context: ChaosContext) {
    const failures: string[] = []
    const details: Record<string, unknown> = { epoch_seconds: EPOCH_SECONDS, clock_steps: [STEP, FORWARD] }
    const nodeCount = context.quick ? 5 : 6
    const dir = join(context.workDir, 'devnet')
    const devnet = await startChaosDevnet({
      dir,
      nodes: nodeCount,
      chain: true,
      epochSeconds: EPOCH_SECONDS,
      env: context.quick ? FAST_REPAIR_ENV : {},
    })
    const restarted: LongRunning[] = []
    const unregister = registerCleanup(async () => {
      await Promise.all(restarted.map((p) => p.stop('SIGKILL').catch(() => {})))
    })
    let acknowledged = 0
    let lost = 0
    let falseSlashes = 0
    try {
      const chain = await watchChain(dir)
      const addresses = await Promise.all(devnet.nodes.map((n) => chain.addressOf(n.dataDir)))
      // Chain epochs in which each node could not reach the chain (restarted or cut): its misses there are expected.
      const unreachable = devnet.nodes.map(() => new Set<number>())
      const files: PutOutcome[] = []
      for (const [name, k, n] of [
        ['all-nodes', 2, nodeCount],
        ['replicas', 1, 3],
      ] as const) {
        const put = await devnet.put(name, context.rng.bytes(200_000 + context.rng.int(0, 100_000)), k, n)
        if (put.ok) {
          acknowledged++
          files.push(put)
        } else failures.push(`the (${k},${n}) put before any fault failed: ${put.error}`)
      }
      if (files.length === 0) throw new Error('no put succeeded before the faults')
      context.log(`${files.length} files stored`)
      const pids = devnet.nodes.map((n) => n.pid)
      const others = (index: number) => devnet.nodes.filter((_, i) => i !== index && !devnet.killed.has(i))

      // (a) The clock step.
      const clockVictim = context.rng.int(1, nodeCount - 1)
      const victimPeer = devnet.nodes[clockVictim]!.peerId
      details.clock_victim = clockVictim
      if (!existsSync(LIBFAKETIME)) {
        details.clock = `skipped: ${LIBFAKETIME} is missing (apt-get install libfaketime)`
        failures.push(`part (a) did not run: ${LIBFAKETIME} is missing (apt-get install libfaketime)`)
      } else {
        const stampFile = join(context.workDir, 'faketime')
        await writeFile(stampFile, '+0\n')
        const epochBefore = await chain.epoch()
        const node = await restartNode(devnet, clockVictim, pids[clockVictim]!, {
          env: {
            LD_PRELOAD: LIBFAKETIME,
            FAKETIME_TIMESTAMP_FILE: stampFile,
            FAKETIME_CACHE_DURATION: '1',
            FAKETIME_DONT_FAKE_MONOTONIC: '1',
          },
        })
        restarted.push(node)
        pids[clockVictim] = node.pid
        const seenAlive = async () => {
          const views = await Promise.all(others(clockVictim).map((o) => peersOf(o.api)))
          return views.every((v) => v?.find((p) => p.peerId === victimPeer)?.state === 'alive')
        }
        try {
          await waitFor(seenAlive, 60_000, 'every peer to see it alive')
        } catch (err) {
          failures.push(`node ${clockVictim} restarted under libfaketime was not seen alive: ${(err as Error).message}`)
        }
        for (let e = epochBefore; e <= (await chain.epoch()); e++) unreachable[clockVictim]!.add(e)
        await writeFile(stampFile, `${STEP}\n`)
        context.log(`node ${clockVictim}'s clock stepped to ${STEP}`)
        const steppedAt = Date.now()
        const stepEpoch = await chain.epoch()
        // The step took: the node's wall clock (`clockMs`) is about an hour behind; its uptime (monotonic) still counts up.
        const uptimeBefore = (await clockOf(devnet.nodes[clockVictim]!.api))?.uptimeMs
        const back = await waitFor(
          async () => {
            const c = await clockOf(devnet.nodes[clockVictim]!.api)
            return c !== undefined && c.offsetMs < -1_800_000 ? c : undefined
          },
          15_000,
          'the node to see its clock stepped back',
        ).catch(() => undefined)
        details.victim_clock_offset_ms_after_step = back?.offsetMs ?? null
        details.victim_uptime_ms = { before_step: uptimeBefore ?? null, after_step: back?.uptimeMs ?? null }
        if (back === undefined) failures.push('the clock step did not reach the node (its clockMs did not fall)')
        else if (uptimeBefore !== undefined && back.uptimeMs < uptimeBefore) {
          failures.push(
            `node ${clockVictim}'s uptime fell from ${uptimeBefore} to ${back.uptimeMs} ms with its wall clock`,
          )
        }
        const windowMs = context.quick ? 30_000 : 3 * EPOCH_SECONDS * 1_000 + 60_000
        const states = { alive: 0, suspect: 0, dead: 0, absent: 0 }
        let slotMoves = 0
        while (Date.now() - steppedAt < windowMs && !context.signal.aborted) {
          for (const view of await Promise.all(others(clockVictim).map((o) => peersOf(o.api)))) {
            const state = view?.find((p) => p.peerId === victimPeer)?.state
            states[state ?? 'absent']++
          }
          const status = await devnet.status(files[0]!.capability!)
          if (status !== undefined && !status.slots.some((s) => s.peerId === victimPeer)) slotMoves++
          await sleep(2_000)
        }
        details.peer_views_of_stepped_node = states
        if (states.dead > 0) {
          failures.push(`node ${clockVictim}'s peers declared it dead ${states.dead} times after its clock step`)
        }
        if (slotMoves > 0) failures.push(`node ${clockVictim}'s slot of the (2,n) file moved away after its clock step`)
        const accepted = (await chain.accepted()).filter(
          (p) => p.node === addresses[clockVictim] && p.epoch > stepEpoch,
        )
        details.victim_proofs_after_step = accepted.length
        if (accepted.length === 0)
          failures.push(`the chain accepted no proof of node ${clockVictim} after its clock step`)
        // Then forward: an hour ahead of the true time (two hours from where it was), as a bad NTP correction would.
        await writeFile(stampFile, `${FORWARD}\n`)
        context.log(`node ${clockVictim}'s clock stepped to ${FORWARD}`)
        const forwardAt = Date.now()
        const forwardEpoch = await chain.epoch()
        const ahead = await waitFor(
          async () => {
            const c = await clockOf(devnet.nodes[clockVictim]!.api)
            return c !== undefined && c.offsetMs > 1_800_000 ? c : undefined
          },
          15_000,
          'the node to see its clock stepped ahead',
        ).catch(() => undefined)
        details.victim_clock_offset_ms_after_forward_step = ahead?.offsetMs ?? null
        details.victim_uptime_ms = {
          ...(details.victim_uptime_ms as object),
          after_forward_step: ahead?.uptimeMs ?? null,
        }
        if (ahead === undefined)
          failures.push('the forward clock step did not reach the node (its clockMs did not rise)')
        else if (back !== undefined && ahead.uptimeMs < back.uptimeMs) {
          failures.push(
            `node ${clockVictim}'s uptime fell from ${back.uptimeMs} to ${ahead.uptimeMs} ms with its wall clock`,
          )
        }
        const forwardStates = { alive: 0, suspect: 0, dead: 0, absent: 0 }
        while (Date.now() - forwardAt < windowMs && !context.signal.aborted) {
          for (const view of await Promise.all(others(clockVictim).map((o) => peersOf(o.api)))) {
            forwardStates[view?.find((p) => p.peerId === victimPeer)?.state ?? 'absent']++
          }
          await sleep(2_000)
        }
        details.peer_views_after_forward_step = forwardStates
        if (forwardStates.dead > 0) {
          failures.push(
            `node ${clockVictim}'s peers declared it dead ${forwardStates.dead} times after its clock jumped ahead`,
          )
        }
        const forwardProofs = (await chain.accepted()).filter(
          (p) => p.node === addresses[clockVictim] && p.epoch > forwardEpoch,
        )
        details.victim_proofs_after_forward_step = forwardProofs.length
        if (forwardProofs.length === 0) {
          failures.push(`the chain accepted no proof of node ${clockVictim} after its clock jumped ahead`)
        }
        // Its slots are still whole on its disk (a garbage collector trusting the wall clock could have swept pieces).
        for (const file of files) {
          const status = await devnet.status(file.capability!)
          const slot = status?.slots.find((s) => s.peerId === victimPeer)
          if (slot !== undefined && slot.held !== slot.pieces) {
            failures.push(
              `node ${clockVictim} holds ${slot.held} of ${slot.pieces} pieces of its slot of ${file.name} after the clock steps`,
            )
          }
        }
        for (const file of files) {
          const out = join(dir, 'inputs', `pref-${file.name}`)
          const got = await devnet.run(['get', file.capability!, '-o', out, '--prefer', victimPeer])
          if (got.code !== 0)
            failures.push(`a read of ${file.name} preferring the stepped node failed: ${got.stderr.trim()}`)
        }
      }

      // (b) The chain outage: the first `fallbackCount` cut nodes have a second endpoint that stays up.
      const fallbackCount = context.quick ? 1 : 2
      const cutCount = fallbackCount + 1
      const candidates = devnet.nodes.map((_, i) => i).filter((i) => i !== clockVictim)
      const cut = context.rng.pick(candidates, cutCount)
      const withFallback = cut.slice(0, fallbackCount)
      const singleUrl = cut.slice(fallbackCount)
      details.cut_nodes = cut
      details.cut_with_fallback = withFallback
      details.cut_single_url = singleUrl
      const newProxy = () => startRpcProxy({ upstream: chain.rpcUrl, maxLogRange: 1e9, maxRequestsPerSecond: Infinity })
      const proxies = await Promise.all(cut.map(newProxy))
      const fallbacks = await Promise.all(withFallback.map(newProxy))
      const stopProxies = registerCleanup(async () => {
        await Promise.all([...proxies, ...fallbacks].map((p) => p.stop()))
      })
      try {
        for (const [j, index] of cut.entries()) {
          const from = await chain.epoch()
          const fallback = fallbacks[j]
          const node = await restartNode(devnet, index, pids[index]!, {
            change: (args) => {
              const changed = withFlag(args, '--chain-rpc', proxies[j]!.url)
              return fallback === undefined ? changed : [...changed, '--chain-rpc-fallback', fallback.url]
            },
          })
          restarted.push(node)
          pids[index] = node.pid
          for (let e = from; e <= (await chain.epoch()); e++) unreachable[index]!.add(e)
        }
        // Cut at the start of an epoch, restore at the start of the epoch two later: two whole epochs without the chain.
        const start = (await chain.epoch()) + 1
        await chain.untilEpoch(start, 60_000)
        await Promise.all(proxies.map((p) => p.setDown(true)))
        context.log(`chain endpoint of nodes ${cut.join(', ')} cut at epoch ${start}`)
        await chain.untilEpoch(start + 2, 4 * EPOCH_SECONDS * 1_000)
        await Promise.all(proxies.map((p) => p.setDown(false)))
        const healed = await chain.epoch()
        context.log(`restored at epoch ${healed}`)
        // The epoch it came back in is not counted: the chain is there for the whole of it. A node with a fallback
        // could reach the chain all along: its misses in the outage are false.
        for (const index of singleUrl) for (let e = start; e < healed; e++) unreachable[index]!.add(e)
        details.outage_epochs = [start, healed]
        const duringOutage = await chain.accepted()
        details.proofs_during_outage = Object.fromEntries(
          cut.map((i) => [
            i,
            duringOutage.filter((p) => p.node === addresses[i] && p.epoch >= start && p.epoch < healed).length,
          ]),
        )
        for (const index of withFallback) {
          const proved = duringOutage.filter((p) => p.node === addresses[index] && p.epoch >= start && p.epoch < healed)
          if (proved.length === 0) {
            failures.push(`node ${index} proved nothing during the outage of its first endpoint despite its fallback`)
          }
        }
        // Three epochs more: the cut nodes prove again, and watchers report whatever was missed.
        await chain.untilEpoch(healed + 3, 6 * EPOCH_SECONDS * 1_000)
        const accepted = await chain.accepted()
        for (const index of cut) {
          const after = accepted.filter((p) => p.node === addresses[index] && p.epoch > healed)
          if (after.length === 0)
            failures.push(`node ${index} proved nothing in the 3 epochs after its chain came back`)
          if (restarted.find((p) => p.pid === pids[index])?.running() !== true) {
            failures.push(`node ${index} exited during its chain outage`)
          }
        }
        details.proofs_after_outage = Object.fromEntries(
          cut.map((i) => [i, accepted.filter((p) => p.node === addresses[i] && p.epoch > healed).length]),
        )
        details.rpc_requests_through_proxies = proxies.map((p) => p.records.length)
        details.rpc_requests_through_fallbacks = fallbacks.map((p) => p.records.length)
        // A node with a fallback keeps its slots: each file's slot it held is still its own, whole.
        for (const index of withFallback) {
          const peer = devnet.nodes[index]!.peerId
          const status = await devnet.status(files[0]!.capability!)
          const slot = status?.slots.find((s) => s.peerId === peer)
          if (slot === undefined) failures.push(`node ${index} lost its slot of ${files[0]!.name} despite its fallback`)
          else if (slot.held !== slot.pieces) {
            failures.push(`node ${index} holds ${slot.held} of ${slot.pieces} pieces of its slot of ${files[0]!.name}`)
          }
        }
      } finally {
        stopProxies()
        await Promise.all([...proxies, ...fallbacks].map((p) => p.stop()))
      }

      // Slashes: a miss in an epoch where its node could reach the chain is false.
      const missed = await chain.missed()
      const atConfirmation = confirmationEpochMisses(missed, await chain.confirmed())
      const expected = missed.filter((m) => unreachable[addresses.indexOf(m.node)]?.has(m.epoch) === true)
      const falseMisses = missed.filter((m) => !expected.includes(m))
      falseSlashes = falseMisses.filter((m) => (m.slashed ?? 0n) > 0n).length
      details.misses = {
        total: missed.length,
        expected_while_unreachable: expected.length,
        expected_slashed: expected.filter((m) => (m.slashed ?? 0n) > 0n).length,
        false: falseMisses.map((m) => ({
          node: addresses.indexOf(m.node),
          epoch: m.epoch,
          slashed: String(m.slashed),
          in_its_confirmation_epoch: atConfirmation.includes(m),
        })),
      }
      details.misses_of_fallback_nodes = missed.filter((m) => withFallback.some((i) => addresses[i] === m.node)).length
      if (falseSlashes > 0) failures.push(`${falseSlashes} slashes of nodes in epochs where they could reach the chain`)

      for (const file of files) {
        const got = await devnet.get(file.capability!)
        if (got.bytes?.equals(file.bytes) !== true) {
          lost++
          failures.push(`${file.name} read back wrong at the end: ${got.error ?? 'different bytes'}`)
        }
      }
    } finally {
      unregister()
      await Promise.all(restarted.map((p) => p.stop().catch(() => {})))
      await devnet.stop()
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
