/**
 * The durability model behind `cairn plan` and `cairn put --durability`: one stripe (a segment's n pieces, each on its
 * own node) is a birth-death Markov chain on the number i of pieces alive. Each alive piece's node fails (its pieces
 * are lost for good: a jailed, slashed-out or departed node) at rate lambda; each missing piece is rebuilt onto a new
 * node at rate mu (independently: Cairn repairs slots in parallel, one repairer per slot), so from state i pieces are
 * lost at rate i x lambda and rebuilt at rate (n - i) x mu. The file is lost when fewer than k pieces remain (state
 * k - 1 absorbs). The loss probability over a time T is the absorption probability by T, computed exactly by
 * uniformization when that is cheap, else as 1 - exp(-T / MTTDL) with the mean time to data loss solved exactly
 * (the standard approximation, accurate when repairs are much faster than T, which is where uniformization is costly).
 */
import { InvalidArgumentError } from '../errors.ts'

/** Hours in a year (365 days): rates are per year. */
export const HOURS_PER_YEAR = 8_760

/** The inputs of the model, rates per year. */
export interface DurabilityModelInput {
  /** Pieces stored (one per node). */
  n: number
  /** Pieces needed to read (loss when fewer remain). */
  k: number
  /** Failures per node per year (lambda). */
  failuresPerYear: number
  /** Mean time to rebuild one lost piece onto a new node, hours (mu = HOURS_PER_YEAR / repairHours per year). */
  repairHours: number
  /** The time span, years. */
  years: number
}

/** The model's answer for one (k, n). */
export interface DurabilityEstimate {
  /** Probability of losing the stripe within `years`. */
  lossProbability: number
  /** Mean time to data loss, years. */
  mttdlYears: number
  /** How the loss probability was computed. */
  method: 'uniformization' | 'mttdl'
}

/** Poisson terms (uniformization steps) above which the MTTDL approximation is used instead. */
const MAX_UNIFORMIZATION_STEPS = 200_000

function checkInput(input: DurabilityModelInput): void {
  const { n, k, failuresPerYear, repairHours, years } = input
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 1 || n < k) {
    throw new InvalidArgumentError(`the durability model needs whole numbers 1 <= k <= n, got k=${k}, n=${n}`)
  }
  if (!(failuresPerYear >= 0) || !Number.isFinite(failuresPerYear)) {
    throw new InvalidArgumentError(`the node failure rate must be a number >= 0 per year, got ${failuresPerYear}`)
  }
  if (!(repairHours > 0) || !Number.isFinite(repairHours)) {
    throw new InvalidArgumentError(`the repair time must be a number of hours above 0, got ${repairHours}`)
  }
  if (!(years > 0) || !Number.isFinite(years)) {
    throw new InvalidArgumentError(`the time span must be a number of years above 0, got ${years}`)
  }
}

/**
 * Mean time to data loss (years) from n alive pieces: the expected time for the chain to fall from n to k - 1,
 * summed level by level (T_i, the time to first fall from i to i - 1, is (1 + up_i x T_(i+1)) / down_i: every term is
 * positive, so there is no cancellation even for astronomically long times).
 *
 * @example
 * ```ts
 * mttdlYears({ n: 3, k: 1, failuresPerYear: 0.2, repairHours: 24, years: 1 }) // ~1.3e7 years
 * ```
 */
export function mttdlYears(input: DurabilityModelInput): number {
  checkInput(input)
  const { n, k, failuresPerYear: lambda } = input
  if (lambda === 0) return Number.POSITIVE_INFINITY
  const mu = HOURS_PER_YEAR / input.repairHours
  let total = 0
  let next = 0 // T_(i+1)
  for (let i = n; i >= k; i--) {
    const up = (n - i) * mu
    const down = i * lambda
    const t = (1 + up * next) / down
    total += t
    next = t
  }
  return total
}

/**
 * The probability that a stripe of n pieces (k needed) is lost within `years`, by uniformization: the chain's
 * transient distribution is a Poisson mixture of the powers of P = I + Q / q, every term non-negative (small
 * probabilities keep their relative precision). Cost: about q x T steps of O(n). Exported for the tests.
 *
 * @example
 * ```ts
 * lossProbabilityExact({ n: 4, k: 2, failuresPerYear: 1, repairHours: 876, years: 1 })
 * ```
 */
export function lossProbabilityExact(input: DurabilityModelInput): number {
  checkInput(input)
  const { n, k, failuresPerYear: lambda, years } = input
  if (lambda === 0) return 0
  const mu = HOURS_PER_YEAR / input.repairHours
  // States 0..n - k + 1: index j is (k - 1 + j) pieces alive; index 0 absorbs (lost).
  const size = n - k + 2
  const down = (j: number) => (j === 0 ? 0 : (k - 1 + j) * lambda)
  const up = (j: number) => (j === 0 ? 0 : (n - (k - 1 + j)) * mu)
  let q = 0
  for (let j = 1; j < size; j++) q = Math.max(q, down(j) + up(j))
  const qt = q * years
  let v = new Float64Array(size)
  v[size - 1] = 1
  // Poisson weights in log space, summed until the tail is negligible.
  const last = Math.ceil(qt + 12 * Math.sqrt(qt) + 40)
  let logWeight = -qt
  let loss = 0
  for (let m = 0; m <= last; m++) {
    loss += Math.exp(logWeight) * v[0]!
    const next = new Float64Array(size)
    next[0] = v[0]!
    for (let j = 1; j < size; j++) {
      const p = v[j]!
      if (p === 0) continue
      const d = down(j) / q
      const u = up(j) / q
      next[j - 1]! += p * d
      if (j + 1 < size) next[j + 1]! += p * u
      next[j]! += p * (1 - d - u)
    }
    v = next
    logWeight += Math.log(qt) - Math.log(m + 1)
  }
  return Math.min(1, loss)
}

/**
 * The model's loss probability for one (k, n) over `years`: exact (uniformization) when that takes at most
 * MAX_UNIFORMIZATION_STEPS steps, else 1 - exp(-T / MTTDL).
 *
 * @example
 * ```ts
 * const { lossProbability } = estimateDurability({ n: 6, k: 3, failuresPerYear: 0.2, repairHours: 24, years: 1 })
 * ```
 */
export function estimateDurability(input: DurabilityModelInput): DurabilityEstimate {
  checkInput(input)
  const mttdl = mttdlYears(input)
  const mu = HOURS_PER_YEAR / input.repairHours
  const q = input.n * Math.max(input.failuresPerYear, mu)
  if (q * input.years <= MAX_UNIFORMIZATION_STEPS) {
    return { lossProbability: lossProbabilityExact(input), mttdlYears: mttdl, method: 'uniformization' }
  }
  return { lossProbability: -Math.expm1(-input.years / mttdl), mttdlYears: mttdl, method: 'mttdl' }
}
