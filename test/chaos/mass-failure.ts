/**
 * Scenario 1, mass failure mid-upload: in each run a third of the devnet's nodes are SIGKILLed at seeded random
 * moments while several (1,3) and (2,6) puts are in flight. Afterwards (once the survivors have repaired every file or
 * the heal deadline passed) every put that returned success must read back byte-equal, and every put that failed must
 * have said so (non-zero exit, a message, no stack trace). The time from the last kill that hit a file's holders to the
 * file's full redundancy (n slots on n distinct live nodes) is recorded as its heal time.
 */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type ChaosDevnet, distribution, type PutOutcome, seconds, startChaosDevnet } from './chaos-devnet.ts'
import type { ChaosContext, Scenario } from './scenario.ts'

/** The repair timings of the quick form (the e2e repair test's): a heal within seconds, not minutes. */
export const FAST_REPAIR_ENV = {
  CAIRN_REPAIR_CHECK_MS: '500',
  CAIRN_REPAIR_CONFIRM_MS: '2000',
  CAIRN_REPAIR_FALLBACK_MS: '8000',
  CAIRN_REPAIR_SCRUB_MS: '3000',
  CAIRN_REPAIR_PLACEMENT_REFRESH_MS: '5000',
}

const KiB = 1024

/** A message a user can act on: some text, and no JavaScript stack trace. */
export function saysWhy(error: string | undefined): boolean {
  return error !== undefined && error.trim().length > 0 && !/\n\s+at .+:\d+:\d+\)?/.test(error)
}

/** Polls the status of every acknowledged file until each is fully redundant; returns the time each reached it. */
export async function waitForHeal(
  devnet: ChaosDevnet,
  files: PutOutcome[],
  deadlineMs: number,
  signal: AbortSignal,
): Promise<Map<string, number>> {
  const healedAt = new Map<string, number>()
  const deadline = Date.now() + deadlineMs
  while (healedAt.size < files.length && Date.now() < deadline && !signal.aborted) {
    // Every file at once, so a slow `cairn status` does not add its time to the other files' figures.
    await Promise.all(
      files
        .filter((file) => !healedAt.has(file.name))
        .map(async (file) => {
          const status = await devnet.status(file.capability!)
          if (status !== undefined && devnet.fullyRedundant(status)) healedAt.set(file.name, Date.now())
        }),
    )
    if (healedAt.size < files.length) await sleep(1000)
  }
  return healedAt
}

export const massFailure: Scenario = {
  name: 'mass-failure',
  number: 1,
  timeoutMs: { full: 100 * 60_000, quick: 150_000 },
  async run(context: ChaosContext) {
    const runs = context.quick ? 1 : Number(process.env.CHAOS_MASS_FAILURE_RUNS ?? 20)
    const nodes = 9
    const victimsPerRun = Math.floor(nodes / 3)
    const failures: string[] = []
    let acknowledged = 0
    let lost = 0
    let failedPuts = 0
    let silentFailures = 0
    let killsMidUpload = 0
    let unhealed = 0
    const healTimes: number[] = []
    for (let run = 0; run < runs && !context.signal.aborted; run++) {
      const rng = context.rng.fork(`run-${run}`)
      const devnet = await startChaosDevnet({
        dir: join(context.workDir, `mass-${run}`),
        nodes,
        chain: !context.quick,
        env: context.quick ? FAST_REPAIR_ENV : {},
      })
      try {
        // Quick: one of each shape in flight; full: three of each.
        const each = context.quick ? 1 : 3
        const shapes: Array<[number, number]> = [
          ...Array.from({ length: each }, (): [number, number] => [1, 3]),
          ...Array.from({ length: each }, (): [number, number] => [2, 6]),
        ]
        const victims = rng.pick(
          devnet.nodes.map((_, i) => i),
          victimsPerRun,
        )
        const windowMs = context.quick ? 5_000 : 30_000
        const killAt = victims.map(() => rng.int(300, windowMs)).sort((a, b) => a - b)
        const started = Date.now()
        const pending = new Set<string>()
        const puts = shapes.map(async ([k, n], i) => {
          const name = `f${run}-${i}-k${k}n${n}`
          pending.add(name)
          const bytes = rng.bytes(rng.int(100 * KiB, context.quick ? 700 * KiB : 3 * 1024 * KiB))
          const outcome = await devnet.put(name, bytes, k, n)
          pending.delete(name)
          return outcome
        })
        const killTimes: number[] = []
        const kills = (async () => {
          for (const [i, victim] of victims.entries()) {
            const wait = started + killAt[i]! - Date.now()
            if (wait > 0) await sleep(wait)
            if (pending.size > 0) killsMidUpload++
            killTimes.push(Date.now())
            await devnet.kill(victim)
            context.log(
              `run ${run}: killed node ${victim} at +${seconds(Date.now() - started)} s (${pending.size} puts in flight)`,
            )
          }
        })()
        const outcomes = await Promise.all(puts)
        await kills
        const lastKill = Math.max(...killTimes)
        const ok = outcomes.filter((o) => o.ok)
        acknowledged += ok.length
        for (const failed of outcomes.filter((o) => !o.ok)) {
          failedPuts++
          context.log(
            `run ${run}: put ${failed.name} failed (exit ${failed.code}): ${failed.error?.split('\n').at(-1)}`,
          )
          if (!saysWhy(failed.error) || failed.code === 0) {
            silentFailures++
            failures.push(`run ${run}: put ${failed.name} failed without a clear message: ${failed.error}`)
          }
        }
        const healDeadline = context.quick ? 90_000 : 300_000
        const healedAt = await waitForHeal(devnet, ok, healDeadline, context.signal)
        for (const file of ok) {
          const at = healedAt.get(file.name)
          if (at === undefined) {
            unhealed++
            failures.push(
              `run ${run}: ${file.name} (${file.k},${file.n}) not back to full redundancy ${healDeadline / 1000} s after the last kill`,
            )
          } else healTimes.push(seconds(Math.max(0, at - lastKill)))
        }
        for (const file of ok) {
          const got = await devnet.get(file.capability!)
          if (got.bytes === undefined || !got.bytes.equals(file.bytes)) {
            lost++
            failures.push(
              `run ${run} (seed ${context.seed}): acknowledged ${file.name} (${file.k},${file.n}) ${got.bytes === undefined ? `unreadable: ${got.error}` : 'read back different bytes'}`,
            )
          }
        }
        context.log(
          `run ${run}: ${ok.length}/${outcomes.length} puts acknowledged, heal ${JSON.stringify(healTimes.slice(-ok.length))} s`,
        )
      } finally {
        await devnet.stop()
      }
    }
    const heal = distribution(healTimes)
    return {
      ok: lost === 0 && silentFailures === 0 && unhealed === 0,
      runs,
      failures,
      acknowledged_files: acknowledged,
      lost_files: lost,
      ...(heal.max === null ? {} : { max_heal_s: heal.max }),
      details: {
        nodes,
        killed_per_run: victimsPerRun,
        chain: !context.quick,
        failed_puts: failedPuts,
        failed_puts_without_message: silentFailures,
        kills_mid_upload: killsMidUpload,
        unhealed_files: unhealed,
        heal_after_last_kill_s: heal,
        repair_settings: context.quick ? 'fast (quick form)' : 'devnet defaults',
      },
    }
  },
}
