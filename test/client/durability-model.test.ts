/**
 * The durability model (src/client/durability-model.ts) against a seeded Monte Carlo simulation of the same process:
 * n pieces, each alive piece lost at rate lambda, each missing piece rebuilt at rate mu, the stripe lost once fewer
 * than k remain. The model's loss probability must fall within the simulation's error bars (4 standard errors of a
 * binomial proportion), for the exact method and for the MTTDL approximation where repairs are fast.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type DurabilityModelInput,
  estimateDurability,
  HOURS_PER_YEAR,
  lossProbabilityExact,
  mttdlYears,
} from '../../src/client/durability-model.ts'
import { planRedundancy } from '../../src/client/durability-plan.ts'

/** mulberry32: a small seeded generator, so a failure reproduces. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Simulates `trials` stripes event by event (Gillespie); returns the fraction lost within the time span. */
function simulateLoss(input: DurabilityModelInput, trials: number, seed: number): number {
  const random = seeded(seed)
  const mu = HOURS_PER_YEAR / input.repairHours
  let lost = 0
  for (let trial = 0; trial < trials; trial++) {
    let alive = input.n
    let t = 0
    while (true) {
      const failures = alive * input.failuresPerYear
      const repairs = (input.n - alive) * mu
      const rate = failures + repairs
      t += -Math.log(1 - random()) / rate
      if (t > input.years) break
      if (random() * rate < failures) alive--
      else alive++
      if (alive < input.k) {
        lost++
        break
      }
    }
  }
  return lost / trials
}

function assertWithinErrorBars(model: number, simulated: number, trials: number, label: string): void {
  const standardError = Math.sqrt((simulated * (1 - simulated)) / trials)
  const distance = Math.abs(model - simulated)
  assert.ok(
    distance <= 4 * standardError,
    `${label}: model ${model.toFixed(5)} vs simulation ${simulated.toFixed(5)} (+- ${(4 * standardError).toFixed(5)})`,
  )
}

describe('durability model', () => {
  const cases: Array<DurabilityModelInput & { seed: number }> = [
    { n: 4, k: 2, failuresPerYear: 1, repairHours: HOURS_PER_YEAR / 10, years: 1, seed: 1 },
    { n: 3, k: 1, failuresPerYear: 2, repairHours: HOURS_PER_YEAR / 20, years: 2, seed: 2 },
    { n: 6, k: 3, failuresPerYear: 1.5, repairHours: HOURS_PER_YEAR / 12, years: 1, seed: 3 },
  ]
  for (const c of cases) {
    it(`the exact loss probability agrees with a seeded simulation (k=${c.k}, n=${c.n})`, () => {
      const trials = 20_000
      const simulated = simulateLoss(c, trials, c.seed)
      assert.ok(simulated > 0.01 && simulated < 0.99, `the case must give a measurable loss rate, got ${simulated}`)
      assertWithinErrorBars(lossProbabilityExact(c), simulated, trials, `k=${c.k} n=${c.n}`)
    })
  }

  it('with fast repairs, 1 - exp(-T / MTTDL) agrees with the simulation and with the exact method', () => {
    const input = { n: 3, k: 2, failuresPerYear: 1, repairHours: HOURS_PER_YEAR / 50, years: 1 }
    const trials = 20_000
    const simulated = simulateLoss(input, trials, 4)
    const approximate = -Math.expm1(-input.years / mttdlYears(input))
    assertWithinErrorBars(approximate, simulated, trials, 'mttdl')
    const exact = lossProbabilityExact(input)
    assert.ok(Math.abs(approximate - exact) / exact < 0.05, `mttdl ${approximate} vs exact ${exact}`)
  })

  it('MTTDL matches the closed form of a two-piece mirror: (3 lambda + mu) / (2 lambda^2)', () => {
    const input = { n: 2, k: 1, failuresPerYear: 0.5, repairHours: 24, years: 1 }
    const mu = HOURS_PER_YEAR / 24
    const expected = (3 * 0.5 + mu) / (2 * 0.5 * 0.5)
    assert.ok(Math.abs(mttdlYears(input) - expected) / expected < 1e-12)
  })

  it('more redundancy never loses more, and tiny probabilities stay positive', () => {
    const base = { failuresPerYear: 0.2, repairHours: 24, years: 1 }
    const narrow = estimateDurability({ ...base, n: 6, k: 4 }).lossProbability
    const wide = estimateDurability({ ...base, n: 9, k: 4 }).lossProbability
    assert.ok(wide < narrow && wide > 0, `n=9 ${wide} vs n=6 ${narrow}`)
  })

  it('refuses inputs that make no sense, naming the input', () => {
    assert.throws(() => mttdlYears({ n: 2, k: 3, failuresPerYear: 1, repairHours: 1, years: 1 }), /k <= n/)
    assert.throws(() => mttdlYears({ n: 3, k: 1, failuresPerYear: -1, repairHours: 1, years: 1 }), /failure rate/)
    assert.throws(() => mttdlYears({ n: 3, k: 1, failuresPerYear: 1, repairHours: 0, years: 1 }), /repair time/)
  })
})

describe('choosing k and n for a durability', () => {
  const inputs = { failuresPerYear: 0.2, repairHours: 24, years: 1 }

  it('picks the cheapest (k, n) whose loss probability meets the target, within the nodes available', () => {
    const plan = planRedundancy({ ...inputs, durability: 0.999999999, maxN: 20 })
    assert.ok(plan.lossProbability <= 1e-9, `loss ${plan.lossProbability}`)
    assert.ok(plan.n <= 20 && plan.k < plan.n)
    assert.equal(plan.costFactor, plan.n / plan.k)
    // No cheaper redundancy within the same limit meets the target.
    for (let n = 2; n <= 20; n++) {
      for (let k = 1; k < n; k++) {
        if (n / k >= plan.costFactor) continue
        const loss = estimateDurability({ ...inputs, n, k }).lossProbability
        assert.ok(loss > 1e-9, `k=${k} n=${n} is cheaper (${n / k}) and meets the target (${loss})`)
      }
    }
  })

  it('with few nodes, falls back to replication on all of them and says when the target cannot be met', () => {
    const plan = planRedundancy({ ...inputs, failuresPerYear: 5, durability: 0.999999999999, maxN: 3 })
    assert.equal(plan.met, false)
    assert.deepEqual({ k: plan.k, n: plan.n }, { k: 1, n: 3 })
    assert.match(plan.note ?? '', /cannot reach/)
  })

  it('refuses a durability outside (0, 1)', () => {
    assert.throws(() => planRedundancy({ ...inputs, durability: 1, maxN: 10 }), /--durability/)
    assert.throws(() => planRedundancy({ ...inputs, durability: 0, maxN: 10 }), /--durability/)
  })
})
