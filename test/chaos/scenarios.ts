/** The scenarios of issue 16 built so far, in the order `npm run chaos` runs them, and the ones not built yet. */
import { massFailure } from './mass-failure.ts'
import type { Scenario } from './scenario.ts'

export const BUILT_SCENARIOS: Scenario[] = [massFailure]

/** Issue 16's scenarios without code yet (named in the summary line). */
export const NOT_BUILT: string[] = [
  '2 heal-time',
  '3 silent-corruption',
  '4 partitions',
  '5 crash-points',
  '6 floods',
  '7 plaintext-canaries',
  '8 clock-and-chain-outages',
  '9 disk-full',
  '10 churn-soak',
]
