import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { getBalances } from '../chain/index.ts'
import {
  formatDuration,
  measureSlotSize,
  packTree,
  quoteStorage,
  type StorageQuote,
  walkTree,
} from '../client/index.ts'
import { InvalidArgumentError } from '../errors.ts'
import { parseByteSize } from '../node/index.ts'
import { type ByteSource, DEFAULT_SEGMENT_SIZE, redundancyPolicy } from '../storage/index.ts'
import { openUserChain } from './chain-session.ts'
import { locateNetwork } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import { integerFlag, type ParsedCommandLine, redundancyFlags } from './command-line.ts'
import { formatPlan, networkReader, planFromFlags } from './command-plan.ts'
import { assertFolder } from './command-put-tree.ts'
import { formatTable, shortPeerId } from './output.ts'
import { formatTokens } from './token-amount.ts'

/** `--max-price UNITS` (token units per byte per epoch), or undefined. */
export function maxPriceFlag(values: ParsedCommandLine['values']): bigint | undefined {
  const text = values['max-price']
  if (text === undefined) return undefined
  if (typeof text !== 'string' || !/^\d+$/.test(text)) {
    throw new InvalidArgumentError('--max-price must be a whole number of token units per byte per epoch')
  }
  return BigInt(text)
}

/** A quote as `cairn quote --json` and `cairn put --quote --json` print it. */
export interface QuoteOutput extends StorageQuote {
  /** The wallet's CAIRN (units) and whether it covers the total; absent without a wallet. */
  wallet?: { account: string; balance: string; enough: boolean }
  /** The plan behind k and n when `--durability` chose them. */
  plan?: { durability: number; years: number; lossProbability: number; costFactor: number; met: boolean }
}

/**
 * The quote for storing `path` (or stdin; with `values.recursive` the folder's pack) with the redundancy, duration and price cap of `values`: the slot size is
 * measured from the file's bytes (compressed as a put compresses), so the total is what the deal's escrow will be
 * on nodes with the quoted offers.
 */
export async function quoteFromFlags(
  path: string,
  values: ParsedCommandLine['values'],
  context: CommandContext,
): Promise<{ quote: QuoteOutput; planText?: string }> {
  if (values.durability !== undefined && (values.k !== undefined || values.n !== undefined)) {
    throw new InvalidArgumentError('choose either --k/--n or --durability, not both')
  }
  const segmentText = values['segment-size']
  const segmentSize = typeof segmentText === 'string' ? parseByteSize(segmentText) : DEFAULT_SEGMENT_SIZE
  const duration = integerFlag(values, 'duration', 1, 2 ** 32 - 1)
  const maxPrice = maxPriceFlag(values)
  const location = await locateNetwork(values)
  const chain = networkReader(location)
  let k: number
  let n: number
  let planText: string | undefined
  let plan: QuoteOutput['plan']
  if (values.durability !== undefined) {
    const planned = await planFromFlags(values, context, chain)
    if (!planned.plan.met) throw new InvalidArgumentError(planned.plan.note ?? 'the durability cannot be met')
    ;({ k, n } = planned.plan)
    planText = formatPlan(planned)
    plan = {
      durability: planned.durability,
      years: planned.years,
      lossProbability: planned.plan.lossProbability,
      costFactor: planned.plan.costFactor,
      met: planned.plan.met,
    }
  } else {
    const flags = redundancyFlags(values)
    ;({ k, n } = redundancyPolicy(flags.k, flags.n))
  }
  let source: ByteSource
  if (values.recursive === true) {
    // The folder's pack, as put -r streams it.
    await assertFolder(path)
    source = packTree(await walkTree(path))
  } else {
    if (path !== '-' && (await stat(path)).isDirectory()) {
      throw new InvalidArgumentError(
        `${path} is a folder: add -r to quote the folder (or give one file, or - for stdin)`,
      )
    }
    source = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1024 * 1024 })
  }
  const measured = await measureSlotSize(source, k, segmentSize, { signal: context.signal })
  const quote: QuoteOutput = await quoteStorage(
    chain.reader,
    {
      size: measured.size,
      slotSize: measured.slotSize,
      k,
      n,
      segmentSize,
      ...(duration === undefined ? {} : { durationEpochs: duration }),
      ...(maxPrice === undefined ? {} : { maxPricePerByteEpoch: maxPrice }),
    },
    { signal: context.signal },
  )
  const user = await openUserChain(location).catch(() => undefined)
  if (user !== undefined) {
    const balances = await getBalances(user.client, {}, { signal: context.signal }).catch(() => undefined)
    if (balances !== undefined) {
      quote.wallet = {
        account: balances.account,
        balance: balances.tokens.toString(),
        enough: balances.tokens >= BigInt(quote.total),
      }
    }
  }
  if (plan !== undefined) quote.plan = plan
  return planText === undefined ? { quote } : { quote, planText }
}

