import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import {
  AUTO_RENEW_RECORD,
  type AutoRenewEntry,
  assertOffersWithinCap,
  type ClientProgressEvent,
  createAutoRenewRecords,
  DEFAULT_DEAL_DURATION_EPOCHS,
  DEFAULT_DEAL_MAX_PRICE,
  defaultRenewWithin,
  formatProbability,
  makeStorageDeal,
  readOffers,
  registeredNodes,
  type StorageDeal,
} from '../client/index.ts'
import { InvalidArgumentError, NotEnoughNodesError } from '../errors.ts'
import { parseByteSize } from '../node/index.ts'
import { redundancyPolicy } from '../storage/index.ts'
import { openUserChain } from './chain-session.ts'
import { locateNetwork, openClientSession } from './client-session.ts'
import type { CommandContext } from './command-context.ts'
import { integerFlag, type ParsedCommandLine, redundancyFlags } from './command-line.ts'
import { networkReader, planFromFlags } from './command-plan.ts'
import { runPutTree } from './command-put-tree.ts'
import { formatQuote, quoteFromFlags } from './command-quote.ts'
import { shortPeerId } from './output.ts'
import { ProgressBar } from './progress-bar.ts'

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
  const segmentText = parsed.values['segment-size']
  const segmentSize = typeof segmentText === 'string' ? parseByteSize(segmentText) : undefined
  const duration = integerFlag(parsed.values, 'duration', 1, 2 ** 32 - 1)
  const maxPriceText = parsed.values['max-price']
  if (maxPriceText !== undefined && (typeof maxPriceText !== 'string' || !/^\d+$/.test(maxPriceText))) {
    throw new InvalidArgumentError('--max-price must be a whole number of token units per byte per epoch')
  }
  const maxPrice = maxPriceText === undefined ? undefined : BigInt(maxPriceText)
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
    assertOffersWithinCap(offers, redundancyPolicy(k, n).n, maxPrice ?? DEFAULT_DEAL_MAX_PRICE)
  }
  // On chain: only Registry-active nodes within the price, at most one slot per operator, spread by registered /24.
  const registered =
    chain === undefined
      ? undefined
      : await registeredNodes(chain.client, maxPrice === undefined ? {} : { maxPricePerByteEpoch: maxPrice }, {
          signal: context.signal,
        })
  const session = await openClientSession(location)
  // A bar on a terminal; plain progress lines when stderr is a log or a pipe (unless --json asked for quiet output).
  const bar =
    context.showProgress || parsed.values.json !== true
      ? new ProgressBar({
          label: 'put',
          stream: context.stderr,
          plain: !context.showProgress,
          ...(size === undefined ? {} : { total: size }),
        })
      : undefined
  let read = 0
  const onProgress = (event: ClientProgressEvent) => {
    if (event.type === 'put:read') bar?.update((read += event.bytes))
    else if (event.type === 'put:retry') {
      bar?.clear()
      if (event.from === event.to) {
        context.stderr.write(
          `warning: node ${shortPeerId(event.from)} failed slot ${event.slot} (${event.error}); retrying\n`,
        )
        return
      }
      context.stderr.write(
        `warning: node ${shortPeerId(event.from)} failed slot ${event.slot} (${event.error}); moved it to ${shortPeerId(event.to)}\n`,
      )
    } else if (event.type === 'put:manifest') bar?.note('storing manifest')
  }
  try {
    const result = await session.client.put(
      source,
      {
        ...(k === undefined ? {} : { k }),
        ...(n === undefined ? {} : { n }),
        ...(segmentSize === undefined ? {} : { segmentSize }),
        metadata,
        ...(registered === undefined ? {} : { eligible: registered.eligible, placement: registered.placement }),
        onProgress,
      },
      { signal: context.signal },
    )
    bar?.finish()
    let deal: StorageDeal | undefined
    if (chain !== undefined) {
      deal = await makeStorageDeal(
        chain.client,
        result,
        {
          network: session.network,
          ...(duration === undefined ? {} : { durationEpochs: duration }),
          ...(maxPrice === undefined ? {} : { maxPricePerByteEpoch: maxPrice }),
          onProgress: (event) => {
            if (event.type === 'deal:created' && parsed.values.json !== true) {
              context.stderr.write(`deal ${event.dealId} created; waiting for the ${result.n} holders to confirm\n`)
            }
          },
        },
        { signal: context.signal },
      )
    }
    let autoRenew: AutoRenewEntry | undefined
    if (parsed.values['auto-renew'] === true && deal !== undefined) {
      const extraEpochs = duration ?? DEFAULT_DEAL_DURATION_EPOCHS
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
