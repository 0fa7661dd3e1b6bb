/**
 * End to end: self-healing without the owner on a real 7-node devnet (separate processes on 127.0.0.1), driven through
 * the `cairn` CLI like a user. The owner (the CLI) only reads; the nodes repair on their own.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { FileStatus } from '../../src/client/index.ts'
import {
  decodeManifest,
  type Manifest,
  manifestPieceCid,
  parseCapability,
  slotPieces,
} from '../../src/storage/index.ts'
import {
  type DevnetCli,
  type DevnetJson,
  devnetCli,
  killAndWait,
  type LongRunning,
  readDevnetJson,
  startCairn,
  stopAll,
  waitFor,
} from './devnet-fixture.ts'

const NODES = 7
const MiB = 1024 * 1024
const REPAIR_ENV = {
  CAIRN_REPAIR_CHECK_MS: '500',
  CAIRN_REPAIR_CONFIRM_MS: '1000',
  CAIRN_REPAIR_FALLBACK_MS: '8000',
  CAIRN_REPAIR_SCRUB_MS: '1500',
}

interface RepairLogLine {
  at: number
  type: string
  slot?: number
  newHolder?: string
  cid?: string
  manifestCid?: string
}

describe('self-healing without the owner', { timeout: 240_000 }, () => {
  let dir: string
  let devnet: LongRunning
  let state: DevnetJson
  let cli: DevnetCli
  let holdFile: string
  const killed = new Set<string>()
  const files = new Map<string, { bytes: Uint8Array; capability: string }>()

  const status = (capability: string) => cli.status(capability)
  const getBytes = (capability: string, extraArgs: string[] = []) => cli.getBytes(capability, extraArgs)

  const put = async (name: string, size: number, k: number, n: number) => {
    const bytes = randomBytes(size)
    const path = join(dir, name)
    await writeFile(path, bytes)
    const args = ['put', path, '--json', '--k', String(k), '--n', String(n), '--segment-size', '128KiB']
    const { capability } = await cli.json<{ capability: string }>(args)
    files.set(name, { bytes, capability })
    return capability
  }

  const nodeOf = (peerId: string) => state.nodes.find((n) => n.peerId === peerId)!

  const repairLog = async (peerId: string): Promise<RepairLogLine[]> => {
    const text = await readFile(join(nodeOf(peerId).dataDir, 'repair.jsonl'), 'utf8').catch(() => '')
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as RepairLogLine)
  }

  /**
   * SIGKILLs the holder of `slot`; the file must stay readable until another node serves the slot. With `watch`, a
   * `cairn status --watch --json` runs from the kill on: it must show the repair running, then exit once healthy. The
   * nodes hold every slot repair before its last piece until `holdFile` exists (`faults.repairHoldFile`), and the test
   * creates it only once the watcher has printed the repair: no race between the repair and the watcher. A watcher
   * whose refreshes all came before the failure detector fired saw a healthy file and exited at once: another is
   * started then, until one sees the slot lost.
   */
  const killAndWatchRepair = async (name: string, slot: number, watch = false) => {
    const { capability } = files.get(name)!
    const before = await status(capability)
    assert.equal(before.slotsAlive, before.n, JSON.stringify(before))
    assert.equal(before.segmentsReadable, before.segments)
    assert.deepEqual(before.repairs, [])
    const victim = before.slots[slot]!.peerId!
    const holdersBefore = new Set(before.slots.map((s) => s.peerId))
    if (watch) await rm(holdFile, { force: true })
    else await writeFile(holdFile, '')
    const killedAt = Date.now()
    await killAndWait(nodeOf(victim).pid)
    killed.add(victim)
    let watcher: LongRunning | undefined
    let repairDone = false
    const showsRepair = (l: string) => (JSON.parse(l) as FileStatus).repairs.some((r) => r.slot === slot)
    const watching = (async () => {
      while (watch && !repairDone) {
        watcher = startCairn(['status', capability, '--watch', '--json'], { CAIRN_DEVNET: dir })
        const current = watcher
        const { child } = current
        await waitFor(
          async () => {
            if (current.lines.some(showsRepair)) await writeFile(holdFile, '')
            return child.exitCode === null && child.signalCode === null ? undefined : true
          },
          90_000,
          '`cairn status --watch` to exit',
        )
        if (current.lines.some((l) => !healthy(JSON.parse(l) as FileStatus))) return
      }
    })()
    const repaired = repairedAfterKill(name, slot, killedAt, holdersBefore).finally(() => {
      repairDone = true
    })
    repaired.catch(() => {}) // awaited below; a failure meanwhile is not an unhandled rejection
    watching.catch(() => {})
    // However the watchers fare, the repair is released in time for the 60 s deadline to be the failure shown.
    const release = setTimeout(() => void writeFile(holdFile, '').catch(() => {}), 40_000)
    try {
      const result = await repaired
      await watching
      if (watcher !== undefined) {
        const { child } = watcher
        await waitFor(
          async () => (child.exitCode === null ? undefined : true),
          30_000,
          '`cairn status --watch` to exit once the file is fully healthy',
        )
        assert.equal(watcher.child.exitCode, 0, watcher.stderr.join(''))
        const seen = watcher.lines.map((l) => JSON.parse(l) as FileStatus)
        const during = seen.find((st) => st.repairs.some((r) => r.slot === slot))
        assert.ok(during !== undefined, `no refresh showed the repair: ${watcher.lines.join('\n')}`)
        const repair = during.repairs.find((r) => r.slot === slot)!
        assert.equal(repair.to, result.newHolder, 'the repair ran onto the node that now holds the slot')
        assert.ok(holdersBefore.has(repair.from) && repair.from !== victim, 'a surviving holder repaired the slot')
        assert.ok(repair.done <= repair.pieces && repair.pieces === during.segments, JSON.stringify(repair))
        assert.ok(repair.startedAt >= killedAt - 1000 && repair.startedAt <= Date.now(), JSON.stringify(repair))
        assert.deepEqual(during.slots[slot]!.repair, repair)
        const last = seen.at(-1)!
        assert.equal(last.slotsAlive, last.n)
        assert.equal(last.segmentsReadable, last.segments)
        assert.deepEqual(last.repairs, [])
        // A plain `cairn status --json` afterwards agrees: n/n slots alive, every segment readable, no repair.
        const now = await status(capability)
        assert.deepEqual([now.slotsAlive, now.segmentsReadable, now.repairs], [now.n, now.segments, []])
      }
      return result
    } finally {
      clearTimeout(release)
      await writeFile(holdFile, '')
      await watcher?.stop('SIGINT')
    }
  }

  /** What `cairn status --watch` waits for: n/n slots alive and no repair running. */
  const healthy = (st: FileStatus) => st.slotsAlive === st.n && st.repairs.length === 0

  const repairedAfterKill = async (name: string, slot: number, killedAt: number, holdersBefore: Set<string | null>) => {
    const { capability, bytes } = files.get(name)!
    let reads = 0
    const repaired = await waitFor(
      async () => {
        const got = await getBytes(capability)
        assert.ok(
          Buffer.compare(got.bytes, bytes) === 0,
          `${name} unreadable ${Date.now() - killedAt} ms after the kill`,
        )
        reads++
        const now = await status(capability)
        const peers = new Set(now.slots.map((s) => s.peerId))
        const healthy = now.slots.every(
          (s) => s.peerId !== null && !killed.has(s.peerId) && s.state === 'alive' && s.held === s.pieces,
        )
        return healthy && peers.size === now.slots.length ? now : undefined
      },
      60_000,
      `another node to hold slot ${slot} of ${name} within 60 s of the kill (full redundancy)`,
    )
    const seconds = (Date.now() - killedAt) / 1000
    const fresh = repaired.slots.map((s) => s.peerId!).filter((p) => !holdersBefore.has(p))
    assert.equal(fresh.length, 1, `exactly one new holder: ${JSON.stringify(repaired.slots)}`)
    const newHolder = fresh[0]!
    // For k > 1 each slot is distinct data: the new node holds exactly the lost slot.
    if (name === 'f26') assert.equal(repaired.slots[slot]!.peerId, newHolder)
    assert.ok(seconds < 60, `repaired in ${seconds} s`)
    assert.ok(reads >= 1)
    assert.equal(repaired.readable, true)
    // The new holder serves the slot: a read that prefers it gets the file intact.
    const got = await getBytes(capability, ['--prefer', newHolder])
    assert.ok(Buffer.compare(got.bytes, bytes) === 0)
    // The chain seam (onSlotRepaired) ran on the new holder.
    const { manifestCid } = parseCapability(capability)
    const log = await repairLog(newHolder)
    assert.ok(
      log.some(
        (l) => l.type === 'repair:adopted' && l.manifestCid === manifestCid.toString() && l.newHolder === newHolder,
      ),
      `no repair:adopted on ${newHolder}: ${JSON.stringify(log)}`,
    )
    return { newHolder, seconds }
  }

  const manifestOn = async (dataDir: string, capability: string): Promise<Manifest> => {
    const { manifestCid } = parseCapability(capability)
    const path = await piecePath(dataDir, manifestPieceCid(manifestCid).toString())
    return decodeManifest(await readFile(path!), manifestCid)
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-repair-'))
    cli = devnetCli(dir)
    holdFile = join(dir, 'release-repairs')
    await writeFile(holdFile, '')
    devnet = startCairn(
      ['devnet', '--dir', dir, '--nodes', String(NODES), '--heartbeat-ms', '500', '--no-chain', '--no-gateway'],
      { ...REPAIR_ENV, CAIRN_FAULT_REPAIR_HOLD_FILE: holdFile },
    )
    await devnet.waitForLine((l) => l.startsWith('devnet ready'), 120_000)
    state = await readDevnetJson(dir)
    await put('f26', MiB + 7, 2, 6)
    await put('f13', 300_000, 1, 3)
  })

  after(async () => {
    await devnet?.stop('SIGTERM', 30_000)
    await stopAll((state?.nodes ?? []).map((n) => n.pid))
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('a (2, 6) slot whose holder is SIGKILLed moves to a new node within 60 s, readable throughout', async () => {
    await killAndWatchRepair('f26', 0, true)
  })

  it('rebuilds a deleted piece and a corrupted piece on a live holder from the others', async () => {
    const { capability, bytes } = files.get('f26')!
    const st = await status(capability)
    const slot = st.slots.findIndex((s) => s.state === 'alive' && s.peerId !== null && !killed.has(s.peerId))
    const holder = st.slots[slot]!.peerId!
    const { dataDir } = nodeOf(holder)
    const manifest = await manifestOn(dataDir, capability)
    const [first, second] = slotPieces(manifest, slot).slice(1, 3).map(String)
    const deleted = (await piecePath(dataDir, first!))!
    const corrupted = (await piecePath(dataDir, second!))!
    const good = await readFile(corrupted)
    await unlink(deleted)
    const bad = Buffer.from(good)
    bad[10] = bad[10]! ^ 0xff
    await writeFile(corrupted, bad)
    // A read that prefers the damaged holder gets the file intact and no corrupted-piece warning: the holder rebuilt
    // the piece from the other slots before serving it.
    const got = await getBytes(capability, ['--prefer', holder])
    assert.ok(Buffer.compare(got.bytes, bytes) === 0)
    // The deleted piece comes back through the scrub (or the read), with the right bytes.
    await waitFor(
      async () => ((await piecePath(dataDir, first!)) === undefined ? undefined : true),
      20_000,
      'the deleted piece to be rebuilt',
    )
    const back = await readFile((await piecePath(dataDir, second!))!)
    assert.ok(Buffer.compare(back, good) === 0, 'the corrupted piece was rewritten with the original bytes')
    const healed = (await repairLog(holder)).filter((l) => l.type === 'repair:piece-healed').map((l) => l.cid)
    assert.ok(healed.includes(first!) && healed.includes(second!), JSON.stringify(healed))
  })

  it('a (1, 3) file survives its holders SIGKILLed one after another (n - k = 2), each slot rebuilt', async () => {
    const { capability, bytes } = files.get('f13')!
    const st = await status(capability)
    const live = st.slots.filter((s) => s.peerId !== null && !killed.has(s.peerId) && s.state === 'alive')
    assert.ok(live.length >= 2, JSON.stringify(st))
    await killAndWatchRepair('f13', live[0]!.index)
    const again = await status(capability)
    const next = again.slots.find((s) => s.index !== live[0]!.index && s.state === 'alive')!
    await killAndWatchRepair('f13', next.index)
    const final = await status(capability)
    assert.equal(final.slots.filter((s) => s.state === 'alive' && s.held === s.pieces).length, 3)
    assert.ok(Buffer.compare((await getBytes(capability)).bytes, bytes) === 0)
  })
})

async function piecePath(dataDir: string, cid: string): Promise<string | undefined> {
  const entries = await readdir(join(dataDir, 'pieces'), { recursive: true })
  const hit = entries.find((e) => e.endsWith(cid) && !e.includes('corrupt'))
  return hit === undefined ? undefined : join(dataDir, 'pieces', hit)
}
