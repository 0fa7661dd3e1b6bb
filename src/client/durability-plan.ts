/**
 * Turning "lose this with probability below 1 - D within Y years" into a redundancy (k, n): the cheapest storage cost
 * factor n / k whose loss probability under the durability model (durability-model.ts) meets the target, with n at
 * most the nodes of distinct operators available (one slot per operator) and the Market's MAX_SLOTS.
 */
import { InvalidArgumentError } from '../errors.ts'
import { MAX_SHARDS } from '../storage/index.ts'
import { estimateDurability, mttdlYears } from './durability-model.ts'

/** The Market's most slots per deal (`Market.MAX_SLOTS`). */
export const MAX_DEAL_SLOTS = 64
/**
 * Failures per node per year assumed when the network's history is too short to measure it: a node that is jailed,
 * slashed out or leaves loses its pieces for good. Conservative next to disk failure rates (1-2% a year), because a
 * node is a whole machine run by an independent operator.
 */
export const DEFAULT_NODE_FAILURES_PER_YEAR = 0.2
/** Hours from a node's failure to its pieces rebuilt elsewhere, when no repair was measured (detection included). */
export const DEFAULT_REPAIR_HOURS = 24

export interface PlanInput {
  /** The durability wanted: 1 - the loss probability allowed within `years` (e.g. 0.999999999). */
  durability: number
  years: number
  failuresPerYear: number
  repairHours: number
  /** The largest n possible: live nodes of distinct operators (capped at MAX_DEAL_SLOTS). */
  maxN: number
}

/** The plan: the chosen redundancy and what the model says of it. */
export interface RedundancyPlan {
  k: number
  n: number
  /** Bytes stored per byte of file: n / k. */
  costFactor: number
  lossProbability: number
  durability: number
  mttdlYears: number
  /** Whether the target is met; when not, the plan is the most durable redundancy possible. */
  met: boolean
  method: 'uniformization' | 'mttdl'
  /** Why the target is not met, when it is not. */
  note?: string
}

/**
 * The cheapest (k, n) meeting the durability target (ties: fewer nodes), or, when none does within `maxN`, the most
 * durable one possible (k = 1, n = maxN) with `met: false` and a note naming the shortfall.
 *
 * @example
 * ```ts
 * const plan = planRedundancy({ durability: 0.999999999, years: 1, failuresPerYear: 0.2, repairHours: 24, maxN: 12 })
 * // { k: ..., n: ..., costFactor: ..., lossProbability: <= 1e-9, met: true, ... }
 * ```
 */
export function planRedundancy(input: PlanInput): RedundancyPlan {
  const { durability, years, failuresPerYear, repairHours } = input
  if (!(durability > 0 && durability < 1)) {
    throw new InvalidArgumentError(
      `--durability must be a probability strictly between 0 and 1 (e.g. 0.999999999), got ${durability}`,
    )
  }
  const maxN = Math.min(input.maxN, MAX_DEAL_SLOTS, MAX_SHARDS)
  if (!Number.isInteger(maxN) || maxN < 2) {
    throw new InvalidArgumentError(
      `a redundancy needs at least 2 nodes of distinct operators, ${input.maxN} available: start more nodes`,
    )
  }
  const allowed = 1 - durability
  const candidates: Array<{ k: number; n: number }> = []
  for (let n = 2; n <= maxN; n++) for (let k = 1; k < n; k++) candidates.push({ k, n })
  candidates.sort((a, b) => a.n / a.k - b.n / b.k || a.n - b.n)
  const model = (k: number, n: number) => ({ k, n, failuresPerYear, repairHours, years })
  for (const { k, n } of candidates) {
    // Screen with the cheap approximation; confirm with the model's own estimate.
    const screen = -Math.expm1(-years / mttdlYears(model(k, n)))
    if (screen > allowed * 1.1) continue
    const estimate = estimateDurability(model(k, n))
    if (estimate.lossProbability <= allowed) return toPlan(k, n, estimate, true)
  }
  const best = estimateDurability(model(1, maxN))
  const plan = toPlan(1, maxN, best, false)
  plan.note = `cannot reach durability ${durability} with ${maxN} nodes of distinct operators: the best is ${maxN} copies (loss probability ${formatProbability(best.lossProbability)}); more nodes, a shorter --years or faster repair would`
  return plan
}

function toPlan(k: number, n: number, estimate: ReturnType<typeof estimateDurability>, met: boolean): RedundancyPlan {
  return {
    k,
    n,
    costFactor: n / k,
    lossProbability: estimate.lossProbability,
    durability: 1 - estimate.lossProbability,
    mttdlYears: estimate.mttdlYears,
    met,
    method: estimate.method,
  }
}

/** A probability for people: 3 significant digits, exponent form when small. */
export function formatProbability(p: number): string {
  if (p === 0) return '0'
  return p < 1e-3 ? p.toExponential(2) : p.toPrecision(3)
}
