import { type ChainReader, createChainReader, networkChain } from '../chain/index.ts'
import {
  type DurabilityInputs,
  durabilityInputs,
  formatProbability,
  planRedundancy,
  type RedundancyPlan,
} from '../client/index.ts'
import { InvalidArgumentError, NotEnoughNodesError, NotFoundError } from '../errors.ts'
import { locateNetwork, type NetworkLocation } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import type { ParsedCommandLine } from './command-line.ts'

/** The model, in one line, as `cairn plan` prints it. */
export const MODEL_TEXT =
  'birth-death Markov chain per stripe: n pieces on n nodes, each lost at the node failure rate, each missing one rebuilt at 1 / repair time, the file lost when fewer than k remain (docs/users.md, "Choosing a durability")'

/** A decimal flag within bounds, with a message naming the flag. */
export function numberFlag(
  values: ParsedCommandLine['values'],
  name: string,
  check: (value: number) => boolean,
  expected: string,
): number | undefined {
  const raw = values[name]
  if (raw === undefined) return undefined
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN
  if (!Number.isFinite(value) || !check(value)) {
    throw new InvalidArgumentError(`--${name} must be ${expected}, got "${String(raw)}"`)
  }
  return value
}

/** The chain reader of a located network (no wallet needed), or an error naming the fix. */
export function networkReader(location: NetworkLocation): { reader: ChainReader; fromBlock: bigint } {
  const network = location.network
  if (network === undefined) {
    throw new NotFoundError(
      'this network has no chain: pass --network FILE (its network.json), or start the devnet with its chain (cairn devnet, without --no-chain)',
    )
  }
  return {
    reader: createChainReader(networkChain(network)),
    fromBlock: network.deploymentBlock,
  }
}

/** The plan for `--durability P [--years Y]`, with its inputs: what `cairn plan`, `cairn quote` and `cairn put` use. */
export async function planFromFlags(
  values: ParsedCommandLine['values'],
  context: CommandContext,
  reader?: { reader: ChainReader; fromBlock: bigint },
): Promise<{ plan: RedundancyPlan; inputs: DurabilityInputs; durability: number; years: number }> {
  const durability = numberFlag(
    values,
    'durability',
    (v) => v > 0 && v < 1,
    'a probability between 0 and 1 (e.g. 0.999999999)',
  )
  if (durability === undefined)
    throw new InvalidArgumentError('--durability P is needed (e.g. --durability 0.999999999)')
  const years = numberFlag(values, 'years', (v) => v > 0 && v <= 1_000, 'a number of years above 0 (at most 1000)') ?? 1
  const rate = numberFlag(values, 'node-failure-rate', (v) => v >= 0 && v <= 1_000, 'failures per node per year, >= 0')
  const repair = numberFlag(values, 'repair-hours', (v) => v > 0 && v <= 1e6, 'a number of hours above 0')
  const nodes = numberFlag(
    values,
    'nodes',
    (v) => Number.isInteger(v) && v >= 2 && v <= 255,
    'a whole number of nodes from 2 to 255',
  )
  let inputs: DurabilityInputs
  if (rate !== undefined && repair !== undefined && nodes !== undefined && reader === undefined) {
    // Every input given: no network needed.
    inputs = {
      failuresPerYear: { value: rate, source: 'flag', note: 'from --node-failure-rate' },
      repairHours: { value: repair, source: 'flag', note: 'from --repair-hours' },
      liveOperators: nodes,
      activeNodes: nodes,
    }
  } else {
    const chain = reader ?? networkReader(await locateNetwork(values))
    inputs = await durabilityInputs(
      chain.reader,
      {
        fromBlock: chain.fromBlock,
        ...(rate === undefined ? {} : { failuresPerYear: rate }),
        ...(repair === undefined ? {} : { repairHours: repair }),
      },
      { signal: context.signal },
    )
    if (nodes !== undefined) inputs.liveOperators = nodes
  }
  if (inputs.liveOperators < 2) {
    throw new NotEnoughNodesError(
      `${inputs.liveOperators} active node${inputs.liveOperators === 1 ? '' : 's'} of distinct operators: a redundancy needs at least 2 (start more nodes, or pass --nodes N to plan for N)`,
    )
  }
  const plan = planRedundancy({
    durability,
    years,
    failuresPerYear: inputs.failuresPerYear.value,
    repairHours: inputs.repairHours.value,
    maxN: inputs.liveOperators,
  })
  return { plan, inputs, durability, years }
}

/** The lines `cairn plan` prints (also under `cairn quote --durability`). */
export function formatPlan(result: Awaited<ReturnType<typeof planFromFlags>>): string {
  const { plan, inputs, durability, years } = result
  const span = `${years} year${years === 1 ? '' : 's'}`
  const lines = [
    `durability ${durability} over ${span}: k=${plan.k} n=${plan.n}, storage cost factor ${plan.costFactor.toFixed(2)}x, loss probability ${formatProbability(plan.lossProbability)} (mean time to loss ${plan.mttdlYears.toPrecision(3)} years)`,
    `model: ${MODEL_TEXT}; computed by ${plan.method === 'uniformization' ? 'uniformization (exact)' : '1 - exp(-T / MTTDL)'}`,
    'inputs:',
    `  node failure rate  ${inputs.failuresPerYear.value} per node per year (${inputs.failuresPerYear.source}: ${inputs.failuresPerYear.note})`,
    `  repair time        ${Number(inputs.repairHours.value.toPrecision(4))} h (${inputs.repairHours.source}: ${inputs.repairHours.note})`,
    `  nodes              ${inputs.liveOperators} of distinct operators (n <= ${inputs.liveOperators})`,
  ]
  if (!plan.met) lines.push(`warning: ${plan.note}`)
  return `${lines.join('\n')}\n`
}

/** `cairn plan --durability P [--years Y] [--node-failure-rate R] [--repair-hours H] [--nodes N] [--json]`. */
export async function runPlan(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const result = await planFromFlags(parsed.values, context)
  if (parsed.values.json === true) {
    const { plan, inputs, durability, years } = result
    context.stdout.write(`${JSON.stringify({ ...plan, target: durability, years, model: MODEL_TEXT, inputs })}\n`)
  } else {
    context.stdout.write(formatPlan(result))
  }
  return 0
}
