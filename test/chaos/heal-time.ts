/**
 * Scenario 2, heal time: files are put, then holders are SIGKILLed one at a time; after each kill the time to
 * detection (a `cairn status` shows the victim's slot not alive) and to full redundancy (every file's n slots held in
 * full by n distinct live nodes) is measured. The full form runs at the devnet's own repair settings with its chain;
 * the goal is full redundancy at most 90 s after detection.
 */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { distribution, type PutOutcome, seconds, startChaosDevnet } from './chaos-devnet.ts'
import { FAST_REPAIR_ENV } from './mass-failure.ts'
import type { ChaosContext, Scenario } from './scenario.ts'

const GOAL_AFTER_DETECTION_S = 90

export const healTime: Scenario = {
  name: 'heal-time',
  number: 2,
  timeoutMs: { full: 20 * 60_000, quick: 120_000 },
  async run(context: ChaosContext) {
    const kills = context.quick ? 1 : 4
    const nodes = 6 + kills
    const failures: string[] = []
    const devnet = await startChaosDevnet({
      dir: join(context.workDir, 'devnet'),
      nodes,
      chain: !context.quick,
      env: context.quick ? FAST_REPAIR_ENV : {},
    })
    const detect: number[] = []
    const heal: number[] = []
    const afterDetection: number[] = []
    let lost = 0
    const files: PutOutcome[] = []
    try {
      const shapes: Array<[number, number]> = context.quick
        ? [[2, 6]]
        : [
            [1, 3],
            [2, 6],
          ]
      for (const [i, [k, n]] of shapes.entries()) {
        const put = await devnet.put(`heal-${i}`, context.rng.bytes(context.rng.int(200_000, 1_000_000)), k, n)
        if (!put.ok) throw new Error(`put ${put.name} failed before any fault: ${put.error}`)
        files.push(put)
      }
      for (let kill = 0; kill < kills && !context.signal.aborted; kill++) {
        // The victim: a live holder of a slot of the (2,6) file (so every kill costs a repair).
        const status = await devnet.status(files.at(-1)!.capability!)
        const holders = (status?.slots ?? []).map((s) => s.peerId)
        const candidates = devnet.nodes
          .map((_, i) => i)
          .filter((i) => !devnet.killed.has(i) && holders.includes(devnet.nodes[i]!.peerId))
        const victim = context.rng.pick(candidates, 1)[0]!
        const peer = devnet.nodes[victim]!.peerId
        const killedAt = Date.now()
        await devnet.kill(victim)
        let detectedAt: number | undefined
        const healedAt = new Map<string, number>()
        const deadline = killedAt + (context.quick ? 90_000 : 300_000)
        while (healedAt.size < files.length && Date.now() < deadline && !context.signal.aborted) {
          await Promise.all(
            files
              .filter((f) => !healedAt.has(f.name))
              .map(async (file) => {
                const st = await devnet.status(file.capability!)
                if (st === undefined) return
                const slot = st.slots.find((s) => s.peerId === peer)
                if (detectedAt === undefined && (slot === undefined || slot.state !== 'alive')) detectedAt = Date.now()
                if (devnet.fullyRedundant(st)) healedAt.set(file.name, Date.now())
              }),
          )
          if (healedAt.size < files.length) await sleep(500)
        }
        if (healedAt.size < files.length) {
          failures.push(
            `kill ${kill} (node ${victim}): not every file back to full redundancy within ${seconds(deadline - killedAt)} s`,
          )
          continue
        }
        const healed = Math.max(...healedAt.values())
        const detected = detectedAt ?? healed
        detect.push(seconds(detected - killedAt))
        heal.push(seconds(healed - killedAt))
        afterDetection.push(seconds(healed - detected))
        context.log(
          `kill ${kill} (node ${victim}): detected +${seconds(detected - killedAt)} s, full redundancy +${seconds(healed - killedAt)} s`,
        )
        if (healed - detected > GOAL_AFTER_DETECTION_S * 1000) {
          failures.push(
            `kill ${kill}: full redundancy ${seconds(healed - detected)} s after detection (goal ${GOAL_AFTER_DETECTION_S} s)`,
          )
        }
      }
      for (const file of files) {
        const got = await devnet.get(file.capability!)
        if (got.bytes === undefined || !got.bytes.equals(file.bytes)) {
          lost++
          failures.push(`${file.name} (${file.k},${file.n}) lost after the kills: ${got.error ?? 'different bytes'}`)
        }
      }
    } finally {
      await devnet.stop()
    }
    const healDistribution = distribution(heal)
    return {
      ok: failures.length === 0,
      runs: kills,
      failures,
      acknowledged_files: files.length,
      lost_files: lost,
      ...(healDistribution.max === null ? {} : { max_heal_s: healDistribution.max }),
      details: {
        nodes,
        chain: !context.quick,
        repair_settings: context.quick ? 'fast (quick form)' : 'devnet defaults',
        detect_s: distribution(detect),
        heal_after_kill_s: healDistribution,
        heal_after_detection_s: distribution(afterDetection),
        goal_after_detection_s: GOAL_AFTER_DETECTION_S,
      },
    }
  },
}
