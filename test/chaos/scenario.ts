/**
 * The contract of a chaos scenario: a name, a full and a quick form, and one result line of figures. The summary
 * folds the results of the scenarios that ran into the fields issue 16 asks for; a field no scenario that ran can
 * measure stays null.
 */
import type { Random } from './random.ts'

/** What a scenario gets from the runner. */
export interface ChaosContext {
  seed: number
  /** The short form (CI, inside `npm test`). */
  quick: boolean
  rng: Random
  /** A folder of this run (under the runner's temp root, removed at the end). */
  workDir: string
  /** A progress line on stderr (stdout carries only the JSON lines). */
  log(message: string): void
  /** Aborted when the scenario's time is up or the run is interrupted. */
  signal: AbortSignal
}

/** The figures a scenario can contribute to the summary (null or absent: not measured by it). */
export interface SummaryFigures {
  acknowledged_files?: number
  lost_files?: number
  false_slashes?: number
  max_heal_s?: number
  honest_ok_ratio?: number
  plaintext_hits?: number
  crash_points?: number
}

/** One scenario's JSON line. */
export interface ScenarioResult extends SummaryFigures {
  scenario: string
  /** True when every goal of the scenario was met. */
  ok: boolean
  runs: number
  seed: number
  seconds: number
  /** Goals missed or defects seen, each a sentence naming what a user would see. */
  failures: string[]
  /** Scenario-specific figures (distributions, counts). */
  details?: Record<string, unknown>
}

/** A chaos scenario. */
export interface Scenario {
  /** Its name on the command line and in the JSON line (`mass-failure`, `heal-time`...). */
  name: string
  /** Issue 16's number of the scenario. */
  number: number
  /** Longest run in the full and quick forms (ms); the runner aborts it past that. */
  timeoutMs: { full: number; quick: number }
  run(context: ChaosContext): Promise<Omit<ScenarioResult, 'scenario' | 'seed' | 'seconds'>>
}

/** The run's last JSON line. */
export interface ChaosSummary {
  summary: true
  ok: boolean
  seed: number
  quick: boolean
  acknowledged_files: number | null
  lost_files: number | null
  false_slashes: number | null
  max_heal_s: number | null
  honest_ok_ratio: number | null
  plaintext_hits: number | null
  crash_points: number | null
  scenarios_run: string[]
  scenarios_failed: string[]
  scenarios_not_built: string[]
  seconds: number
}

const SUMS = ['acknowledged_files', 'lost_files', 'false_slashes', 'plaintext_hits', 'crash_points'] as const

/** Folds the results into the summary line: counts add up, `max_heal_s` is the largest, the ratio the smallest. */
export function summarize(
  results: ScenarioResult[],
  init: { seed: number; quick: boolean; notBuilt: string[]; seconds: number },
): ChaosSummary {
  const sum = (key: (typeof SUMS)[number]) => {
    const values = results.map((r) => r[key]).filter((v): v is number => typeof v === 'number')
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0)
  }
  const pick = (key: 'max_heal_s' | 'honest_ok_ratio', fold: (...v: number[]) => number) => {
    const values = results.map((r) => r[key]).filter((v): v is number => typeof v === 'number')
    return values.length === 0 ? null : fold(...values)
  }
  const failed = results.filter((r) => !r.ok).map((r) => r.scenario)
  return {
    summary: true,
    ok: failed.length === 0,
    seed: init.seed,
    quick: init.quick,
    acknowledged_files: sum('acknowledged_files'),
    lost_files: sum('lost_files'),
    false_slashes: sum('false_slashes'),
    max_heal_s: pick('max_heal_s', Math.max),
    honest_ok_ratio: pick('honest_ok_ratio', Math.min),
    plaintext_hits: sum('plaintext_hits'),
    crash_points: sum('crash_points'),
    scenarios_run: results.map((r) => r.scenario),
    scenarios_failed: failed,
    scenarios_not_built: init.notBuilt,
    seconds: init.seconds,
  }
}
