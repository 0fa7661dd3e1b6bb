/**
 * Scenario 9, disk full: one node's data folder is a small tmpfs the scenario mounts (root only; skipped, saying so,
 * otherwise). With a file already stored, the tmpfs is filled to the last byte. Then a (1,7) put, which needs every
 * node of the 7, must fail saying why, and (2,6) puts must succeed around the full node; the full node must stay up
 * and its earlier pieces intact (a read preferring it is byte-equal). Once the filler is removed, a (1,7) put must
 * succeed: the node took pieces again.
 */
import { execFile } from 'node:child_process'
import { mkdir, open, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { processExists } from '../e2e/devnet-fixture.ts'
import { registerCleanup, startChaosDevnet } from './chaos-devnet.ts'
import { FAST_REPAIR_ENV, saysWhy } from './mass-failure.ts'
import type { ChaosContext, Scenario } from './scenario.ts'

const run = promisify(execFile)
const MiB = 1024 * 1024

/** Writes zeros to `path` until the file system says ENOSPC; returns the bytes written. */
async function fill(path: string): Promise<number> {
  let written = 0
  const handle = await open(path, 'w')
  try {
    for (const size of [MiB, 64 * 1024, 4096, 512, 1]) {
      const block = Buffer.alloc(size)
      while (true) {
        try {
          await handle.write(block)
          written += size
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break
          throw err
        }
      }
    }
  } finally {
    await handle.close()
  }
  return written
}

export const diskFull: Scenario = {
  name: 'disk-full',
  number: 9,
  timeoutMs: { full: 10 * 60_000, quick: 150_000 },
  async run(context: ChaosContext) {
    if (process.getuid?.() !== 0) {
      return { ok: true, runs: 0, failures: [], details: { skipped: 'mounting a tmpfs needs root' } }
    }
    const failures: string[] = []
    const dir = join(context.workDir, 'devnet')
    const nodes = 7
    const victim = context.rng.int(1, nodes - 1)
    const mountPoint = join(dir, `node-${victim}`)
    await mkdir(mountPoint, { recursive: true, mode: 0o700 })
    await run('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', mountPoint])
    // Unmounted even when the run is interrupted (the runner's SIGINT/SIGTERM handler runs registered clean-ups).
    const unmount = async () => {
      await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]).catch(() => {}))
    }
    const unregister = registerCleanup(unmount)
    const details: Record<string, unknown> = { victim, tmpfs: '16m', chain: !context.quick }
    let acknowledged = 0
    let lost = 0
    try {
      const devnet = await startChaosDevnet({
        dir,
        nodes,
        chain: !context.quick,
        env: context.quick ? FAST_REPAIR_ENV : {},
      })
      try {
        const victimPeer = devnet.nodes[victim]!.peerId
        const before = await devnet.put('before-full', context.rng.bytes(400_000), 1, 7)
        if (!before.ok) throw new Error(`the (1,7) put before the disk filled failed: ${before.error}`)
        acknowledged++
        const filler = join(mountPoint, 'filler')
        details.filler_bytes = await fill(filler)
        context.log(`node ${victim}'s disk is full (${details.filler_bytes} bytes of filler)`)
        // Every node needed: the full one must refuse, and the put must say why.
        const refused = await devnet.put('while-full-17', context.rng.bytes(300_000), 1, 7)
        details.put_1_7_while_full = refused.ok ? 'succeeded' : refused.error?.split('\n').at(-1)
        if (refused.ok) acknowledged++
        else if (!saysWhy(refused.error))
          failures.push(`a (1,7) put on a full disk failed without a clear message: ${refused.error}`)
        const around: string[] = []
        const files = [before]
        if (refused.ok) files.push(refused)
        for (let i = 0; i < (context.quick ? 1 : 2); i++) {
          const put = await devnet.put(`while-full-${i}`, context.rng.bytes(300_000), 2, 6)
          if (!put.ok) failures.push(`a (2,6) put with 6 other nodes free failed: ${put.error}`)
          else {
            acknowledged++
            files.push(put)
          }
          around.push(...(put.error ?? '').split('\n').filter((l) => l.startsWith('warning:')))
        }
        details.victim_refusals_seen = around.filter((l) => l.includes(victimPeer.slice(-6)) || l.includes('space'))
        if (!processExists(devnet.nodes[victim]!.pid)) failures.push(`node ${victim} exited when its disk filled`)
        const preferred = await devnet.run([
          'get',
          before.capability!,
          '-o',
          join(dir, 'inputs', 'pref'),
          '--prefer',
          victimPeer,
        ])
        if (preferred.code !== 0) failures.push(`a read preferring the full node failed: ${preferred.stderr.trim()}`)
        await rm(filler)
        context.log('filler removed')
        const after = await devnet.put('after-free', context.rng.bytes(300_000), 1, 7)
        details.put_1_7_after_free = after.ok ? 'succeeded' : after.error?.split('\n').at(-1)
        if (!after.ok) failures.push(`once space was free, a (1,7) put still failed: ${after.error}`)
        else {
          acknowledged++
          files.push(after)
        }
        for (const file of files) {
          const got = await devnet.get(file.capability!)
          if (got.bytes?.equals(file.bytes) !== true) {
            lost++
            failures.push(`${file.name} read back wrong: ${got.error ?? 'different bytes'}`)
          }
        }
        await writeFile(join(dir, 'inputs', 'done'), '')
      } finally {
        await devnet.stop()
      }
    } finally {
      unregister()
      await unmount()
    }
    return { ok: failures.length === 0, runs: 1, failures, acknowledged_files: acknowledged, lost_files: lost, details }
  },
}
