/**
 * The durability model's inputs, from the network's own history where it has one: the per-node failure rate from the
 * Registry's events (jailings and exits per node-year registered), the repair time from the Market's events (a slot
 * opened after its holder's misses, then repaired), and the live operators that bound n. Flags override each;
 * without enough history, the documented defaults are used and the answer says so.
 */
import { type ChainReader, getEpochInfo, marketAbi, readChainLogs } from '../chain/index.ts'
import type { AbortOptions } from '../net/index.ts'
import { HOURS_PER_YEAR } from './durability-model.ts'
import { DEFAULT_NODE_FAILURES_PER_YEAR, DEFAULT_REPAIR_HOURS } from './durability-plan.ts'
import { readOffers } from './quote.ts'

/** Node-years of history below which a measured failure rate is not trusted (the default is used). */
export const MIN_HISTORY_NODE_YEARS = 10

const SECONDS_PER_YEAR = HOURS_PER_YEAR * 3_600

/** One input of the model and where it came from. */
export interface ModelInput {
  value: number
  source: 'flag' | 'network' | 'default'
  /** What was measured (or why the default was used). */
  note: string
}

export interface DurabilityInputs {
  failuresPerYear: ModelInput
  repairHours: ModelInput
  /** Active nodes of distinct operators: the largest n. */
  liveOperators: number
  activeNodes: number
}

/**
 * Reads the network's history and its live nodes; `overrides` (from flags) win.
 *
 * @example
 * ```ts
 * const inputs = await durabilityInputs(reader, { fromBlock: network.deploymentBlock })
 * ```
 */
export async function durabilityInputs(
  reader: ChainReader,
  params: { fromBlock: bigint; failuresPerYear?: number; repairHours?: number },
  options: AbortOptions = {},
): Promise<DurabilityInputs> {
  const [toBlock, epoch, maxMisses] = await Promise.all([
    reader.getBlockNumber({ cacheTime: 0 }),
    getEpochInfo(reader, options),
    reader.readContract({ address: reader.contracts.market, abi: marketAbi, functionName: 'maxMisses' }),
  ])
  const [first, latest] = await Promise.all([
    reader.getBlock({ blockNumber: params.fromBlock }),
    reader.getBlock({ blockNumber: toBlock }),
  ])
  const blocks = Number(toBlock - params.fromBlock)
  const secondsPerBlock = blocks > 0 ? Number(latest.timestamp - first.timestamp) / blocks : 0
  const timeOf = (block: bigint | null) => Number((block ?? toBlock) - params.fromBlock) * secondsPerBlock
  const now = timeOf(toBlock)

  const [registry, market, offers] = await Promise.all([
    readChainLogs(
      reader,
      {
        contract: 'registry',
        eventNames: ['NodeRegistered', 'NodeJailed', 'UnbondingStarted'],
        fromBlock: params.fromBlock,
        toBlock,
      },
      options,
    ),
    readChainLogs(
      reader,
      { contract: 'market', eventNames: ['SlotOpened', 'SlotRepaired'], fromBlock: params.fromBlock, toBlock },
      options,
    ),
    readOffers(reader, {}, options),
  ])
  const liveOperators = new Set(offers.map((o) => o.operator.toLowerCase())).size

  let failuresPerYear: ModelInput
  if (params.failuresPerYear !== undefined) {
    failuresPerYear = { value: params.failuresPerYear, source: 'flag', note: 'from --node-failure-rate' }
  } else {
    const registered = registry.filter((e) => e.eventName === 'NodeRegistered')
    const nodeYears = registered.reduce((sum, e) => sum + (now - timeOf(e.blockNumber)), 0) / SECONDS_PER_YEAR
    const failures = registry.filter((e) => e.eventName === 'NodeJailed' || e.eventName === 'UnbondingStarted').length
    const measured = `${failures} jailing${failures === 1 ? '' : 's'} and exits in ${nodeYears.toPrecision(3)} node-years of Registry history`
    failuresPerYear =
      nodeYears >= MIN_HISTORY_NODE_YEARS
        ? { value: failures / nodeYears, source: 'network', note: measured }
        : {
            value: DEFAULT_NODE_FAILURES_PER_YEAR,
            source: 'default',
            note: `${measured}: too little (< ${MIN_HISTORY_NODE_YEARS} node-years), the default is used`,
          }
  }

  let repairHours: ModelInput
  if (params.repairHours !== undefined) {
    repairHours = { value: params.repairHours, source: 'flag', note: 'from --repair-hours' }
  } else {
    // Each repair: from its slot's opening (after maxMisses missed epochs, the detection) to the repair on chain.
    const opened = new Map<string, number>()
    const durations: number[] = []
    for (const e of market) {
      const key = `${e.args.dealId}/${e.args.slot}`
      if (e.eventName === 'SlotOpened') opened.set(key, timeOf(e.blockNumber))
      else if (opened.has(key)) {
        durations.push(timeOf(e.blockNumber) - opened.get(key)! + Number(maxMisses) * epoch.epochSeconds)
        opened.delete(key)
      }
    }
    if (durations.length > 0) {
      const mean = durations.reduce((a, b) => a + b, 0) / durations.length / 3_600
      repairHours = {
        value: Math.max(mean, 1 / 60),
        source: 'network',
        note: `mean of ${durations.length} slot repair${durations.length === 1 ? '' : 's'} on chain (detection of ${maxMisses} missed epochs included)`,
      }
    } else {
      repairHours = {
        value: DEFAULT_REPAIR_HOURS,
        source: 'default',
        note: 'no slot repaired on chain yet: the default is used',
      }
    }
  }
  return { failuresPerYear, repairHours, liveOperators, activeNodes: offers.length }
}
