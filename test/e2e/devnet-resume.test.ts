/**
 * End to end: a devnet with its chain is stopped (SIGTERM) and started again on the same folder after more than
 * `maxMisses` epochs of wall time. The stopped time never happened on the devchain: every slot is still active with
 * the same holder, no proof is counted missed, no node is slashed or jailed, the nodes go on proving and the file
 * reads back.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { DealView } from '../../src/cli/user-deals.ts'
import { type DevnetCli, devnetCli, type LongRunning, startCairn, stopAll } from './devnet-fixture.ts'

/** Short epochs, but long enough that a healthy node on a loaded machine proves every one of them. */
const EPOCH_SECONDS = 8
/** Wall time the devnet stays stopped: more epochs than `maxMisses` (3), so a running clock opens every slot. */
const DOWN_EPOCHS = 4

/** The chain's view of a node in `cairn nodes --json`. */
interface NodeJson {
  peerId: string
  chain?: { account: string; status: string; stake: string; missedProofs: number }
}

describe('resuming a stopped devnet resumes its deals', { timeout: 240_000 }, () => {
  let dir: string
  let devnet: LongRunning | undefined
  let cli: DevnetCli
  const bytes = randomBytes(100_000)
  let capability = ''
  let dealsBefore: DealView[] = []
  let nodesBefore: NodeJson[] = []

  const start = async () => {
    devnet = startCairn([
      'devnet',
      '--dir',
      dir,
      '--nodes',
      '4',
      '--heartbeat-ms',
      '500',
      '--epoch-seconds',
      String(EPOCH_SECONDS),
      '--no-gateway',
    ])
    await devnet.waitForLine((l) => l.startsWith('devnet ready'), 120_000)
  }
  const deals = () => cli.json<DealView[]>(['deals', '--json'])
  const nodes = () => cli.json<NodeJson[]>(['nodes', '--json'])
  const slots = (list: DealView[]) => list.flatMap((d) => d.slots)

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-e2e-devnet-resume-'))
    cli = devnetCli(dir)
    await start()
  })
  after(async () => {
    await devnet?.stop('SIGTERM', 60_000).catch(() => {})
    // A devnet that had to be SIGKILLed leaves its nodes and anvil: stop those still serving this folder.
    await stopAll(leftProcesses(dir)).catch(() => {})
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('a put opens a deal whose slots are all proven', async () => {
    const path = join(dir, 'file')
    await writeFile(path, bytes)
    const put = JSON.parse(await cli.ok(['put', path, '--duration', '200', '--json'])) as { capability: string }
    capability = put.capability
    const deadline = Date.now() + 60_000
    while (true) {
      dealsBefore = await deals()
      const all = slots(dealsBefore)
      if (all.length > 0 && all.every((s) => s.state === 'active' && s.proofsMade >= 1)) break
      assert.ok(Date.now() < deadline, `slots not all proven: ${JSON.stringify(all)}`)
      await sleep(1_000)
    }
    nodesBefore = await nodes()
    assert.equal(nodesBefore.length, 4)
    for (const node of nodesBefore) assert.equal(node.chain?.status, 'active', JSON.stringify(node))
  })

  it('after a SIGTERM and several epochs of wall time, a restart finds every slot active and every node unpunished', async () => {
    dealsBefore = await deals()
    nodesBefore = await nodes()
    await devnet!.stop('SIGTERM', 60_000)
    assert.equal(devnet!.child.exitCode, 0)
    devnet = undefined
    await sleep(DOWN_EPOCHS * EPOCH_SECONDS * 1_000)
    await start()

    const before = new Map(slots(dealsBefore).map((s, i) => [i, s]))
    const missedBefore = new Map(nodesBefore.map((n) => [n.peerId, n.chain?.missedProofs ?? 0]))
    // The watchers would report the stopped epochs at once; watch until every holder proved two more epochs.
    const deadline = Date.now() + 5 * EPOCH_SECONDS * 1_000
    let grown = false
    while (!grown) {
      const now = slots(await deals())
      assert.equal(now.length, before.size)
      for (const [i, slot] of now.entries()) {
        const was = before.get(i)!
        assert.equal(slot.state, 'active', `slot ${i} after the restart: ${JSON.stringify(slot)}`)
        assert.equal(slot.holder, was.holder, `slot ${i} changed holder`)
        assert.equal(slot.proofsMissed, was.proofsMissed, `slot ${i} was counted missed: ${JSON.stringify(slot)}`)
      }
      for (const node of await nodes()) {
        assert.equal(node.chain?.status, 'active', `node jailed after the restart: ${JSON.stringify(node)}`)
        assert.equal(node.chain?.missedProofs, missedBefore.get(node.peerId), `node slashed: ${JSON.stringify(node)}`)
      }
      grown = now.every((s, i) => s.proofsMade >= before.get(i)!.proofsMade + 2)
      assert.ok(
        Date.now() < deadline || grown,
        `proofs did not go on: ${JSON.stringify(now.map((s) => s.proofsMade))} from ${JSON.stringify([...before.values()].map((s) => s.proofsMade))}`,
      )
      await sleep(1_000)
    }
    const stakes = new Map(nodesBefore.map((n) => [n.peerId, n.chain?.stake]))
    for (const node of await nodes()) assert.equal(node.chain?.stake, stakes.get(node.peerId), node.peerId)
  })

  it('the file reads back after the restart', async () => {
    const { bytes: got } = await cli.getBytes(capability)
    assert.ok(got.equals(bytes))
  })
})

/** Node and anvil processes whose command line names `dir` (left behind when the devnet itself was SIGKILLed). */
function leftProcesses(dir: string): number[] {
  const pids: number[] = []
  const candidates: number[] = []
  try {
    const state = JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8')) as { nodes: Array<{ pid: number }> }
    candidates.push(...state.nodes.map((n) => n.pid))
  } catch {}
  try {
    candidates.push(Number.parseInt(readFileSync(join(dir, 'chain', 'anvil.pid'), 'utf8'), 10))
  } catch {}
  for (const pid of candidates) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) pids.push(pid)
    } catch {}
  }
  return pids
}
