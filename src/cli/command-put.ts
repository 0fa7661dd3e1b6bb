import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import {
  AUTO_RENEW_RECORD,
  type AutoRenewEntry,
  assertOffersWithinCap,
  createAutoRenewRecords,
  DEFAULT_DEAL_DURATION_EPOCHS,
  DEFAULT_DEAL_MAX_PRICE,
  defaultRenewWithin,
  formatProbability,
  readOffers,
} from '../client/index.ts'
import { InvalidArgumentError, NotEnoughNodesError } from '../errors.ts'
import { redundancyPolicy } from '../storage/index.ts'
import { openUserChain } from './chain-session.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import { type ParsedCommandLine, redundancyFlags } from './command-line.ts'
import { networkReader, planFromFlags } from './command-plan.ts'
import { runPutTree } from './command-put-tree.ts'
import { formatQuote, quoteFromFlags } from './command-quote.ts'
import { openPutDeal, putDealFlags, putNodes, putProgress } from './put-flow.ts'

/** `cairn put FILE --quote`: the quote of this put (what `cairn quote` prints), without storing or paying anything. */
async function runPutQuote(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  const { quote, planText } = await quoteFromFlags(parsed.positionals[0]!, parsed.values, context)
  if (parsed.values.json === true) context.stdout.write(`${JSON.stringify({ quote })}\n`)
  else
    context.stdout.write(
      `${planText ?? ''}${formatQuote(quote)}nothing stored or paid (--quote): run the same put without --quote to store\n`,
    )
  return 0
}

/**
 * `cairn put FILE|- [--k K --n N | --durability P] [--name NAME] [--duration EPOCHS] [--max-price UNITS] [--quote]
 * [--auto-renew] [--json]`: on a network with a chain, the put succeeds only once the file's deal is active (escrow
 * paid, every holder confirmed its slot). `--max-price` is per byte per epoch; a put refuses, before uploading, a cap
 * below the offers of n nodes of distinct operators.
 */
export async function runPut(parsed: ParsedCommandLine, context: CommandContext): Promise<number> {
  if (parsed.values.recursive === true) return runPutTree(parsed, context)
  if (parsed.values.quote === true) return runPutQuote(parsed, context)
  const path = parsed.positionals[0]!
  if (parsed.values.durability !== undefined && (parsed.values.k !== undefined || parsed.values.n !== undefined)) {
    throw new InvalidArgumentError('choose either --k/--n or --durability, not both')
  }
  let { k, n } = redundancyFlags(parsed.values)
  let size: number | undefined
  let source: AsyncIterable<Uint8Array>
  let metadata: { name?: string; mtime?: number } = {}
  if (path === '-') {
    source = process.stdin
  } else {
    const info = await stat(path)
    if (info.isDirectory()) throw new InvalidArgumentError(`${path} is a folder: put takes one file (or - for stdin)`)
    size = info.size
    metadata = { name: basename(path), mtime: Math.round(info.mtimeMs) }
    source = createReadStream(path, { highWaterMark: 1024 * 1024 })
  }
  if (typeof parsed.values.name === 'string') metadata.name = parsed.values.name
  const flags = putDealFlags(parsed.values)
  const location = await locateNetwork(parsed.values)
  const chain = await openUserChain(location)
  if (parsed.values['auto-renew'] === true && chain === undefined) {
    throw new InvalidArgumentError('--auto-renew needs a network with a chain: there is no deal to renew without one')
  }
  if (parsed.values.durability !== undefined) {
    // k and n from the live network: the cheapest redundancy meeting the durability (cairn plan shows the model).
    const planned = await planFromFlags(parsed.values, context, networkReader(location))
    if (!planned.plan.met) throw new NotEnoughNodesError(planned.plan.note ?? 'the durability cannot be met')
    ;({ k, n } = planned.plan)
    if (parsed.values.json !== true) {
      context.stderr.write(
        `durability ${planned.durability} over ${planned.years} year(s): k=${k} n=${n} (loss probability ${formatProbability(planned.plan.lossProbability)})\n`,
      )
    }
  }
  if (chain !== undefined) {
    // --max-price is per byte per epoch (the cap each node signs): refuse before uploading when too few nodes are
    // within it, naming the cheapest cap that works.
    const offers = await readOffers(chain.client, {}, { signal: context.signal })
    assertOffersWithinCap(offers, redundancyPolicy(k, n).n, flags.maxPrice ?? DEFAULT_DEAL_MAX_PRICE)
  }
  const registered = await putNodes(chain, flags, context)
  const session = await openClientSession(location)
  const { bar, onProgress } = putProgress(context, { json: flags.json, ...(size === undefined ? {} : { total: size }) })
  try {
    const result = await session.client.put(
      source,
      {
        ...(k === undefined ? {} : { k }),
        ...(n === undefined ? {} : { n }),
        ...(flags.segmentSize === undefined ? {} : { segmentSize: flags.segmentSize }),
        metadata,
        ...(registered === undefined ? {} : { eligible: registered.eligible, placement: registered.placement }),
        onProgress,
      },
      { signal: context.signal },
    )
    bar?.finish()
    const deal = await openPutDeal(chain, session.network, result, flags, context)
    let autoRenew: AutoRenewEntry | undefined
    if (parsed.values['auto-renew'] === true && deal !== undefined) {
      const extraEpochs = flags.duration ?? DEFAULT_DEAL_DURATION_EPOCHS
      autoRenew = {
        dealId: deal.dealId,
        manifestCid: result.manifestCid,
        extraEpochs,
        renewWithinEpochs: defaultRenewWithin(extraEpochs),
      }
      await createAutoRenewRecords(join(location.home, AUTO_RENEW_RECORD)).add(autoRenew)
      if (parsed.values.json !== true) {
        context.stderr.write(
          `deal ${deal.dealId} marked for auto-renewal: "cairn renew --due" (from a timer, docs/users.md) renews it by ${extraEpochs} epochs once ${autoRenew.renewWithinEpochs} or fewer remain\n`,
        )
      }
    }
    const { commitments: _commitments, ...shown } = result
    if (parsed.values.json === true) {
      context.stdout.write(
        `${JSON.stringify({ ...shown, ...(deal === undefined ? {} : { deal }), ...(autoRenew === undefined ? {} : { autoRenew }) })}\n`,
      )
    } else {
      context.stdout.write(`${result.capability}\n`)
    }
    return 0
  } catch (err) {
    bar?.clear()
    throw err
  } finally {
    await session.close()
  }
}
