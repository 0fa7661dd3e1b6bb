/**
 * `npm run chaos [-- --quick] [--seed N] [--minutes M] [NAME...]`: the chaos suite of issue 16. `soak` names the
 * churn soak (scenario 10) and `--minutes M` sets its length. Runs each scenario built (or the
 * ones named) against real node processes, prints one JSON line per scenario on stdout and a summary JSON line last;
 * progress goes to stderr. Every child process inherits TMPDIR set to a folder of this run (the canary scenario scans
 * it), and every devnet started is stopped and every folder removed at the end, on failure and on SIGINT/SIGTERM.
 * Exit code 0 when every scenario met its goals, 1 otherwise, 2 on a bad command line.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { stopEveryDevnet } from './chaos-devnet.ts'
import { churnSoak, setSoakMinutes } from './churn-soak.ts'
import { createRandom } from './random.ts'
import { type ScenarioResult, summarize } from './scenario.ts'
import { BUILT_SCENARIOS, NOT_BUILT } from './scenarios.ts'

const USAGE = 'usage: npm run chaos -- [--quick] [--seed N] [--minutes M] [--keep] [SCENARIO...]'

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse()
  } catch (err) {
    process.stderr.write(`chaos: ${(err as Error).message}\n${USAGE}\n`)
    return 2
  }
  const { values } = parsed
  // `soak` is the churn soak's short name (`npm run chaos -- soak --minutes 30`).
  const positionals = parsed.positionals.map((name) => (name === 'soak' ? churnSoak.name : name))
  if (values.minutes !== undefined) {
    const minutes = Number(values.minutes)
    if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
      process.stderr.write(`chaos: --minutes must be a number of minutes above 0 and at most 1440\n${USAGE}\n`)
      return 2
    }
    setSoakMinutes(minutes)
  }
  const quick = values.quick === true
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    process.stderr.write(`chaos: --seed must be a whole number from 0 to 4294967295\n${USAGE}\n`)
    return 2
  }
  const unknown = positionals.filter((name) => !BUILT_SCENARIOS.some((s) => s.name === name))
  if (unknown.length > 0) {
    const names = BUILT_SCENARIOS.map((s) => s.name).join(', ')
    process.stderr.write(`chaos: no scenario named ${unknown.join(', ')} (built: ${names})\n`)
    return 2
  }
  const selected =
    positionals.length === 0 ? BUILT_SCENARIOS : BUILT_SCENARIOS.filter((s) => positionals.includes(s.name))
  const root = await mkdtemp(join(tmpdir(), 'cairn-chaos-'))
  // Every process started from here on writes its temporary files under the run's folder.
  process.env.TMPDIR = join(root, 'tmp')
  await mkdir(process.env.TMPDIR, { recursive: true })
  const interrupted = new AbortController()
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`chaos: ${signal}: stopping every process and removing ${root}\n`)
    interrupted.abort()
    void stopEveryDevnet().finally(() => rm(root, { recursive: true, force: true }).finally(() => process.exit(130)))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const started = Date.now()
  const results: ScenarioResult[] = []
  const rng = createRandom(seed)
  process.stderr.write(
    `chaos: seed ${seed}${quick ? ' (quick)' : ''}, scenarios ${selected.map((s) => s.name).join(', ')}\n`,
  )
  try {
    for (const scenario of selected) {
      if (interrupted.signal.aborted) break
      const began = Date.now()
      const limit = quick ? scenario.timeoutMs.quick : scenario.timeoutMs.full
      const signal = AbortSignal.any([interrupted.signal, AbortSignal.timeout(limit)])
      const workDir = join(root, scenario.name)
      const context = {
        seed,
        quick,
        rng: rng.fork(scenario.name),
        workDir,
        signal,
        log: (message: string) =>
          process.stderr.write(`# ${((Date.now() - started) / 1000).toFixed(1)} s ${scenario.name}: ${message}\n`),
      }
      let result: ScenarioResult
      try {
        const outcome = await scenario.run(context)
        result = { scenario: scenario.name, seed, seconds: Math.round((Date.now() - began) / 1000), ...outcome }
        if (signal.aborted && !interrupted.signal.aborted) {
          result.ok = false
          result.failures.push(`the scenario hit its time bound of ${limit / 1000} s`)
        }
      } catch (err) {
        result = {
          scenario: scenario.name,
          seed,
          seconds: Math.round((Date.now() - began) / 1000),
          ok: false,
          runs: 0,
          failures: [`the scenario could not run: ${(err as Error).stack ?? String(err)}`],
        }
      } finally {
        await stopEveryDevnet()
        if (values.keep !== true) await rm(workDir, { recursive: true, force: true })
      }
      results.push(result)
      process.stdout.write(`${JSON.stringify(result)}\n`)
    }
  } finally {
    await stopEveryDevnet()
    if (values.keep !== true) await rm(root, { recursive: true, force: true })
    else process.stderr.write(`chaos: kept ${root}\n`)
  }
  const summary = summarize(results, {
    seed,
    quick,
    notBuilt: NOT_BUILT,
    seconds: Math.round((Date.now() - started) / 1000),
  })
  process.stdout.write(`${JSON.stringify(summary)}\n`)
  return summary.ok ? 0 : 1

  function parse() {
    return parseArgs({
      options: {
        quick: { type: 'boolean' },
        seed: { type: 'string' },
        minutes: { type: 'string' },
        keep: { type: 'boolean' },
      },
      allowPositionals: true,
    })
  }
}

process.exitCode = await main()