/** The lines of a quote for people. */
export function formatQuote(quote: QuoteOutput): string {
  const span = formatDuration(quote.durationEpochs * quote.epochSeconds)
  const lines = [
    `${quote.size} bytes, k=${quote.k} n=${quote.n}: ${quote.n} slots of ${quote.slotSize} bytes${quote.exact ? ' (measured: compressed as the put will)' : ' (at most: incompressible data)'}`,
    `duration    ${quote.durationEpochs} epochs (about ${span} at ${quote.epochSeconds} s an epoch)`,
    `per epoch   ${formatTokens(BigInt(quote.perEpoch))} (${quote.perEpoch} units: node payments and the protocol fee)`,
    `total       ${formatTokens(BigInt(quote.total))} (${quote.total} units): the escrow the deal pulls from the wallet at once`,
  ]
  if (BigInt(quote.confirmationFees) > 0n) {
    lines.splice(
      3,
      0,
      `confirm     ${formatTokens(BigInt(quote.confirmationFees))} (${quote.confirmationFees} units: one fee per slot, paid to its node when it confirms)`,
    )
  }
  if (quote.totalAtMost !== quote.total) {
    lines.push(
      `            up to ${formatTokens(BigInt(quote.totalAtMost))} if the put lands on the dearest nodes within --max-price ${quote.maxPricePerByteEpoch}`,
    )
  }
  if (quote.wallet !== undefined) {
    lines.push(
      `wallet      ${formatTokens(BigInt(quote.wallet.balance))}${quote.wallet.enough ? '' : `  NOT ENOUGH: send CAIRN to ${quote.wallet.account}`}`,
    )
  }
  lines.push(`nodes (the ${quote.n} cheapest of distinct operators within --max-price ${quote.maxPricePerByteEpoch}):`)
  const table = formatTable(
    ['  PEER', 'ACCOUNT', 'PRICE/BYTE/EPOCH', 'PER EPOCH'],
    quote.nodes.map((node) => [
      `  ${shortPeerId(node.peerId)}`,
      node.account,
      node.pricePerByteEpoch,
      formatTokens(BigInt(node.perEpoch)),
    ]),
  )
  // Offers come cheapest first.
  const low = quote.offers[0]?.pricePerByteEpoch ?? '0'
  const high = quote.offers.at(-1)?.pricePerByteEpoch ?? '0'
  const offers = `offers: ${quote.offers.length} active node${quote.offers.length === 1 ? '' : 's'}, ${quote.offers.filter((o) => o.withinMaxPrice).length} within the cap, prices ${low === high ? `all ${low}` : `${low} to ${high}`} per byte per epoch`
  return `${lines.join('\n')}\n${table}${offers}\n`
}

/** `cairn quote FILE|- [--k K --n N | --durability P] [--duration EPOCHS] [--max-price UNITS] [--json]`. */
export async function runQuote(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const { quote, planText } = await quoteFromFlags(parsed.positionals[0]!, parsed.values, context)
  if (parsed.values.json === true) context.stdout.write(`${JSON.stringify(quote)}\n`)
  else context.stdout.write(`${planText ?? ''}${formatQuote(quote)}`)
  return 0
}
